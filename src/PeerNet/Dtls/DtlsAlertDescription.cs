namespace PeerNet.Dtls;

/// <summary>TLS alert descriptions (RFC 5246 §7.2, RFC 8446 §6), as DTLS 1.2 carries them.</summary>
public enum DtlsAlertDescription : byte
{
    /// <summary>close_notify: the sender closes the connection (RFC 5246 §7.2.1).</summary>
    CloseNotify = 0,
    /// <summary>unexpected_message.</summary>
    UnexpectedMessage = 10,
    /// <summary>bad_record_mac.</summary>
    BadRecordMac = 20,
    /// <summary>decryption_failed (reserved).</summary>
    DecryptionFailed = 21,
    /// <summary>record_overflow.</summary>
    RecordOverflow = 22,
    /// <summary>decompression_failure (reserved).</summary>
    DecompressionFailure = 30,
    /// <summary>handshake_failure: no acceptable set of parameters.</summary>
    HandshakeFailure = 40,
    /// <summary>no_certificate (reserved, SSLv3).</summary>
    NoCertificate = 41,
    /// <summary>bad_certificate: in WebRTC, the certificate did not match the SDP fingerprint.</summary>
    BadCertificate = 42,
    /// <summary>unsupported_certificate.</summary>
    UnsupportedCertificate = 43,
    /// <summary>certificate_revoked.</summary>
    CertificateRevoked = 44,
    /// <summary>certificate_expired.</summary>
    CertificateExpired = 45,
    /// <summary>certificate_unknown.</summary>
    CertificateUnknown = 46,
    /// <summary>illegal_parameter.</summary>
    IllegalParameter = 47,
    /// <summary>unknown_ca.</summary>
    UnknownCa = 48,
    /// <summary>access_denied.</summary>
    AccessDenied = 49,
    /// <summary>decode_error.</summary>
    DecodeError = 50,
    /// <summary>decrypt_error: e.g. a signature or Finished did not verify.</summary>
    DecryptError = 51,
    /// <summary>export_restriction (reserved).</summary>
    ExportRestriction = 60,
    /// <summary>protocol_version: no common version (we speak DTLS 1.2 only).</summary>
    ProtocolVersion = 70,
    /// <summary>insufficient_security.</summary>
    InsufficientSecurity = 71,
    /// <summary>internal_error.</summary>
    InternalError = 80,
    /// <summary>inappropriate_fallback (RFC 7507).</summary>
    InappropriateFallback = 86,
    /// <summary>user_canceled.</summary>
    UserCanceled = 90,
    /// <summary>no_renegotiation.</summary>
    NoRenegotiation = 100,
    /// <summary>missing_extension.</summary>
    MissingExtension = 109,
    /// <summary>unsupported_extension.</summary>
    UnsupportedExtension = 110,
    /// <summary>unrecognized_name.</summary>
    UnrecognizedName = 112,
    /// <summary>bad_certificate_status_response.</summary>
    BadCertificateStatusResponse = 113,
    /// <summary>unknown_psk_identity.</summary>
    UnknownPskIdentity = 115,
    /// <summary>certificate_required.</summary>
    CertificateRequired = 116,
    /// <summary>no_application_protocol.</summary>
    NoApplicationProtocol = 120,
}
