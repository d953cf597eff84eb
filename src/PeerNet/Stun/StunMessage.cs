using System.Buffers.Binary;

namespace PeerNet.Stun;

/// <summary>
/// Constants of the STUN message header (RFC 8489 §5) and a cheap pre-check for demultiplexing.
/// Read messages with <see cref="StunMessageReader"/>, write them with <see cref="StunMessageWriter"/>.
/// </summary>
public static class StunMessage
{
    /// <summary>The fixed magic cookie that tells RFC 5389+ STUN from RFC 3489 and from other protocols.</summary>
    public const uint MagicCookie = 0x2112A442;

    /// <summary>Header size: type (2), length (2), cookie (4), transaction id (12).</summary>
    public const int HeaderLength = 20;

    /// <summary>Size of an attribute's type and length fields.</summary>
    public const int AttributeHeaderLength = 4;

    /// <summary>The largest message the 16-bit length field allows.</summary>
    public const int MaxLength = HeaderLength + 0xFFFC;

    /// <summary>
    /// A cheap test, without parsing attributes, of whether <paramref name="packet"/> looks like a
    /// STUN message: top two bits zero, the magic cookie, and a length that is a multiple of 4 and
    /// matches the packet size (RFC 8489 §7 lists these as the demultiplexing checks).
    /// </summary>
    public static bool IsStun(ReadOnlySpan<byte> packet) =>
        packet.Length >= HeaderLength
        && (packet[0] & 0xC0) == 0
        && BinaryPrimitives.ReadUInt32BigEndian(packet[4..]) == MagicCookie
        && BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) is var length
        && (length & 3) == 0
        && length + HeaderLength == packet.Length;

    /// <summary>Rounds an attribute value length up to the 4-byte boundary attributes end on (RFC 8489 §14).</summary>
    public static int Pad(int length) => (length + 3) & ~3;
}
