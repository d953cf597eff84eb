namespace PeerNet.Sctp;

/// <summary>
/// How one message is sent: ordered or not (U bit), and partial reliability (RFC 3758 as used by
/// RFC 8831 §6.1: at most <see cref="MaxRetransmits"/> retransmissions, or dropped once
/// <see cref="MaxLifetimeMs"/> has passed since <c>Send</c>). Cache one per channel; it is immutable.
/// </summary>
public sealed record SctpSendOptions
{
    /// <summary>Reliable and ordered.</summary>
    public static SctpSendOptions Default { get; } = new();

    /// <summary>Reliable, unordered.</summary>
    public static SctpSendOptions Unordered { get; } = new() { Ordered = false };

    /// <summary>Delivered in order within the stream (default true).</summary>
    public bool Ordered { get; init; } = true;

    /// <summary>Give up after this many retransmissions (0 = send once). Null = reliable.</summary>
    public int? MaxRetransmits { get; init; }

    /// <summary>Give up once this many milliseconds have passed since Send. Null = no limit.</summary>
    public int? MaxLifetimeMs { get; init; }
}
