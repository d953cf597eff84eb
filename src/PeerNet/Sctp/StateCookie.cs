using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerNet.Sctp;

/// <summary>
/// Our State Cookie (RFC 9260 §5.1.3): everything needed to build the association when the COOKIE
/// ECHO comes back, so an endpoint keeps no state between INIT and COOKIE ECHO. Time-stamped with
/// the caller's clock and signed with HMAC-SHA256 under a per-association secret (§5.1.5).
/// The layout is private to this implementation (only we read it).
/// </summary>
internal struct StateCookie
{
    /// <summary>Signed fields (48 bytes) plus the 32-byte MAC.</summary>
    public const int Length = SignedLength + MacLength;

    private const int SignedLength = 48;
    private const int MacLength = 32;
    private const byte Version = 1;

    public long Timestamp;
    public uint LocalTag;
    public uint PeerTag;
    public uint LocalInitialTsn;
    public uint PeerInitialTsn;
    public uint PeerReceiverWindow;
    public ushort PeerOutboundStreams;
    public ushort PeerInboundStreams;
    public uint LocalTieTag;
    public uint PeerTieTag;
    public SctpPeerFeatures PeerFeatures;

    public readonly void Write(Span<byte> destination, ReadOnlySpan<byte> secret)
    {
        destination[0] = Version;
        destination[1] = (byte)PeerFeatures;
        destination[2] = 0;
        destination[3] = 0;
        BinaryPrimitives.WriteInt64BigEndian(destination[4..], Timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], LocalTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], PeerTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..], LocalInitialTsn);
        BinaryPrimitives.WriteUInt32BigEndian(destination[24..], PeerInitialTsn);
        BinaryPrimitives.WriteUInt32BigEndian(destination[28..], PeerReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(destination[32..], PeerOutboundStreams);
        BinaryPrimitives.WriteUInt16BigEndian(destination[34..], PeerInboundStreams);
        BinaryPrimitives.WriteUInt32BigEndian(destination[36..], LocalTieTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[40..], PeerTieTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[44..], 0);
        HMACSHA256.HashData(secret, destination[..SignedLength], destination.Slice(SignedLength, MacLength));
    }

    /// <summary>False when the size, version or MAC is wrong; the age is the caller's to check.</summary>
    public static bool TryRead(ReadOnlySpan<byte> cookie, ReadOnlySpan<byte> secret, out StateCookie result)
    {
        result = default;
        if (cookie.Length != Length || cookie[0] != Version)
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[MacLength];
        HMACSHA256.HashData(secret, cookie[..SignedLength], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, cookie.Slice(SignedLength, MacLength)))
        {
            return false;
        }

        result = new StateCookie
        {
            PeerFeatures = (SctpPeerFeatures)cookie[1],
            Timestamp = BinaryPrimitives.ReadInt64BigEndian(cookie[4..]),
            LocalTag = BinaryPrimitives.ReadUInt32BigEndian(cookie[12..]),
            PeerTag = BinaryPrimitives.ReadUInt32BigEndian(cookie[16..]),
            LocalInitialTsn = BinaryPrimitives.ReadUInt32BigEndian(cookie[20..]),
            PeerInitialTsn = BinaryPrimitives.ReadUInt32BigEndian(cookie[24..]),
            PeerReceiverWindow = BinaryPrimitives.ReadUInt32BigEndian(cookie[28..]),
            PeerOutboundStreams = BinaryPrimitives.ReadUInt16BigEndian(cookie[32..]),
            PeerInboundStreams = BinaryPrimitives.ReadUInt16BigEndian(cookie[34..]),
            LocalTieTag = BinaryPrimitives.ReadUInt32BigEndian(cookie[36..]),
            PeerTieTag = BinaryPrimitives.ReadUInt32BigEndian(cookie[40..]),
        };
        return true;
    }
}

/// <summary>Extensions the peer announced in INIT / INIT ACK.</summary>
[Flags]
internal enum SctpPeerFeatures : byte
{
    None = 0,

    /// <summary>Forward-TSN-Supported or FORWARD TSN in Supported Extensions (RFC 3758 §3.1).</summary>
    ForwardTsn = 1,

    /// <summary>RE-CONFIG in Supported Extensions (RFC 6525 §5.1.1).</summary>
    ReConfig = 2,

    /// <summary>I-DATA in Supported Extensions (RFC 8260 §2.2.1).</summary>
    IData = 4,

    /// <summary>I-FORWARD-TSN in Supported Extensions (RFC 8260 §2.3.1).</summary>
    IForwardTsn = 8,
}
