namespace PeerNet.Sdp;

/// <summary>The m= proto and fmt values of a data-channel m= section.</summary>
public static class SdpProtocols
{
    /// <summary>RFC 8841 §4.1: SCTP over DTLS over UDP (with ICE).</summary>
    public const string UdpDtlsSctp = "UDP/DTLS/SCTP";
    /// <summary>RFC 8841 §4.1: SCTP over DTLS over TCP (with ICE-TCP).</summary>
    public const string TcpDtlsSctp = "TCP/DTLS/SCTP";
    /// <summary>
    /// draft-ietf-mmusic-sctp-sdp-05: <c>m=application 9 DTLS/SCTP 5000</c> + <c>a=sctpmap</c>. Not
    /// in RFC 8841, but aiortc 1.4 offers it and Chromium still answers it in kind.
    /// </summary>
    public const string LegacyDtlsSctp = "DTLS/SCTP";
    /// <summary>RFC 8841 §4.1 / RFC 8832: the fmt of a WebRTC data-channel m= section.</summary>
    public const string WebRtcDataChannel = "webrtc-datachannel";
    /// <summary>The m= media of a data-channel section (RFC 8841 §4.1).</summary>
    public const string Application = "application";
}
