namespace PeerNet.Rtc;

/// <summary>W3C <c>RTCSdpType</c>.</summary>
public enum RtcSdpType
{
    /// <summary>An offer (JSEP, RFC 8829 §4.1.8).</summary>
    Offer,

    /// <summary>A provisional answer.</summary>
    Pranswer,

    /// <summary>A final answer.</summary>
    Answer,

    /// <summary>Cancels the current negotiation.</summary>
    Rollback,
}
