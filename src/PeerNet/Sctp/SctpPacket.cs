using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// The SCTP common header (RFC 9260 §3.1): source port, destination port, verification tag and the
/// CRC32c checksum over the whole packet with the checksum field taken as zero (Appendix B). The
/// checksum is stored least significant byte first, as the reflected CRC is defined.
/// </summary>
public static class SctpPacket
{
    /// <summary>Size of the common header.</summary>
    public const int HeaderLength = 12;

    /// <summary>
    /// Reads the common header and checks the checksum. Returns false (with a reason) for a packet
    /// shorter than header + one chunk header, or a wrong checksum. Never throws.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> packet, out SctpCommonHeader header, out SctpDropReason reason)
    {
        header = default;
        if (packet.Length < HeaderLength + SctpChunk.HeaderLength)
        {
            reason = SctpDropReason.TooShort;
            return false;
        }

        if (!HasValidChecksum(packet))
        {
            reason = SctpDropReason.BadChecksum;
            return false;
        }

        header = new SctpCommonHeader(
            BinaryPrimitives.ReadUInt16BigEndian(packet),
            BinaryPrimitives.ReadUInt16BigEndian(packet[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(packet[4..]));
        reason = SctpDropReason.None;
        return true;
    }

    /// <summary>True when the stored checksum equals the CRC32c of the packet (checksum field as zero).</summary>
    public static bool HasValidChecksum(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < HeaderLength)
        {
            return false;
        }

        var crc = Crc32c.Append(0xFFFFFFFFu, packet[..8]);
        crc = Crc32c.Append(crc, [0, 0, 0, 0]);
        crc = ~Crc32c.Append(crc, packet[HeaderLength..]);
        return crc == BinaryPrimitives.ReadUInt32LittleEndian(packet[8..]);
    }

    /// <summary>Writes the common header with a zero checksum; call <see cref="Seal"/> once the chunks are in.</summary>
    public static void WriteHeader(Span<byte> destination, ushort sourcePort, ushort destinationPort, uint verificationTag)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], verificationTag);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], 0);
    }

    /// <summary>Computes and stores the checksum of a complete packet.</summary>
    public static void Seal(Span<byte> packet)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(packet[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(packet[8..], Crc32c.Compute(packet));
    }

    /// <summary>Enumerates the chunks after the common header.</summary>
    public static SctpChunkEnumerator EnumerateChunks(ReadOnlySpan<byte> packet) =>
        new(packet.Length >= HeaderLength ? packet[HeaderLength..] : default);
}

/// <summary>The fields of the SCTP common header (RFC 9260 §3.1).</summary>
public readonly record struct SctpCommonHeader(ushort SourcePort, ushort DestinationPort, uint VerificationTag);
