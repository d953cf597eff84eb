namespace PeerNet.Dtls;

/// <summary>Why a <see cref="DtlsTransport"/> failed.</summary>
public enum DtlsFailureReason : byte
{
    /// <summary>
    /// The peer's certificate did not match any fingerprint from its SDP (RFC 8842 §5, RFC 8827 §6.5),
    /// or the peer sent no certificate. We sent a bad_certificate alert.
    /// </summary>
    FingerprintMismatch,

    /// <summary>No handshake completed within <see cref="DtlsTransportOptions.HandshakeTimeout"/>.</summary>
    HandshakeTimeout,

    /// <summary>The peer sent a fatal alert; <see cref="DtlsFailure.Alert"/> says which.</summary>
    AlertReceived,

    /// <summary>The handshake or a record broke the protocol, or negotiation found nothing in common; we sent a fatal alert.</summary>
    ProtocolError,
}
