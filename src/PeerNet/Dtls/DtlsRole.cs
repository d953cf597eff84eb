namespace PeerNet.Dtls;

/// <summary>
/// Which side of the DTLS handshake this endpoint takes. In WebRTC the SDP <c>a=setup</c> attribute
/// decides it (RFC 8842 §5): <c>active</c> is the client, <c>passive</c> the server. Mirrors W3C <c>RTCDtlsRole</c>.
/// </summary>
public enum DtlsRole : byte
{
    /// <summary>Sends the ClientHello (<c>a=setup:active</c>).</summary>
    Client,

    /// <summary>Waits for the ClientHello (<c>a=setup:passive</c>).</summary>
    Server,
}
