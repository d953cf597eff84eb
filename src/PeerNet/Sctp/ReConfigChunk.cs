using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// RE-CONFIG (RFC 6525 §3.1) and the two parameters data channels use: Outgoing SSN Reset Request
/// (§4.1) and Re-configuration Response (§4.4). Other requests are read only far enough to answer
/// them (their request sequence number).
/// </summary>
public static class ReConfigChunk
{
    /// <summary>Fixed part of an Outgoing SSN Reset Request parameter (header included).</summary>
    public const int OutgoingResetHeaderLength = 16;

    /// <summary>Length of a Re-configuration Response without the optional TSN fields.</summary>
    public const int ResponseLength = 12;

    /// <summary>True when the chunk holds one or two well-formed parameters (§3.1).</summary>
    public static bool TryRead(SctpChunk chunk, out ReadOnlySpan<byte> parameters)
    {
        parameters = chunk.Value;
        var e = new SctpParameterEnumerator(parameters);
        var count = 0;
        while (e.MoveNext())
        {
            count++;
        }

        return e.Error == SctpDropReason.None && count is 1 or 2;
    }

    /// <summary>Parses an Outgoing SSN Reset Request parameter.</summary>
    public static bool TryReadOutgoingResetRequest(SctpParameter parameter, out OutgoingSsnResetRequest request)
    {
        var raw = parameter.Raw;
        if (raw.Length < OutgoingResetHeaderLength || (raw.Length - OutgoingResetHeaderLength) % 2 != 0)
        {
            request = default;
            return false;
        }

        request = new OutgoingSsnResetRequest(
            BinaryPrimitives.ReadUInt32BigEndian(raw[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(raw[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(raw[12..]),
            raw[OutgoingResetHeaderLength..]);
        return true;
    }

    /// <summary>Reads the request sequence number of any request parameter (types 13–18 but 16).</summary>
    public static bool TryReadRequestSequenceNumber(SctpParameter parameter, out uint requestSequenceNumber)
    {
        requestSequenceNumber = 0;
        if (parameter.Raw.Length < 8)
        {
            return false;
        }

        requestSequenceNumber = BinaryPrimitives.ReadUInt32BigEndian(parameter.Raw[4..]);
        return true;
    }

    /// <summary>Parses a Re-configuration Response (12 bytes, or 20 with the TSN fields).</summary>
    public static bool TryReadResponse(SctpParameter parameter, out uint responseSequenceNumber, out SctpReconfigurationResult result)
    {
        var raw = parameter.Raw;
        responseSequenceNumber = 0;
        result = default;
        if (raw.Length != ResponseLength && raw.Length != ResponseLength + 8)
        {
            return false;
        }

        responseSequenceNumber = BinaryPrimitives.ReadUInt32BigEndian(raw[4..]);
        result = (SctpReconfigurationResult)BinaryPrimitives.ReadUInt32BigEndian(raw[8..]);
        return true;
    }

    /// <summary>Size of a RE-CONFIG chunk carrying one Outgoing SSN Reset Request for <paramref name="streams"/> streams.</summary>
    public static int GetOutgoingResetRequestLength(int streams) =>
        SctpChunk.Pad(SctpChunk.HeaderLength + OutgoingResetHeaderLength + (2 * streams));

    /// <summary>Writes a RE-CONFIG chunk with one Outgoing SSN Reset Request.</summary>
    public static int WriteOutgoingResetRequest(Span<byte> destination, uint requestSequenceNumber, uint responseSequenceNumber, uint lastAssignedTsn, ReadOnlySpan<ushort> streams)
    {
        var p = destination[SctpChunk.HeaderLength..];
        BinaryPrimitives.WriteUInt32BigEndian(p[4..], requestSequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(p[8..], responseSequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(p[12..], lastAssignedTsn);
        var offset = OutgoingResetHeaderLength;
        foreach (var s in streams)
        {
            BinaryPrimitives.WriteUInt16BigEndian(p[offset..], s);
            offset += 2;
        }

        SctpParameter.WriteHeader(p, (ushort)SctpParameterType.OutgoingSsnResetRequest, offset - SctpParameter.HeaderLength);
        return SctpChunk.WriteHeader(destination, SctpChunkType.ReConfig, 0, SctpChunk.HeaderLength + offset);
    }

    /// <summary>Writes a RE-CONFIG chunk with one Re-configuration Response (no TSN fields).</summary>
    public static int WriteResponse(Span<byte> destination, uint responseSequenceNumber, SctpReconfigurationResult result)
    {
        var p = destination[SctpChunk.HeaderLength..];
        BinaryPrimitives.WriteUInt32BigEndian(p[4..], responseSequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(p[8..], (uint)result);
        SctpParameter.WriteHeader(p, (ushort)SctpParameterType.ReconfigurationResponse, 8);
        return SctpChunk.WriteHeader(destination, SctpChunkType.ReConfig, 0, SctpChunk.HeaderLength + ResponseLength);
    }
}

/// <summary>An Outgoing SSN Reset Request (RFC 6525 §4.1); no streams listed means all streams.</summary>
public readonly ref struct OutgoingSsnResetRequest
{
    private readonly ReadOnlySpan<byte> _streams;

    internal OutgoingSsnResetRequest(uint request, uint response, uint lastTsn, ReadOnlySpan<byte> streams)
    {
        RequestSequenceNumber = request;
        ResponseSequenceNumber = response;
        SendersLastAssignedTsn = lastTsn;
        _streams = streams;
    }

    /// <summary>Re-configuration Request Sequence Number.</summary>
    public uint RequestSequenceNumber { get; }

    /// <summary>Re-configuration Response Sequence Number.</summary>
    public uint ResponseSequenceNumber { get; }

    /// <summary>The last TSN the sender assigned before the reset; reset once all up to it arrived.</summary>
    public uint SendersLastAssignedTsn { get; }

    /// <summary>Number of streams listed.</summary>
    public int StreamCount => _streams.Length / 2;

    /// <summary>Stream number <paramref name="index"/>.</summary>
    public ushort GetStream(int index) => BinaryPrimitives.ReadUInt16BigEndian(_streams[(index * 2)..]);
}

/// <summary>Result field of a Re-configuration Response (RFC 6525 §4.4).</summary>
public enum SctpReconfigurationResult : uint
{
    /// <summary>Success - Nothing to do.</summary>
    SuccessNothingToDo = 0,

    /// <summary>Success - Performed.</summary>
    SuccessPerformed = 1,

    /// <summary>Denied.</summary>
    Denied = 2,

    /// <summary>Error - Wrong SSN.</summary>
    ErrorWrongSsn = 3,

    /// <summary>Error - Request already in progress.</summary>
    ErrorRequestAlreadyInProgress = 4,

    /// <summary>Error - Bad Sequence Number.</summary>
    ErrorBadSequenceNumber = 5,

    /// <summary>In progress.</summary>
    InProgress = 6,
}
