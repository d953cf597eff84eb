using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// I-FORWARD-TSN (RFC 8260 §2.3.1): the new cumulative TSN, then 8-byte entries (stream, U bit, MID)
/// telling the receiver the largest message identifier skipped on each stream, ordered or unordered.
/// The FORWARD TSN of RFC 3758 for associations that use I-DATA.
/// </summary>
public readonly ref struct IForwardTsnChunk
{
    /// <summary>Chunk header plus the new cumulative TSN.</summary>
    public const int HeaderLength = 8;

    /// <summary>Size of one (stream, U, MID) entry.</summary>
    public const int EntryLength = 8;

    private const ushort UnorderedBit = 0x0001;

    private readonly ReadOnlySpan<byte> _streams;

    private IForwardTsnChunk(uint newCumulativeTsn, ReadOnlySpan<byte> streams)
    {
        NewCumulativeTsn = newCumulativeTsn;
        _streams = streams;
    }

    /// <summary>The TSN the receiver should move its cumulative TSN ack point to.</summary>
    public uint NewCumulativeTsn { get; }

    /// <summary>Number of entries.</summary>
    public int StreamCount => _streams.Length / EntryLength;

    /// <summary>Entry <paramref name="index"/>; the 15 reserved bits are ignored.</summary>
    public SctpIForwardTsnStream GetStream(int index)
    {
        var entry = _streams.Slice(index * EntryLength, EntryLength);
        return new SctpIForwardTsnStream(
            BinaryPrimitives.ReadUInt16BigEndian(entry),
            (BinaryPrimitives.ReadUInt16BigEndian(entry[2..]) & UnorderedBit) != 0,
            BinaryPrimitives.ReadUInt32BigEndian(entry[4..]));
    }

    /// <summary>Parses I-FORWARD-TSN; false unless 8 + 8n bytes.</summary>
    public static bool TryRead(SctpChunk chunk, out IForwardTsnChunk forwardTsn)
    {
        var raw = chunk.Raw;
        if (raw.Length < HeaderLength || (raw.Length - HeaderLength) % EntryLength != 0)
        {
            forwardTsn = default;
            return false;
        }

        forwardTsn = new IForwardTsnChunk(BinaryPrimitives.ReadUInt32BigEndian(raw[4..]), raw[HeaderLength..]);
        return true;
    }

    /// <summary>Size of an I-FORWARD-TSN with <paramref name="streams"/> entries.</summary>
    public static int GetLength(int streams) => HeaderLength + (EntryLength * streams);

    /// <summary>Writes I-FORWARD-TSN; returns its length.</summary>
    public static int Write(Span<byte> destination, uint newCumulativeTsn, ReadOnlySpan<SctpIForwardTsnStream> streams)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], newCumulativeTsn);
        var offset = HeaderLength;
        foreach (var s in streams)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], s.StreamId);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], s.Unordered ? UnorderedBit : (ushort)0);
            BinaryPrimitives.WriteUInt32BigEndian(destination[(offset + 4)..], s.MessageIdentifier);
            offset += EntryLength;
        }

        return SctpChunk.WriteHeader(destination, SctpChunkType.IForwardTsn, 0, offset);
    }
}

/// <summary>
/// One I-FORWARD-TSN entry: on <see cref="StreamId"/>, every ordered (or, with <see cref="Unordered"/>,
/// unordered) message up to <see cref="MessageIdentifier"/> is skipped.
/// </summary>
public readonly record struct SctpIForwardTsnStream(ushort StreamId, bool Unordered, uint MessageIdentifier);
