using System.Security.Cryptography;
using PeerNet.Dtls;

namespace PeerNet.Tests.Dtls;

public class DtlsFingerprintTests
{
    // SHA-256 of the bytes "abc" (FIPS 180-2 test vector), as a certificate stand-in.
    private const string AbcSha256 = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD";

    [Fact]
    public void Computes_and_formats_as_RFC_8122_uppercase_colon_hex()
    {
        var fingerprint = DtlsFingerprint.Compute("sha-256", "abc"u8);
        Assert.Equal("sha-256", fingerprint.Algorithm);
        Assert.Equal(AbcSha256, fingerprint.Value);
        Assert.Equal("sha-256 " + AbcSha256, fingerprint.ToString());
        Assert.Equal(32, fingerprint.Digest.Length);
        Assert.True(fingerprint.Matches("abc"u8));
        Assert.False(fingerprint.Matches("abd"u8));
    }

    [Theory]
    [InlineData("sha-256 " + AbcSha256)]
    [InlineData("SHA-256 " + AbcSha256)]
    [InlineData("sha-256 ba:78:16:bf:8f:01:cf:ea:41:41:40:de:5d:ae:22:23:b0:03:61:a3:96:17:7a:9c:b4:10:ff:61:f2:00:15:ad")]
    [InlineData("  sha-256   " + AbcSha256 + "  ")]
    [InlineData("sha-256\t" + AbcSha256)]
    public void Parses_case_insensitively_and_tolerates_surrounding_space(string text)
    {
        var fingerprint = DtlsFingerprint.Parse(text);
        Assert.Equal(DtlsFingerprint.Compute(DtlsFingerprint.Sha256, "abc"u8), fingerprint);
        Assert.Equal("sha-256 " + AbcSha256, fingerprint.ToString());
        Assert.True(DtlsFingerprint.TryParse(text, out var parsed));
        Assert.Equal(fingerprint, parsed);
    }

    [Theory]
    [InlineData("sha-1", 20)]
    [InlineData("sha-256", 32)]
    [InlineData("sha-384", 48)]
    [InlineData("sha-512", 64)]
    public void Every_supported_hash_round_trips(string algorithm, int length)
    {
        byte[] certificate = RandomNumberGenerator.GetBytes(300);
        var computed = DtlsFingerprint.Compute(algorithm, certificate);
        Assert.Equal(length, computed.Digest.Length);
        var parsed = DtlsFingerprint.Parse(computed.ToString());
        Assert.Equal(computed, parsed);
        Assert.Equal(computed.GetHashCode(), parsed.GetHashCode());
        Assert.True(parsed.Matches(certificate));
        Assert.Equal(computed, DtlsFingerprint.Parse(algorithm, computed.Value));
        Assert.Equal(length * 3 - 1, computed.Value.Length);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("sha-256", "expected '<hash-function> <hex>")]
    [InlineData("sha-256 ", "expected '<hash-function> <hex>")]
    [InlineData("md5 AB:CD", "unsupported hash function 'md5'")]
    [InlineData("sha-224 AB:CD", "unsupported hash function 'sha-224'")]
    [InlineData("sha-256 AB:CD", "a sha-256 fingerprint has 32 bytes, this one has 2")]
    [InlineData("sha-1 " + AbcSha256, "a sha-1 fingerprint has 20 bytes, this one has 32")]
    [InlineData("sha-256 " + AbcSha256 + ":00", "has 32 bytes, this one has 33")]
    [InlineData("sha-256 ZZ:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD", "byte 1 ('ZZ') is not two hex digits")]
    [InlineData("sha-256 BA-78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD", "byte 2 is not preceded by ':'")]
    [InlineData("sha-256 BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "two-digit hex bytes separated by ':'")]
    [InlineData("sha-256 BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:A", "two-digit hex bytes")]
    [InlineData("sha-256 +A:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD", "not two hex digits")]
    public void Bad_input_is_a_FormatException_that_says_why(string text, string reason)
    {
        var e = Assert.Throws<FormatException>(() => DtlsFingerprint.Parse(text));
        Assert.Contains(reason, e.Message);
        Assert.False(DtlsFingerprint.TryParse(text, out _));
    }

    [Fact]
    public void Null_and_garbage_are_rejected()
    {
        Assert.False(DtlsFingerprint.TryParse(null, out _));
        Assert.Throws<ArgumentNullException>(() => DtlsFingerprint.Parse(null!));
        Assert.Throws<ArgumentException>(() => new DtlsFingerprint("sha-256", new byte[31]));
        Assert.Throws<ArgumentException>(() => new DtlsFingerprint("md5", new byte[16]));
        Assert.Throws<ArgumentException>(() => DtlsFingerprint.Compute("md5", "abc"u8));
        Assert.Throws<FormatException>(() => DtlsFingerprint.Parse("sha-256", "AB"));

        var random = new Random(99);
        const string alphabet = "sha-0123456789ABCDEFabcdef: \t\u00e9x";
        for (int i = 0; i < 5000; i++)
        {
            var chars = new char[random.Next(0, 120)];
            for (int j = 0; j < chars.Length; j++)
                chars[j] = alphabet[random.Next(alphabet.Length)];
            string text = new(chars);
            // Never anything but true/false; a success must round-trip.
            if (DtlsFingerprint.TryParse(text, out var parsed))
                Assert.Equal(parsed, DtlsFingerprint.Parse(parsed.ToString()));
        }
    }

    [Fact]
    public void Equality_needs_the_same_algorithm_and_digest()
    {
        var a = DtlsFingerprint.Compute("sha-256", "abc"u8);
        Assert.Equal(a, DtlsFingerprint.Parse(a.ToString()));
        Assert.NotEqual(a, DtlsFingerprint.Compute("sha-256", "abd"u8));
        Assert.NotEqual(a, DtlsFingerprint.Compute("sha-512", "abc"u8));
        Assert.False(a.Equals(null));
    }
}
