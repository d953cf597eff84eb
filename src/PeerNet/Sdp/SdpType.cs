namespace PeerNet.Sdp;

/// <summary>The role of a session description in offer/answer (RFC 8829 §4.1.8; W3C RTCSdpType).</summary>
public enum SdpType
{
    Offer,
    Pranswer,
    Answer,
}

internal static class SdpTypeNames
{
    /// <summary>"the offer", "the answer": how messages refer to a description.</summary>
    public static string Describe(this SdpType type) => type switch
    {
        SdpType.Offer => "the offer",
        SdpType.Pranswer => "the provisional answer",
        _ => "the answer",
    };
}
