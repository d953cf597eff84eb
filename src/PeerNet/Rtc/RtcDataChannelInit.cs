namespace PeerNet.Rtc;

/// <summary>W3C <c>RTCDataChannelInit</c>: how reliable and ordered a new channel is.</summary>
public sealed record RtcDataChannelInit
{
    /// <summary>Deliver in the order sent (default true).</summary>
    public bool Ordered { get; init; } = true;

    /// <summary>Give up on a message after this many retransmissions (partial reliability, RFC 3758).</summary>
    public int? MaxRetransmits { get; init; }

    /// <summary>Give up on a message after this many milliseconds.</summary>
    public int? MaxPacketLifeTime { get; init; }

    /// <summary>Sub-protocol name carried to the other side.</summary>
    public string Protocol { get; init; } = "";

    /// <summary>Both sides create the channel themselves with the same <see cref="Id"/>; no DCEP handshake.</summary>
    public bool Negotiated { get; init; }

    /// <summary>The SCTP stream id; required when <see cref="Negotiated"/>.</summary>
    public ushort? Id { get; init; }
}
