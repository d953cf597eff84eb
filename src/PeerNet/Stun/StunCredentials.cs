using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace PeerNet.Stun;

/// <summary>
/// Keys for MESSAGE-INTEGRITY(-SHA256) and the USERHASH value (RFC 8489 §9.1.1, §9.2.2, §14.4,
/// §18.5.1). The string overloads prepare their inputs with <see cref="SaslPrep"/> and allocate the
/// result; the span overloads take already-prepared UTF-8 and do not allocate, for servers that
/// derive a key per request (e.g. TURN REST credentials).
/// </summary>
public static class StunCredentials
{
    /// <summary>Size of an MD5 long-term key (16).</summary>
    public const int Md5KeyLength = 16;

    /// <summary>Size of a SHA-256 long-term key (32).</summary>
    public const int Sha256KeyLength = 32;

    /// <summary>Size of a USERHASH value (32).</summary>
    public const int UserHashLength = 32;

    private const int StackLimit = 512;

    /// <summary>The key length an algorithm produces.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An unknown algorithm.</exception>
    public static int GetKeyLength(StunPasswordAlgorithm algorithm) => algorithm switch
    {
        StunPasswordAlgorithm.Md5 => Md5KeyLength,
        StunPasswordAlgorithm.Sha256 => Sha256KeyLength,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), "Unknown password algorithm."),
    };

    /// <summary>
    /// The short-term key (§9.1.1): the UTF-8 of the prepared password. ICE uses the remote
    /// ice-pwd this way.
    /// </summary>
    /// <exception cref="ArgumentException">The password contains a prohibited character.</exception>
    public static byte[] ComputeShortTermKey(string password) => Encoding.UTF8.GetBytes(SaslPrep.Prepare(password));

    /// <summary>
    /// The long-term key (§9.2.2, §18.5.1): MD5 or SHA-256 of username ":" realm ":" password, with
    /// realm and password prepared (the username is used as given: it was prepared when it was put
    /// in the USERNAME attribute).
    /// </summary>
    /// <exception cref="ArgumentException">The realm or password contains a prohibited character.</exception>
    public static byte[] ComputeLongTermKey(string username, string realm, string password, StunPasswordAlgorithm algorithm = StunPasswordAlgorithm.Md5)
    {
        ArgumentNullException.ThrowIfNull(username);
        var key = new byte[GetKeyLength(algorithm)];
        ComputeLongTermKey(Encoding.UTF8.GetBytes(username), Encoding.UTF8.GetBytes(SaslPrep.Prepare(realm)),
            Encoding.UTF8.GetBytes(SaslPrep.Prepare(password)), algorithm, key);
        return key;
    }

    /// <summary>
    /// The long-term key from UTF-8 inputs that are already prepared, into
    /// <paramref name="destination"/>; returns the key length (16 or 32). Does not allocate.
    /// </summary>
    /// <exception cref="ArgumentException">The destination is shorter than the key.</exception>
    public static int ComputeLongTermKey(ReadOnlySpan<byte> username, ReadOnlySpan<byte> realm, ReadOnlySpan<byte> password,
        StunPasswordAlgorithm algorithm, Span<byte> destination)
    {
        var keyLength = GetKeyLength(algorithm);
        if (destination.Length < keyLength)
        {
            throw new ArgumentException("Destination shorter than the key.", nameof(destination));
        }

        HashJoined(username, realm, password, hasThird: true, algorithm == StunPasswordAlgorithm.Sha256, destination[..keyLength]);
        return keyLength;
    }

    /// <summary>USERHASH (§14.4): SHA-256(username ":" realm), both prepared.</summary>
    /// <exception cref="ArgumentException">The username or realm contains a prohibited character.</exception>
    public static byte[] ComputeUserHash(string username, string realm)
    {
        var hash = new byte[UserHashLength];
        ComputeUserHash(Encoding.UTF8.GetBytes(SaslPrep.Prepare(username)), Encoding.UTF8.GetBytes(SaslPrep.Prepare(realm)), hash);
        return hash;
    }

    /// <summary>USERHASH from prepared UTF-8 inputs into <paramref name="destination"/> (32 bytes). Does not allocate.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than 32 bytes.</exception>
    public static void ComputeUserHash(ReadOnlySpan<byte> username, ReadOnlySpan<byte> realm, Span<byte> destination)
    {
        if (destination.Length < UserHashLength)
        {
            throw new ArgumentException("Destination shorter than 32 bytes.", nameof(destination));
        }

        HashJoined(username, realm, default, hasThird: false, sha256: true, destination[..UserHashLength]);
    }

    // Hashes first ":" second, or first ":" second ":" third.
    private static void HashJoined(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<byte> third, bool hasThird, bool sha256, Span<byte> destination)
    {
        var length = first.Length + 1 + second.Length + (hasThird ? 1 + third.Length : 0);
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        buffer = buffer[..length];
        first.CopyTo(buffer);
        buffer[first.Length] = (byte)':';
        second.CopyTo(buffer[(first.Length + 1)..]);
        if (hasThird)
        {
            buffer[first.Length + 1 + second.Length] = (byte)':';
            third.CopyTo(buffer[(first.Length + 2 + second.Length)..]);
        }

        if (sha256)
        {
            SHA256.HashData(buffer, destination);
        }
        else
        {
            MD5.HashData(buffer, destination);
        }

        CryptographicOperations.ZeroMemory(buffer); // it held the password
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
