using System.Security.Cryptography;

namespace PeerNet.Stun;

/// <summary>
/// The HMACs of MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) and MESSAGE-INTEGRITY-SHA256
/// (HMAC-SHA256, §14.6). The readers and writers apply them; this holds the sizes and the one-shot,
/// allocation-free computation.
/// </summary>
public static class MessageIntegrity
{
    /// <summary>MESSAGE-INTEGRITY value length (20).</summary>
    public const int Sha1Length = 20;

    /// <summary>Full MESSAGE-INTEGRITY-SHA256 value length (32).</summary>
    public const int Sha256Length = 32;

    /// <summary>Shortest truncation of MESSAGE-INTEGRITY-SHA256 allowed (16).</summary>
    public const int MinSha256Length = 16;

    /// <summary>HMAC-SHA1 or HMAC-SHA256 of <paramref name="data"/> into <paramref name="mac"/> (20 or 32 bytes).</summary>
    internal static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, bool sha256, Span<byte> mac)
    {
        if (sha256)
        {
            HMACSHA256.HashData(key, data, mac);
        }
        else
        {
            HMACSHA1.HashData(key, data, mac);
        }
    }
}
