using Org.BouncyCastle.Tls;

namespace PeerNet.Dtls;

/// <summary>What the BouncyCastle client and server peers report back to their <see cref="DtlsTransport"/>.</summary>
internal interface IDtlsHandshakeObserver
{
    /// <summary>
    /// Checks the peer's certificate chain against the SDP fingerprints (RFC 8842 §5); throws a
    /// <see cref="TlsFatalAlert"/> with bad_certificate when it does not match, which aborts the handshake.
    /// </summary>
    void VerifyPeerCertificate(Certificate? chain);

    /// <summary>The cipher suite is chosen (from ServerHello): from now on encrypted records can be length-checked.</summary>
    void CipherSuiteSelected(int cipherSuite, bool encryptThenMac);

    /// <summary>The peer sent an alert.</summary>
    void AlertReceived(short level, short description);

    /// <summary>We sent an alert.</summary>
    void AlertRaised(short level, short description, string? message, Exception? cause);
}
