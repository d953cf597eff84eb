namespace PeerNet.Rtc;

/// <summary>W3C <c>RTCSessionDescriptionInit</c>: what a peer sends to the other as an offer or answer.</summary>
public sealed record RtcSessionDescriptionInit(RtcSdpType Type, string Sdp)
{
    /// <summary>The type in its W3C spelling ("offer", "answer", ...), as signaling carries it.</summary>
    public string TypeName => TypeToString(Type);

    /// <summary>"offer" → <see cref="RtcSdpType.Offer"/>, and so on; anything else is a <see cref="FormatException"/>.</summary>
    public static RtcSdpType ParseType(string type) => type switch
    {
        "offer" => RtcSdpType.Offer,
        "answer" => RtcSdpType.Answer,
        "pranswer" => RtcSdpType.Pranswer,
        "rollback" => RtcSdpType.Rollback,
        _ => throw new FormatException($"'{type}' is not an RTCSdpType (offer, answer, pranswer, rollback)"),
    };

    /// <summary>The W3C spelling of <paramref name="type"/>.</summary>
    public static string TypeToString(RtcSdpType type) => type switch
    {
        RtcSdpType.Offer => "offer",
        RtcSdpType.Answer => "answer",
        RtcSdpType.Pranswer => "pranswer",
        _ => "rollback",
    };
}
