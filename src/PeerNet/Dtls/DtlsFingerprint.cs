using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace PeerNet.Dtls;

/// <summary>
/// A certificate fingerprint as SDP carries it in <c>a=fingerprint</c> (RFC 8122 §5): the name of a
/// hash function and the digest of the DER-encoded certificate. WebRTC authenticates each peer's
/// self-signed DTLS certificate only by this value (RFC 8827 §6.5). Mirrors W3C <c>RTCDtlsFingerprint</c>.
/// </summary>
public sealed class DtlsFingerprint : IEquatable<DtlsFingerprint>
{
    /// <summary>SHA-1 (legacy; parsed, never generated).</summary>
    public const string Sha1 = "sha-1";

    /// <summary>SHA-256, the hash every WebRTC endpoint must support (RFC 8827 §6.5).</summary>
    public const string Sha256 = "sha-256";

    /// <summary>SHA-384.</summary>
    public const string Sha384 = "sha-384";

    /// <summary>SHA-512.</summary>
    public const string Sha512 = "sha-512";

    private readonly byte[] _digest;

    /// <summary>Creates a fingerprint from a hash function name and its digest.</summary>
    /// <exception cref="ArgumentException">The algorithm is not supported or the digest has the wrong length for it.</exception>
    public DtlsFingerprint(string algorithm, ReadOnlySpan<byte> digest)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        string? normalized = NormalizeAlgorithm(algorithm);
        if (normalized is null)
            throw new ArgumentException(UnsupportedAlgorithm(algorithm), nameof(algorithm));
        int expected = DigestLength(normalized);
        if (digest.Length != expected)
            throw new ArgumentException(WrongLength(normalized, digest.Length), nameof(digest));
        Algorithm = normalized;
        _digest = digest.ToArray();
    }

    /// <summary>The hash function, lower case as RFC 8122 §5 names it (<c>sha-256</c>, ...).</summary>
    public string Algorithm { get; }

    /// <summary>The digest bytes.</summary>
    public ReadOnlySpan<byte> Digest => _digest;

    /// <summary>The digest as upper-case hex pairs joined by colons (RFC 8122 §5), e.g. <c>AB:CD:...</c>.</summary>
    public string Value => FormatHex(_digest);

    /// <summary>The SDP attribute value: <c>sha-256 AB:CD:...</c>.</summary>
    public override string ToString() => Algorithm + " " + Value;

    /// <summary>Computes the fingerprint of a DER-encoded certificate with the given hash function.</summary>
    /// <exception cref="ArgumentException">The algorithm is not supported.</exception>
    public static DtlsFingerprint Compute(string algorithm, ReadOnlySpan<byte> certificateDer)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        string normalized = NormalizeAlgorithm(algorithm)
            ?? throw new ArgumentException(UnsupportedAlgorithm(algorithm), nameof(algorithm));
        Span<byte> digest = stackalloc byte[64];
        int length = Hash(normalized, certificateDer, digest);
        return new DtlsFingerprint(normalized, digest[..length]);
    }

    /// <summary>
    /// Whether this is the fingerprint of <paramref name="certificateDer"/>. The digest comparison
    /// takes the same time whatever the bytes, so a mismatch reveals nothing about where it differs.
    /// </summary>
    public bool Matches(ReadOnlySpan<byte> certificateDer)
    {
        Span<byte> digest = stackalloc byte[64];
        int length = Hash(Algorithm, certificateDer, digest);
        return CryptographicOperations.FixedTimeEquals(digest[..length], _digest);
    }

    /// <summary>Parses an <c>a=fingerprint</c> value (RFC 8122 §5): <c>hash-func SP hex-pairs</c>.</summary>
    /// <exception cref="FormatException">The text is not a fingerprint; the message says why.</exception>
    public static DtlsFingerprint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var fingerprint, out string? error)
            ? fingerprint
            : throw new FormatException($"Invalid DTLS fingerprint '{Truncate(text)}': {error}");
    }

    /// <summary>Parses the W3C dictionary form: the algorithm and the colon-separated hex value apart.</summary>
    /// <exception cref="FormatException">The value is not hex pairs of the right length for the algorithm.</exception>
    public static DtlsFingerprint Parse(string algorithm, string value)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(value);
        return TryParse(algorithm.AsSpan(), value.AsSpan(), out var fingerprint, out string? error)
            ? fingerprint
            : throw new FormatException($"Invalid DTLS fingerprint '{Truncate(algorithm + " " + value)}': {error}");
    }

    /// <summary>Parses an <c>a=fingerprint</c> value; false when it is not a supported fingerprint.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out DtlsFingerprint? fingerprint)
    {
        if (text is null)
        {
            fingerprint = null;
            return false;
        }
        return TryParse(text, out fingerprint, out _);
    }

    private static bool TryParse(string text, [NotNullWhen(true)] out DtlsFingerprint? fingerprint, [NotNullWhen(false)] out string? error)
    {
        fingerprint = null;
        ReadOnlySpan<char> s = text.AsSpan().Trim();
        if (s.IsEmpty)
        {
            error = "it is empty";
            return false;
        }
        int space = s.IndexOfAny(' ', '\t');
        if (space < 0)
        {
            error = "expected '<hash-function> <hex>:<hex>:...', e.g. 'sha-256 AB:CD:...'";
            return false;
        }
        return TryParse(s[..space], s[(space + 1)..].TrimStart(), out fingerprint, out error);
    }

    private static bool TryParse(ReadOnlySpan<char> algorithm, ReadOnlySpan<char> value, [NotNullWhen(true)] out DtlsFingerprint? fingerprint, [NotNullWhen(false)] out string? error)
    {
        fingerprint = null;
        string? normalized = NormalizeAlgorithm(algorithm);
        if (normalized is null)
        {
            error = UnsupportedAlgorithm(algorithm.ToString());
            return false;
        }
        value = value.Trim();
        if (value.IsEmpty)
        {
            error = "the hex value is missing";
            return false;
        }
        // 2UHEX *(":" 2UHEX): n pairs take 3n - 1 characters.
        if ((value.Length + 1) % 3 != 0)
        {
            error = "the value must be two-digit hex bytes separated by ':'";
            return false;
        }
        int count = (value.Length + 1) / 3;
        int expected = DigestLength(normalized);
        if (count != expected)
        {
            error = WrongLength(normalized, count);
            return false;
        }
        Span<byte> digest = stackalloc byte[64];
        for (int i = 0; i < count; i++)
        {
            int at = i * 3;
            if (i > 0 && value[at - 1] != ':')
            {
                error = $"byte {i + 1} is not preceded by ':'";
                return false;
            }
            int high = HexValue(value[at]), low = HexValue(value[at + 1]);
            if (high < 0 || low < 0)
            {
                error = $"byte {i + 1} ('{value.Slice(at, 2)}') is not two hex digits";
                return false;
            }
            digest[i] = (byte)(high << 4 | low);
        }
        fingerprint = new DtlsFingerprint(normalized, digest[..count]);
        error = null;
        return true;
    }

    /// <summary>The digest length in bytes for a supported algorithm name (lower case).</summary>
    internal static int DigestLength(string algorithm) => algorithm switch
    {
        Sha1 => 20,
        Sha256 => 32,
        Sha384 => 48,
        Sha512 => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "unsupported hash function"),
    };

    // RFC 8122 §5 hash-func tokens compare case-insensitively; "SHA-256" appears in the wild.
    private static string? NormalizeAlgorithm(ReadOnlySpan<char> algorithm)
    {
        if (algorithm.Equals(Sha256, StringComparison.OrdinalIgnoreCase)) return Sha256;
        if (algorithm.Equals(Sha1, StringComparison.OrdinalIgnoreCase)) return Sha1;
        if (algorithm.Equals(Sha384, StringComparison.OrdinalIgnoreCase)) return Sha384;
        if (algorithm.Equals(Sha512, StringComparison.OrdinalIgnoreCase)) return Sha512;
        return null;
    }

    private static int Hash(string algorithm, ReadOnlySpan<byte> data, Span<byte> digest) => algorithm switch
    {
        Sha256 => SHA256.HashData(data, digest),
        Sha1 => SHA1.HashData(data, digest),
        Sha384 => SHA384.HashData(data, digest),
        Sha512 => SHA512.HashData(data, digest),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "unsupported hash function"),
    };

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'F' => c - 'A' + 10,
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };

    private static string FormatHex(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            return string.Empty;
        return string.Create(bytes.Length * 3 - 1, bytes.ToArray(), static (chars, digest) =>
        {
            const string Hex = "0123456789ABCDEF";
            for (int i = 0; i < digest.Length; i++)
            {
                int at = i * 3;
                if (i > 0)
                    chars[at - 1] = ':';
                chars[at] = Hex[digest[i] >> 4];
                chars[at + 1] = Hex[digest[i] & 0xF];
            }
        });
    }

    private static string UnsupportedAlgorithm(string algorithm) =>
        $"unsupported hash function '{Truncate(algorithm)}' (supported: {Sha256}, {Sha1}, {Sha384}, {Sha512})";

    private static string WrongLength(string algorithm, int actual) =>
        $"a {algorithm} fingerprint has {DigestLength(algorithm)} bytes, this one has {actual}";

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "...";

    /// <summary>Same algorithm and same digest (compared in constant time).</summary>
    public bool Equals(DtlsFingerprint? other) =>
        other is not null && Algorithm == other.Algorithm && CryptographicOperations.FixedTimeEquals(_digest, other._digest);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as DtlsFingerprint);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Algorithm, BitConverter.ToInt32(_digest, 0));
}
