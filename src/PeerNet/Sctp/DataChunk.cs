using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// DATA chunk (RFC 9260 §3.3.1): flags I/U/B/E, TSN, stream identifier, stream sequence number,
/// payload protocol identifier, user data.
/// </summary>
public readonly ref struct DataChunk
{
    /// <summary>Chunk header plus the fixed fields: 16 bytes before the user data.</summary>
    public const int HeaderLength = 16;

    /// <summary>E bit: last fragment of a user message.</summary>
    public const byte EndingFlag = 0x01;

    /// <summary>B bit: first fragment of a user message.</summary>
    public const byte BeginningFlag = 0x02;

    /// <summary>U bit: unordered delivery, SSN is meaningless.</summary>
    public const byte UnorderedFlag = 0x04;

    /// <summary>I bit: the receiver should SACK immediately (RFC 7053).</summary>
    public const byte ImmediateFlag = 0x08;

    private DataChunk(byte flags, uint tsn, ushort streamId, ushort ssn, uint ppid, ReadOnlySpan<byte> userData)
    {
        Flags = flags;
        Tsn = tsn;
        StreamId = streamId;
        StreamSequenceNumber = ssn;
        PayloadProtocolIdentifier = ppid;
        UserData = userData;
    }

    /// <summary>The chunk flags.</summary>
    public byte Flags { get; }

    /// <summary>Transmission sequence number.</summary>
    public uint Tsn { get; }

    /// <summary>Stream identifier.</summary>
    public ushort StreamId { get; }

    /// <summary>Stream sequence number.</summary>
    public ushort StreamSequenceNumber { get; }

    /// <summary>Payload protocol identifier (RFC 8831 §8: 50 DCEP, 51 string, 53 binary, ...).</summary>
    public uint PayloadProtocolIdentifier { get; }

    /// <summary>The user data bytes.</summary>
    public ReadOnlySpan<byte> UserData { get; }

    /// <summary>U bit.</summary>
    public bool Unordered => (Flags & UnorderedFlag) != 0;

    /// <summary>B bit.</summary>
    public bool Beginning => (Flags & BeginningFlag) != 0;

    /// <summary>E bit.</summary>
    public bool Ending => (Flags & EndingFlag) != 0;

    /// <summary>Parses a DATA chunk; false when shorter than its fixed fields.</summary>
    public static bool TryRead(SctpChunk chunk, out DataChunk data)
    {
        var raw = chunk.Raw;
        if (raw.Length < HeaderLength)
        {
            data = default;
            return false;
        }

        data = new DataChunk(
            raw[1],
            BinaryPrimitives.ReadUInt32BigEndian(raw[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(raw[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(raw[10..]),
            BinaryPrimitives.ReadUInt32BigEndian(raw[12..]),
            raw[HeaderLength..]);
        return true;
    }

    /// <summary>Writes a DATA chunk with padding; returns the padded length.</summary>
    public static int Write(Span<byte> destination, byte flags, uint tsn, ushort streamId, ushort ssn, uint ppid, ReadOnlySpan<byte> userData)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], tsn);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], streamId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], ssn);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], ppid);
        userData.CopyTo(destination[HeaderLength..]);
        return SctpChunk.WriteHeader(destination, SctpChunkType.Data, flags, HeaderLength + userData.Length);
    }
}
