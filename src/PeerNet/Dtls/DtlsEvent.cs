namespace PeerNet.Dtls;

/// <summary>What a <see cref="DtlsEvent"/> reports.</summary>
public enum DtlsEventKind : byte
{
    /// <summary>The handshake completed and the peer's certificate matched: <see cref="DtlsEvent.CipherSuite"/> and <see cref="DtlsEvent.RemoteFingerprint"/> are set.</summary>
    Connected,

    /// <summary>The transport failed: <see cref="DtlsEvent.Failure"/> says why. Terminal.</summary>
    Failed,

    /// <summary>The transport closed with close_notify, from the peer (<see cref="DtlsEvent.ClosedByPeer"/>) or from <see cref="DtlsTransport.Close"/>. Terminal.</summary>
    Closed,
}

/// <summary>An event from <see cref="DtlsTransport.TryPollEvent"/>.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="CipherSuite">For <see cref="DtlsEventKind.Connected"/>: the IANA name of the negotiated suite, e.g. <c>TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256</c>.</param>
/// <param name="RemoteFingerprint">For <see cref="DtlsEventKind.Connected"/>: the SDP fingerprint the peer's certificate matched.</param>
/// <param name="Failure">For <see cref="DtlsEventKind.Failed"/>.</param>
/// <param name="ClosedByPeer">For <see cref="DtlsEventKind.Closed"/>: true when the peer sent close_notify.</param>
public readonly record struct DtlsEvent(
    DtlsEventKind Kind,
    string? CipherSuite = null,
    DtlsFingerprint? RemoteFingerprint = null,
    DtlsFailure? Failure = null,
    bool ClosedByPeer = false);
