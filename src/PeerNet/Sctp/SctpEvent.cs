namespace PeerNet.Sctp;

/// <summary>What an <see cref="SctpEvent"/> reports.</summary>
public enum SctpEventKind
{
    /// <summary>The association is established (COOKIE ECHO accepted or COOKIE ACK received).</summary>
    Connected,

    /// <summary>A complete user message: <see cref="SctpEvent.StreamId"/>, <see cref="SctpEvent.PayloadProtocolIdentifier"/>, <see cref="SctpEvent.Payload"/>.</summary>
    MessageReceived,

    /// <summary>The peer reset these incoming streams (RFC 6525): <see cref="SctpEvent.StreamIds"/>; empty = all.</summary>
    StreamsReset,

    /// <summary>Our reset of these outgoing streams completed; their SSNs restart at 0: <see cref="SctpEvent.StreamIds"/>.</summary>
    OutgoingStreamsReset,

    /// <summary>The peer refused (or cannot do) our reset of these outgoing streams: <see cref="SctpEvent.StreamIds"/>, <see cref="SctpEvent.Reason"/>.</summary>
    OutgoingStreamsResetFailed,

    /// <summary>
    /// A stream's unsent bytes went down to <see cref="SctpEvent.BufferedAmount"/>, at or below its
    /// low threshold (default 0; <see cref="SctpAssociation.SetBufferedAmountLowThreshold"/>).
    /// </summary>
    BufferedAmountDecreased,

    /// <summary>Graceful shutdown completed.</summary>
    Closed,

    /// <summary>The association ended abruptly: ABORT either way, handshake or retransmission failure. <see cref="SctpEvent.Reason"/>.</summary>
    Aborted,
}

/// <summary>
/// An event from <see cref="SctpAssociation.TryPollEvent"/>. Which properties are set depends on
/// <see cref="Kind"/>. <see cref="Payload"/> is a fresh array owned by the receiver (one allocation
/// per message).
/// </summary>
public readonly struct SctpEvent
{
    private SctpEvent(SctpEventKind kind, ushort streamId = 0, uint ppid = 0, byte[]? payload = null, bool unordered = false, ushort[]? streamIds = null, long bufferedAmount = 0, string? reason = null)
    {
        Kind = kind;
        StreamId = streamId;
        PayloadProtocolIdentifier = ppid;
        Payload = payload;
        Unordered = unordered;
        StreamIds = streamIds;
        BufferedAmount = bufferedAmount;
        Reason = reason;
    }

    /// <summary>What happened.</summary>
    public SctpEventKind Kind { get; }

    /// <summary>The stream (MessageReceived, BufferedAmountDecreased).</summary>
    public ushort StreamId { get; }

    /// <summary>The PPID of the message (MessageReceived).</summary>
    public uint PayloadProtocolIdentifier { get; }

    /// <summary>The message bytes (MessageReceived).</summary>
    public byte[]? Payload { get; }

    /// <summary>The message was sent unordered (MessageReceived).</summary>
    public bool Unordered { get; }

    /// <summary>Streams reset (StreamsReset, OutgoingStreamsReset, OutgoingStreamsResetFailed).</summary>
    public ushort[]? StreamIds { get; }

    /// <summary>The stream's bytes not yet sent (BufferedAmountDecreased).</summary>
    public long BufferedAmount { get; }

    /// <summary>Why (Aborted, OutgoingStreamsResetFailed).</summary>
    public string? Reason { get; }

    internal static SctpEvent Connected() => new(SctpEventKind.Connected);

    internal static SctpEvent Message(ushort streamId, uint ppid, byte[] payload, bool unordered) =>
        new(SctpEventKind.MessageReceived, streamId, ppid, payload, unordered);

    internal static SctpEvent Reset(SctpEventKind kind, ushort[] streamIds, string? reason = null) =>
        new(kind, streamIds: streamIds, reason: reason);

    internal static SctpEvent BufferedAmountLow(ushort streamId, long amount) =>
        new(SctpEventKind.BufferedAmountDecreased, streamId, bufferedAmount: amount);

    internal static SctpEvent Closed() => new(SctpEventKind.Closed);

    internal static SctpEvent Aborted(string reason) => new(SctpEventKind.Aborted, reason: reason);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        SctpEventKind.MessageReceived => $"MessageReceived(stream {StreamId}, ppid {PayloadProtocolIdentifier}, {Payload?.Length} bytes)",
        SctpEventKind.BufferedAmountDecreased => $"BufferedAmountDecreased(stream {StreamId}, {BufferedAmount})",
        SctpEventKind.StreamsReset or SctpEventKind.OutgoingStreamsReset or SctpEventKind.OutgoingStreamsResetFailed =>
            $"{Kind}({string.Join(",", StreamIds ?? [])}){(Reason is null ? "" : ": " + Reason)}",
        SctpEventKind.Aborted => $"Aborted({Reason})",
        _ => Kind.ToString(),
    };
}
