namespace PeerNet.Dtls;

/// <summary>The state of a <see cref="DtlsTransport"/>, named as W3C <c>RTCDtlsTransportState</c>.</summary>
public enum DtlsTransportState : byte
{
    /// <summary>Created; <see cref="DtlsTransport.Start"/> not called yet.</summary>
    New,

    /// <summary>The handshake is running.</summary>
    Connecting,

    /// <summary>The handshake finished and the peer's certificate matched its fingerprint; application data flows.</summary>
    Connected,

    /// <summary>Closed by a close_notify alert, sent or received (RFC 5246 §7.2.1). Terminal.</summary>
    Closed,

    /// <summary>The handshake or the association failed; <see cref="DtlsTransport.Failure"/> says why. Terminal.</summary>
    Failed,
}
