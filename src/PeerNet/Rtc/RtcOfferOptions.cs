namespace PeerNet.Rtc;

/// <summary>W3C <c>RTCOfferOptions</c>.</summary>
public sealed record RtcOfferOptions
{
    /// <summary>Offer new ICE credentials: an ICE restart (RFC 8829 §5.2.3.1). Without effect on an initial offer.</summary>
    public bool IceRestart { get; init; }
}
