using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// I-DATA chunk (RFC 8260 §2.1): flags I/U/B/E like DATA, TSN, stream identifier, a 32-bit message
/// identifier (MID) instead of the SSN, and one 32-bit field that is the PPID on the first fragment
/// (B bit; its fragment sequence number is then 0) and the fragment sequence number (FSN) on every other.
/// </summary>
public readonly ref struct IDataChunk
{
    /// <summary>Chunk header plus the fixed fields: 20 bytes before the user data.</summary>
    public const int HeaderLength = 20;

    private IDataChunk(byte flags, uint tsn, ushort streamId, uint mid, uint ppidOrFsn, ReadOnlySpan<byte> userData)
    {
        Flags = flags;
        Tsn = tsn;
        StreamId = streamId;
        MessageIdentifier = mid;
        var beginning = (flags & DataChunk.BeginningFlag) != 0;
        PayloadProtocolIdentifier = beginning ? ppidOrFsn : 0;
        FragmentSequenceNumber = beginning ? 0 : ppidOrFsn;
        UserData = userData;
    }

    /// <summary>The chunk flags (the same bits as DATA: <see cref="DataChunk.EndingFlag"/> and the others).</summary>
    public byte Flags { get; }

    /// <summary>Transmission sequence number.</summary>
    public uint Tsn { get; }

    /// <summary>Stream identifier.</summary>
    public ushort StreamId { get; }

    /// <summary>Message identifier: per stream, counted separately for ordered and unordered messages (§2.1).</summary>
    public uint MessageIdentifier { get; }

    /// <summary>The PPID: only the first fragment carries it; 0 on the others.</summary>
    public uint PayloadProtocolIdentifier { get; }

    /// <summary>Fragment sequence number: 0 on the first fragment (implicitly), then 1, 2, ...</summary>
    public uint FragmentSequenceNumber { get; }

    /// <summary>The user data bytes.</summary>
    public ReadOnlySpan<byte> UserData { get; }

    /// <summary>U bit.</summary>
    public bool Unordered => (Flags & DataChunk.UnorderedFlag) != 0;

    /// <summary>B bit.</summary>
    public bool Beginning => (Flags & DataChunk.BeginningFlag) != 0;

    /// <summary>E bit.</summary>
    public bool Ending => (Flags & DataChunk.EndingFlag) != 0;

    /// <summary>Parses an I-DATA chunk; false when shorter than its fixed fields. The reserved field is ignored (§2.1).</summary>
    public static bool TryRead(SctpChunk chunk, out IDataChunk data)
    {
        var raw = chunk.Raw;
        if (raw.Length < HeaderLength)
        {
            data = default;
            return false;
        }

        data = new IDataChunk(
            raw[1],
            BinaryPrimitives.ReadUInt32BigEndian(raw[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(raw[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(raw[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(raw[16..]),
            raw[HeaderLength..]);
        return true;
    }

    /// <summary>
    /// Writes an I-DATA chunk with padding; returns the padded length. With the B bit the 32-bit field
    /// is <paramref name="ppid"/>, otherwise <paramref name="fsn"/>.
    /// </summary>
    public static int Write(Span<byte> destination, byte flags, uint tsn, ushort streamId, uint mid, uint ppid, uint fsn, ReadOnlySpan<byte> userData)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], tsn);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], streamId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], mid);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], (flags & DataChunk.BeginningFlag) != 0 ? ppid : fsn);
        userData.CopyTo(destination[HeaderLength..]);
        return SctpChunk.WriteHeader(destination, SctpChunkType.IData, flags, HeaderLength + userData.Length);
    }
}
