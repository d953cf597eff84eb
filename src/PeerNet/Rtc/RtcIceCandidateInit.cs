namespace PeerNet.Rtc;

/// <summary>
/// W3C <c>RTCIceCandidateInit</c>: one trickled candidate. An empty <see cref="Candidate"/> means
/// the end of candidates (W3C webrtc §4.4.1.1 addIceCandidate).
/// </summary>
public sealed record RtcIceCandidateInit(string Candidate, string? SdpMid = "0", int? SdpMLineIndex = 0, string? UsernameFragment = null)
{
    /// <summary>Whether this marks the end of candidates rather than carrying one.</summary>
    public bool IsEndOfCandidates => string.IsNullOrEmpty(Candidate);
}
