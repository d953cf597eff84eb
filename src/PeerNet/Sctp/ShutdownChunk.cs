using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// SHUTDOWN (RFC 9260 §3.3.8, carries the cumulative TSN ack), and the header-only chunks SHUTDOWN
/// ACK (§3.3.9), SHUTDOWN COMPLETE (§3.3.13, T bit) and COOKIE ACK (§3.3.12).
/// </summary>
public static class ShutdownChunk
{
    /// <summary>Length of SHUTDOWN.</summary>
    public const int Length = 8;

    /// <summary>Parses SHUTDOWN; false unless exactly 8 bytes.</summary>
    public static bool TryRead(SctpChunk chunk, out uint cumulativeTsnAck)
    {
        cumulativeTsnAck = 0;
        if (chunk.Raw.Length != Length)
        {
            return false;
        }

        cumulativeTsnAck = BinaryPrimitives.ReadUInt32BigEndian(chunk.Raw[4..]);
        return true;
    }

    /// <summary>Writes SHUTDOWN.</summary>
    public static int Write(Span<byte> destination, uint cumulativeTsnAck)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], cumulativeTsnAck);
        return SctpChunk.WriteHeader(destination, SctpChunkType.Shutdown, 0, Length);
    }

    /// <summary>Writes a chunk that is only a header (SHUTDOWN ACK, SHUTDOWN COMPLETE, COOKIE ACK).</summary>
    public static int WriteEmpty(Span<byte> destination, SctpChunkType type, byte flags = 0) =>
        SctpChunk.WriteHeader(destination, type, flags, SctpChunk.HeaderLength);

    /// <summary>Header-only chunks must be exactly 4 bytes.</summary>
    public static bool IsValidEmpty(SctpChunk chunk) => chunk.Raw.Length == SctpChunk.HeaderLength;
}
