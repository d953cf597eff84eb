using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// SACK (RFC 9260 §3.3.4): cumulative TSN ack, a_rwnd, gap ack blocks (offsets from the cumulative
/// TSN ack) and duplicate TSNs.
/// </summary>
public readonly ref struct SackChunk
{
    /// <summary>Chunk header plus the fixed fields.</summary>
    public const int HeaderLength = 16;

    private readonly ReadOnlySpan<byte> _blocks;

    private SackChunk(uint cumulative, uint arwnd, ushort gaps, ushort dups, ReadOnlySpan<byte> blocks)
    {
        CumulativeTsnAck = cumulative;
        AdvertisedReceiverWindowCredit = arwnd;
        GapAckBlockCount = gaps;
        DuplicateTsnCount = dups;
        _blocks = blocks;
    }

    /// <summary>The highest TSN received in sequence.</summary>
    public uint CumulativeTsnAck { get; }

    /// <summary>a_rwnd.</summary>
    public uint AdvertisedReceiverWindowCredit { get; }

    /// <summary>Number of gap ack blocks.</summary>
    public ushort GapAckBlockCount { get; }

    /// <summary>Number of duplicate TSNs.</summary>
    public ushort DuplicateTsnCount { get; }

    /// <summary>Gap ack block <paramref name="index"/>: offsets from the cumulative TSN ack.</summary>
    public SctpGapAckBlock GetGapAckBlock(int index) => new(
        BinaryPrimitives.ReadUInt16BigEndian(_blocks[(index * 4)..]),
        BinaryPrimitives.ReadUInt16BigEndian(_blocks[((index * 4) + 2)..]));

    /// <summary>Duplicate TSN <paramref name="index"/>.</summary>
    public uint GetDuplicateTsn(int index) =>
        BinaryPrimitives.ReadUInt32BigEndian(_blocks[((GapAckBlockCount + index) * 4)..]);

    /// <summary>Parses a SACK; false unless the length is exactly the fixed fields plus the declared blocks.</summary>
    public static bool TryRead(SctpChunk chunk, out SackChunk sack)
    {
        var raw = chunk.Raw;
        if (raw.Length < HeaderLength)
        {
            sack = default;
            return false;
        }

        var gaps = BinaryPrimitives.ReadUInt16BigEndian(raw[12..]);
        var dups = BinaryPrimitives.ReadUInt16BigEndian(raw[14..]);
        if (raw.Length != HeaderLength + (4 * (gaps + dups)))
        {
            sack = default;
            return false;
        }

        sack = new SackChunk(
            BinaryPrimitives.ReadUInt32BigEndian(raw[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(raw[8..]),
            gaps,
            dups,
            raw[HeaderLength..]);
        return true;
    }

    /// <summary>The size of a SACK with the given counts.</summary>
    public static int GetLength(int gapBlocks, int duplicates) => HeaderLength + (4 * (gapBlocks + duplicates));

    /// <summary>Writes a SACK; returns its length (always a multiple of 4).</summary>
    public static int Write(Span<byte> destination, uint cumulativeTsnAck, uint advertisedReceiverWindowCredit, ReadOnlySpan<SctpGapAckBlock> gapBlocks, ReadOnlySpan<uint> duplicateTsns)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], cumulativeTsnAck);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], advertisedReceiverWindowCredit);
        BinaryPrimitives.WriteUInt16BigEndian(destination[12..], checked((ushort)gapBlocks.Length));
        BinaryPrimitives.WriteUInt16BigEndian(destination[14..], checked((ushort)duplicateTsns.Length));
        var offset = HeaderLength;
        foreach (var block in gapBlocks)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], block.Start);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], block.End);
            offset += 4;
        }

        foreach (var tsn in duplicateTsns)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[offset..], tsn);
            offset += 4;
        }

        return SctpChunk.WriteHeader(destination, SctpChunkType.Sack, 0, offset);
    }
}

/// <summary>A gap ack block: TSNs cumulative+Start .. cumulative+End were received (RFC 9260 §3.3.4).</summary>
public readonly record struct SctpGapAckBlock(ushort Start, ushort End);
