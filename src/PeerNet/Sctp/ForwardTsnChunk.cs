using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// FORWARD TSN (RFC 3758 §3.2): the new cumulative TSN, then (stream, SSN) pairs telling the receiver
/// the highest SSN skipped on each ordered stream.
/// </summary>
public readonly ref struct ForwardTsnChunk
{
    /// <summary>Chunk header plus the new cumulative TSN.</summary>
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> _streams;

    private ForwardTsnChunk(uint newCumulativeTsn, ReadOnlySpan<byte> streams)
    {
        NewCumulativeTsn = newCumulativeTsn;
        _streams = streams;
    }

    /// <summary>The TSN the receiver should move its cumulative TSN ack point to.</summary>
    public uint NewCumulativeTsn { get; }

    /// <summary>Number of (stream, SSN) entries.</summary>
    public int StreamCount => _streams.Length / 4;

    /// <summary>Entry <paramref name="index"/>.</summary>
    public SctpForwardTsnStream GetStream(int index) => new(
        BinaryPrimitives.ReadUInt16BigEndian(_streams[(index * 4)..]),
        BinaryPrimitives.ReadUInt16BigEndian(_streams[((index * 4) + 2)..]));

    /// <summary>Parses FORWARD TSN; false unless 8 + 4n bytes.</summary>
    public static bool TryRead(SctpChunk chunk, out ForwardTsnChunk forwardTsn)
    {
        var raw = chunk.Raw;
        if (raw.Length < HeaderLength || (raw.Length - HeaderLength) % 4 != 0)
        {
            forwardTsn = default;
            return false;
        }

        forwardTsn = new ForwardTsnChunk(BinaryPrimitives.ReadUInt32BigEndian(raw[4..]), raw[HeaderLength..]);
        return true;
    }

    /// <summary>Size of a FORWARD TSN with <paramref name="streams"/> entries.</summary>
    public static int GetLength(int streams) => HeaderLength + (4 * streams);

    /// <summary>Writes FORWARD TSN; returns its length.</summary>
    public static int Write(Span<byte> destination, uint newCumulativeTsn, ReadOnlySpan<SctpForwardTsnStream> streams)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], newCumulativeTsn);
        var offset = HeaderLength;
        foreach (var s in streams)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], s.StreamId);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], s.StreamSequenceNumber);
            offset += 4;
        }

        return SctpChunk.WriteHeader(destination, SctpChunkType.ForwardTsn, 0, offset);
    }
}

/// <summary>One FORWARD TSN entry: on <see cref="StreamId"/>, everything up to this SSN is skipped.</summary>
public readonly record struct SctpForwardTsnStream(ushort StreamId, ushort StreamSequenceNumber);
