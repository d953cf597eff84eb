using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// Stateless nonces (RFC 8489 §9.2): the issue time and a truncated HMAC-SHA256, under a key drawn
/// at start, of that time and the client's 5-tuple. So a nonce is unguessable, bound to the client
/// that got it, expires, and needs no table. When SHA-256 keys are offered it starts with the
/// RFC 8489 §9.2 "nonce cookie" ("obMatJos2" and the security feature bits, here "password
/// algorithms"), which makes a downgrade by stripping PASSWORD-ALGORITHMS detectable.
/// </summary>
internal sealed class TurnNonces
{
    // "obMatJos2" then base64 of the 24 feature bits with bit 0 (the first, "password algorithms") set.
    internal static ReadOnlySpan<byte> CookieWithPasswordAlgorithms => "obMatJos2gAAA"u8;

    internal static ReadOnlySpan<byte> CookiePrefix => "obMatJos2"u8;

    private const int TimeLength = 4;
    private const int MacLength = 11;
    private const int RawLength = TimeLength + MacLength; // 15 bytes: 20 base64 characters, no padding
    private const int EncodedLength = 20;

    // Nonces from a little in the future are accepted (a clock step), not more.
    private const long MaxFutureSeconds = 5;

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly long _lifetimeSeconds;
    private readonly bool _cookie;

    public TurnNonces(TimeSpan lifetime, bool offerPasswordAlgorithms)
    {
        _lifetimeSeconds = Math.Max(1, (long)lifetime.TotalSeconds);
        _cookie = offerPasswordAlgorithms;
    }

    /// <summary>The length of every nonce this issues.</summary>
    public int Length => (_cookie ? CookieWithPasswordAlgorithms.Length : 0) + EncodedLength;

    /// <summary>Whether nonces carry the "password algorithms" feature bit.</summary>
    public bool OffersPasswordAlgorithms => _cookie;

    /// <summary>Writes a fresh nonce for <paramref name="client"/>; returns its length.</summary>
    public int Write(Span<byte> destination, in TurnClientEndpoint client, long nowMs)
    {
        var written = 0;
        if (_cookie)
        {
            CookieWithPasswordAlgorithms.CopyTo(destination);
            written = CookieWithPasswordAlgorithms.Length;
        }

        Span<byte> raw = stackalloc byte[RawLength];
        BinaryPrimitives.WriteUInt32BigEndian(raw, (uint)(nowMs / 1000));
        ComputeMac(raw[..TimeLength], client, raw[TimeLength..]);
        Base64Url.EncodeToUtf8(raw, destination[written..], out _, out var encoded);
        return written + encoded;
    }

    /// <summary>Whether <paramref name="nonce"/> was issued by this server to this client and is still fresh.</summary>
    public bool IsValid(ReadOnlySpan<byte> nonce, in TurnClientEndpoint client, long nowMs)
    {
        if (_cookie)
        {
            if (!nonce.StartsWith(CookieWithPasswordAlgorithms))
            {
                return false;
            }

            nonce = nonce[CookieWithPasswordAlgorithms.Length..];
        }

        if (nonce.Length != EncodedLength)
        {
            return false;
        }

        Span<byte> raw = stackalloc byte[RawLength];
        if (Base64Url.DecodeFromUtf8(nonce, raw, out _, out var decoded) != System.Buffers.OperationStatus.Done || decoded != RawLength)
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[MacLength];
        ComputeMac(raw[..TimeLength], client, mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, raw[TimeLength..]))
        {
            return false;
        }

        long issued = BinaryPrimitives.ReadUInt32BigEndian(raw);
        var age = (nowMs / 1000) - issued;
        return age >= -MaxFutureSeconds && age < _lifetimeSeconds;
    }

    private void ComputeMac(ReadOnlySpan<byte> time, in TurnClientEndpoint client, Span<byte> mac)
    {
        // time (4) | transport (1) | connection (8) | remote address (16) | family (1) | port (2)
        Span<byte> input = stackalloc byte[32];
        input.Clear();
        time.CopyTo(input);
        input[4] = (byte)client.Transport;
        BinaryPrimitives.WriteInt64BigEndian(input[5..], client.ConnectionId);
        client.Remote.WriteAddressBytes(input[13..]);
        input[29] = (byte)client.Remote.Family;
        BinaryPrimitives.WriteUInt16BigEndian(input[30..], client.Remote.Port);
        Span<byte> full = stackalloc byte[32];
        HMACSHA256.HashData(_key, input, full);
        full[..MacLength].CopyTo(mac);
    }
}
