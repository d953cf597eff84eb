using System.Security.Cryptography;

namespace PeerNet.Ice;

/// <summary>
/// ICE username fragments and passwords (RFC 8839 §5.4): ice-ufrag is 4–256 ice-chars, ice-pwd
/// 22–256 ice-chars, generated with at least 24 and 128 bits of randomness (RFC 8445 §5.3).
/// </summary>
public static class IceCredentials
{
    /// <summary>The length of a generated ufrag (4 ice-chars carry 24 bits; 8 carry 48).</summary>
    public const int GeneratedUfragLength = 8;

    /// <summary>The length of a generated password (24 ice-chars carry 144 bits).</summary>
    public const int GeneratedPasswordLength = 24;

    private const string IceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>A fresh random ufrag.</summary>
    public static string GenerateUfrag() => RandomNumberGenerator.GetString(IceChars, GeneratedUfragLength);

    /// <summary>A fresh random password.</summary>
    public static string GeneratePassword() => RandomNumberGenerator.GetString(IceChars, GeneratedPasswordLength);

    /// <summary>Whether <paramref name="ufrag"/> is 4–256 ice-chars.</summary>
    public static bool IsValidUfrag(string? ufrag) => ufrag is { Length: >= 4 and <= 256 } && ufrag.All(IceCandidate.IsIceChar);

    /// <summary>Whether <paramref name="password"/> is 22–256 ice-chars.</summary>
    public static bool IsValidPassword(string? password) => password is { Length: >= 22 and <= 256 } && password.All(IceCandidate.IsIceChar);
}
