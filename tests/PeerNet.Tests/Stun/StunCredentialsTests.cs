using System.Security.Cryptography;
using System.Text;
using PeerNet.Stun;

namespace PeerNet.Tests.Stun;

public class StunCredentialsTests
{
    [Theory]
    [InlineData("user", "user")]
    [InlineData("USER", "USER")]
    [InlineData("I\u00ADX", "IX")] // RFC 4013 §3: soft hyphen mapped to nothing
    [InlineData("\u00AA", "a")] // RFC 4013 §3: NFKC
    [InlineData("\u2168", "IX")] // RFC 4013 §3: NFKC
    [InlineData("The\u00ADM\u00AAtr\u2168", "TheMatrIX")] // RFC 5769 §2.4
    [InlineData("pass\u00A0word", "pass word")] // non-ASCII space to U+0020
    [InlineData("a\u3000b\u2003c", "a b c")]
    [InlineData("\uFF30\uFF41\uFF53\uFF53\uFF11", "Pass1")] // fullwidth
    [InlineData("zero\u200Bwidth\uFEFF", "zerowidth")]
    [InlineData("\uFB01x\u00B2", "fix2")]
    [InlineData("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9")]
    [InlineData("", "")]
    [InlineData("caf\u00E9", "caf\u00E9")]
    [InlineData("\U0001F600", "\U0001F600")]
    public void SaslPrep_maps_and_normalizes(string input, string expected)
    {
        Assert.True(SaslPrep.TryPrepare(input, out var output));
        Assert.Equal(expected, output);
        Assert.Equal(expected, SaslPrep.Prepare(input));
    }

    [Theory]
    [InlineData("\u0007")] // RFC 4013 §3: ASCII control
    [InlineData("tab\there")]
    [InlineData("new\nline")]
    [InlineData("del\u007F")]
    [InlineData("c1\u0085")]
    [InlineData("line\u2028sep")]
    [InlineData("private\uE000")]
    [InlineData("nonchar\uFFFF")]
    [InlineData("nonchar\uFDD0")]
    [InlineData("lone\uD800")]
    [InlineData("lone\uDC00x")]
    [InlineData("replacement\uFFFD")]
    [InlineData("rtl\u202E")]
    [InlineData("ideographic\u2FF0")]
    [InlineData("tag\U000E0041")]
    [InlineData("plane15\U000F0000")]
    public void SaslPrep_rejects_prohibited_characters(string input)
    {
        Assert.False(SaslPrep.TryPrepare(input, out var output));
        Assert.Null(output);
        Assert.Throws<ArgumentException>(() => SaslPrep.Prepare(input));
    }

    [Fact]
    public void Printable_ascii_is_returned_as_is()
    {
        var password = "1700000000:alice";
        Assert.True(SaslPrep.TryPrepare(password, out var output));
        Assert.Same(password, output);
    }

    [Fact]
    public void Long_term_keys_hash_username_realm_and_password()
    {
        var md5 = StunCredentials.ComputeLongTermKey("alice", "example.org", "s3cret");
        Assert.Equal(MD5.HashData("alice:example.org:s3cret"u8), md5);
        var sha256 = StunCredentials.ComputeLongTermKey("alice", "example.org", "s3cret", StunPasswordAlgorithm.Sha256);
        Assert.Equal(SHA256.HashData("alice:example.org:s3cret"u8), sha256);

        // The span overload, for servers, gives the same without allocating.
        Span<byte> key = stackalloc byte[32];
        Assert.Equal(16, StunCredentials.ComputeLongTermKey("alice"u8, "example.org"u8, "s3cret"u8, StunPasswordAlgorithm.Md5, key));
        Assert.Equal(md5, key[..16].ToArray());
        Assert.Equal(32, StunCredentials.ComputeLongTermKey("alice"u8, "example.org"u8, "s3cret"u8, StunPasswordAlgorithm.Sha256, key));
        Assert.Equal(sha256, key.ToArray());

        // Empty parts and long parts (pooled buffer) work.
        Assert.Equal(MD5.HashData("::"u8), StunCredentials.ComputeLongTermKey("", "", ""));
        var longPassword = new string('p', 2000);
        Assert.Equal(MD5.HashData(Encoding.UTF8.GetBytes("u:r:" + longPassword)), StunCredentials.ComputeLongTermKey("u", "r", longPassword));

        Assert.Throws<ArgumentException>(() => StunCredentials.ComputeLongTermKey("u"u8, "r"u8, "p"u8, StunPasswordAlgorithm.Sha256, new byte[16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => StunCredentials.ComputeLongTermKey("u", "r", "p", (StunPasswordAlgorithm)3));
        Assert.Throws<ArgumentException>(() => StunCredentials.ComputeLongTermKey("u", "r", "bad\u0001password"));
    }

    [Fact]
    public void Short_term_key_is_the_prepared_password()
    {
        Assert.Equal("VOkJxbRl1RmTxUk/WvJxBt"u8.ToArray(), StunCredentials.ComputeShortTermKey("VOkJxbRl1RmTxUk/WvJxBt"));
        Assert.Equal("a b"u8.ToArray(), StunCredentials.ComputeShortTermKey("a\u00A0b"));
    }

    [Fact]
    public void User_hash_is_sha256_of_username_and_realm()
    {
        Assert.Equal(SHA256.HashData("bob:realm"u8), StunCredentials.ComputeUserHash("bob", "realm"));
        Span<byte> hash = stackalloc byte[32];
        StunCredentials.ComputeUserHash("bob"u8, "realm"u8, hash);
        Assert.Equal(SHA256.HashData("bob:realm"u8), hash.ToArray());

        // RFC 8489 Appendix B.1's USERHASH value.
        Assert.Equal(
            StunTestData.Hex("4a 3c f3 8f ef 69 92 bd a9 52 c6 78 04 17 da 0f 24 81 94 15 56 9e 60 b2 05 c4 6e 41 40 7f 17 04"),
            StunCredentials.ComputeUserHash(StunTestData.LongTermUsername, StunTestData.LongTermRealm));
    }

    [Fact]
    public void Fingerprint_is_crc32_xor_stun()
    {
        // The CRC-32 check value of "123456789" (ITU-T V.42 / ISO-HDLC).
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(0u, Crc32.Compute(default));
        Assert.Equal(0xCBF43926u ^ 0x5354554Eu, Fingerprint.Compute("123456789"u8));

        // Every length up to 40 against a bitwise reference (exercises the 8-byte steps and the tail).
        var data = Enumerable.Range(0, 40).Select(i => (byte)((i * 37) + 11)).ToArray();
        for (var length = 0; length <= data.Length; length++)
        {
            Assert.Equal(BitwiseCrc32(data.AsSpan(0, length)), Crc32.Compute(data.AsSpan(0, length)));
        }
    }

    private static uint BitwiseCrc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
