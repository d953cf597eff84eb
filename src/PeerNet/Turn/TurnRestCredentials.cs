using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace PeerNet.Turn;

/// <summary>A TURN username and password, e.g. for an <c>RTCIceServer</c> entry.</summary>
/// <param name="Username">The USERNAME to send.</param>
/// <param name="Password">The password (the RTCIceServer <c>credential</c>).</param>
/// <param name="Expires">When the credential stops working.</param>
public readonly record struct TurnCredential(string Username, string Password, DateTimeOffset Expires);

/// <summary>
/// Time-limited TURN credentials derived from a secret shared between the service that hands them
/// out (the hub's <c>/api/ice-servers</c>) and the TURN server — the "TURN REST API" scheme
/// (draft-uberti-behave-turn-rest) as coturn implements it with <c>use-auth-secret</c>: the username
/// is <c>expiry:user</c> with the expiry in Unix seconds, the password is
/// base64(HMAC-SHA1(secret, username)). Credentials made here work with coturn and vice versa.
/// </summary>
public static class TurnRestCredentials
{
    /// <summary>The separator between the expiry and the user name (coturn's default).</summary>
    public const char Separator = ':';

    // base64 of a 20-byte HMAC-SHA1.
    internal const int PasswordLength = 28;

    /// <summary>
    /// Makes a credential for <paramref name="user"/> valid for <paramref name="lifetime"/> from
    /// <paramref name="now"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An empty secret, a user containing ':', or a lifetime not positive.</exception>
    public static TurnCredential Create(string secret, string user, TimeSpan lifetime, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentNullException.ThrowIfNull(user);
        if (user.Contains(Separator, StringComparison.Ordinal))
        {
            throw new ArgumentException("The user name must not contain ':'.", nameof(user));
        }

        if (lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("The lifetime must be positive.", nameof(lifetime));
        }

        var expires = now + lifetime;
        var expiry = expires.ToUnixTimeSeconds();
        var username = user.Length == 0 ? expiry.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{expiry}{Separator}{user}";
        return new TurnCredential(username, ComputePassword(secret, username), DateTimeOffset.FromUnixTimeSeconds(expiry));
    }

    /// <summary>The password for a REST username: base64(HMAC-SHA1(secret, username)).</summary>
    public static string ComputePassword(string secret, string username)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentNullException.ThrowIfNull(username);
        Span<byte> password = stackalloc byte[PasswordLength];
        ComputePassword(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username), password);
        return Encoding.ASCII.GetString(password);
    }

    /// <summary>
    /// Reads the expiry (Unix seconds) and the user part of a REST username: the digits before the
    /// first ':' (or the whole name when it is all digits, as coturn accepts). False when the name
    /// does not start with a number.
    /// </summary>
    public static bool TryParseUsername(ReadOnlySpan<byte> username, out long expiry, out ReadOnlySpan<byte> user)
    {
        expiry = 0;
        user = default;
        var separator = username.IndexOf((byte)Separator);
        var digits = separator < 0 ? username : username[..separator];
        if (digits.IsEmpty || digits.Length > 18)
        {
            return false;
        }

        foreach (var c in digits)
        {
            if (c is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            expiry = (expiry * 10) + (c - '0');
        }

        user = separator < 0 ? default : username[(separator + 1)..];
        return true;
    }

    // The password as UTF-8 into destination (28 bytes). Does not allocate.
    internal static void ComputePassword(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> username, Span<byte> destination)
    {
        Span<byte> mac = stackalloc byte[20];
        HMACSHA1.HashData(secret, username, mac);
        Base64.EncodeToUtf8(mac, destination, out _, out _);
    }
}
