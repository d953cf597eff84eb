using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace PeerNet.Dtls;

/// <summary>
/// The BouncyCastle server side of a WebRTC DTLS 1.2 handshake: selects an ECDSA suite, always
/// requests the client's certificate (RFC 8827 §6.5: mutual authentication) and checks it against
/// the SDP fingerprints, and echoes one use_srtp profile when the client offers it.
/// </summary>
internal sealed class DtlsServerPeer : DefaultTlsServer
{
    private readonly BcTlsCrypto _crypto;
    private readonly RtcCertificate _certificate;
    private readonly DtlsTransportOptions _options;
    private readonly IDtlsHandshakeObserver _observer;

    public DtlsServerPeer(BcTlsCrypto crypto, RtcCertificate certificate, DtlsTransportOptions options, IDtlsHandshakeObserver observer)
        : base(crypto)
    {
        _crypto = crypto;
        _certificate = certificate;
        _options = options;
        _observer = observer;
    }

    /// <summary>The SRTP profile we chose, if the client offered any we support.</summary>
    public int? SelectedSrtpProfile { get; private set; }

    /// <summary>The negotiated cipher suite, known once the handshake completes.</summary>
    public int NegotiatedCipherSuite { get; private set; } = -1;

    /// <summary>
    /// The key block for our own record layer (<see cref="DtlsRecordProtection"/>), derived when the
    /// handshake completes if it implements the suite; the transport takes it and wipes it.
    /// </summary>
    public byte[]? KeyBlock { get; set; }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        NegotiatedCipherSuite = m_context.SecurityParameters.CipherSuite;
        KeyBlock = DtlsKeyBlock.Derive(m_context);
    }

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, _options.CipherSuites ?? DtlsCipherSuites.Offered);

    public override int GetHandshakeTimeoutMillis() => _options.HandshakeTimeout;

    public override int GetHandshakeResendTimeMillis() => _options.InitialRetransmissionTimeout;

    public override bool ShouldCheckSigAlgOfPeerCerts() => false;

    public override bool IgnoreCorruptDtlsRecords => true;

    public override CertificateRequest GetCertificateRequest()
    {
        // Ask for any certificate type a browser may use; only the fingerprint decides whether it is accepted.
        short[] types = [ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign];
        return new CertificateRequest(types, TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null);
    }

    public override void NotifyClientCertificate(Certificate clientCertificate) =>
        _observer.VerifyPeerCertificate(clientCertificate);

    protected override TlsCredentialedSigner GetECDsaSignerCredentials() =>
        DtlsCredentials.CreateSigner(m_context, _crypto, _certificate, m_context.SecurityParameters.ClientSigAlgs)
        ?? throw new TlsFatalAlert(AlertDescription.handshake_failure, "The client accepts no ECDSA signature algorithm.");

    public override IDictionary<int, byte[]> GetServerExtensions()
    {
        IDictionary<int, byte[]> extensions = base.GetServerExtensions();
        _observer.CipherSuiteSelected(m_selectedCipherSuite, TlsExtensionsUtilities.HasEncryptThenMacExtension(extensions));
        UseSrtpData? offered = m_clientExtensions is null ? null : TlsSrtpUtilities.GetUseSrtpExtension(m_clientExtensions);
        if (offered is not null)
        {
            foreach (int profile in DtlsCipherSuites.SrtpProfiles)
            {
                if (Array.IndexOf(offered.ProtectionProfiles, profile) >= 0)
                {
                    SelectedSrtpProfile = profile;
                    TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([profile], TlsUtilities.EmptyBytes));
                    break;
                }
            }
        }
        return extensions;
    }

    public override void NotifyAlertRaised(short alertLevel, short alertDescription, string message, Exception cause) =>
        _observer.AlertRaised(alertLevel, alertDescription, message, cause);

    public override void NotifyAlertReceived(short alertLevel, short alertDescription) =>
        _observer.AlertReceived(alertLevel, alertDescription);
}
