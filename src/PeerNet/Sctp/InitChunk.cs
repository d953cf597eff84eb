using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// INIT (RFC 9260 §3.3.2) and INIT ACK (§3.3.3), which share a layout: initiate tag, advertised
/// receiver window credit, number of outbound streams, number of inbound streams, initial TSN,
/// then optional/variable parameters.
/// </summary>
public readonly ref struct InitChunk
{
    /// <summary>Chunk header plus the fixed fields.</summary>
    public const int HeaderLength = 20;

    private InitChunk(bool isAck, uint tag, uint arwnd, ushort outbound, ushort inbound, uint tsn, ReadOnlySpan<byte> parameters)
    {
        IsAck = isAck;
        InitiateTag = tag;
        AdvertisedReceiverWindowCredit = arwnd;
        OutboundStreams = outbound;
        InboundStreams = inbound;
        InitialTsn = tsn;
        Parameters = parameters;
    }

    /// <summary>True for INIT ACK.</summary>
    public bool IsAck { get; }

    /// <summary>The tag the sender expects in every packet sent to it.</summary>
    public uint InitiateTag { get; }

    /// <summary>a_rwnd: the sender's receive buffer in bytes.</summary>
    public uint AdvertisedReceiverWindowCredit { get; }

    /// <summary>Number of Outbound Streams (OS).</summary>
    public ushort OutboundStreams { get; }

    /// <summary>Number of Inbound Streams (MIS).</summary>
    public ushort InboundStreams { get; }

    /// <summary>The first TSN the sender will use.</summary>
    public uint InitialTsn { get; }

    /// <summary>The parameter bytes (walk with <see cref="SctpParameterEnumerator"/>).</summary>
    public ReadOnlySpan<byte> Parameters { get; }

    /// <summary>
    /// Parses INIT or INIT ACK. False when shorter than the fixed fields or when a parameter's
    /// length lies. Semantic checks (zero tag, zero streams) are the association's.
    /// </summary>
    public static bool TryRead(SctpChunk chunk, out InitChunk init)
    {
        var raw = chunk.Raw;
        if (raw.Length < HeaderLength || !SctpParameterEnumerator.Validate(raw[HeaderLength..]))
        {
            init = default;
            return false;
        }

        init = new InitChunk(
            chunk.Type == SctpChunkType.InitAck,
            BinaryPrimitives.ReadUInt32BigEndian(raw[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(raw[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(raw[12..]),
            BinaryPrimitives.ReadUInt16BigEndian(raw[14..]),
            BinaryPrimitives.ReadUInt32BigEndian(raw[16..]),
            raw[HeaderLength..]);
        return true;
    }

    /// <summary>
    /// Writes the chunk header and fixed fields; the parameters must already be at
    /// <c>destination[HeaderLength..]</c> (built with <see cref="SctpParameterBuilder"/>).
    /// Returns the padded chunk length.
    /// </summary>
    public static int Write(
        Span<byte> destination,
        bool isAck,
        uint initiateTag,
        uint advertisedReceiverWindowCredit,
        ushort outboundStreams,
        ushort inboundStreams,
        uint initialTsn,
        int parametersUnpaddedLength)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], initiateTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], advertisedReceiverWindowCredit);
        BinaryPrimitives.WriteUInt16BigEndian(destination[12..], outboundStreams);
        BinaryPrimitives.WriteUInt16BigEndian(destination[14..], inboundStreams);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], initialTsn);
        return SctpChunk.WriteHeader(destination, isAck ? SctpChunkType.InitAck : SctpChunkType.Init, 0, HeaderLength + parametersUnpaddedLength);
    }
}
