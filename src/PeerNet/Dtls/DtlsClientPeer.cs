using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace PeerNet.Dtls;

/// <summary>
/// The BouncyCastle client side of a WebRTC DTLS 1.2 handshake: offers the ECDSA suites and
/// use_srtp, checks the server's certificate against the SDP fingerprints before the key exchange
/// is trusted, and answers the server's CertificateRequest with our own certificate (RFC 8827 §6.5:
/// both sides authenticate).
/// </summary>
internal sealed class DtlsClientPeer : DefaultTlsClient
{
    private readonly BcTlsCrypto _crypto;
    private readonly RtcCertificate _certificate;
    private readonly DtlsTransportOptions _options;
    private readonly IDtlsHandshakeObserver _observer;
    private int _selectedCipherSuite = -1;

    public DtlsClientPeer(BcTlsCrypto crypto, RtcCertificate certificate, DtlsTransportOptions options, IDtlsHandshakeObserver observer)
        : base(crypto)
    {
        _crypto = crypto;
        _certificate = certificate;
        _options = options;
        _observer = observer;
    }

    /// <summary>The SRTP profile the server chose, if any.</summary>
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

    // The certificate is trusted by its fingerprint alone (RFC 8827 §6.5), so how it was signed does not matter.
    public override bool ShouldCheckSigAlgOfPeerCerts() => false;

    // RFC 6347 §4.1.2.7: invalid records are discarded silently, never fatal.
    public override bool IgnoreCorruptDtlsRecords => true;

    public override IDictionary<int, byte[]> GetClientExtensions()
    {
        IDictionary<int, byte[]> extensions = base.GetClientExtensions() ?? new Dictionary<int, byte[]>();
        TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData(DtlsCipherSuites.SrtpProfiles, TlsUtilities.EmptyBytes));
        return extensions;
    }

    public override void ProcessServerExtensions(IDictionary<int, byte[]> serverExtensions)
    {
        base.ProcessServerExtensions(serverExtensions);
        bool encryptThenMac = serverExtensions is not null && TlsExtensionsUtilities.HasEncryptThenMacExtension(serverExtensions);
        _observer.CipherSuiteSelected(_selectedCipherSuite, encryptThenMac);
        UseSrtpData? srtp = serverExtensions is null ? null : TlsSrtpUtilities.GetUseSrtpExtension(serverExtensions);
        if (srtp is null)
            return;
        // RFC 5764 §4.1.1: exactly one of the offered profiles, and no MKI we did not offer.
        if (srtp.ProtectionProfiles.Length != 1 || Array.IndexOf(DtlsCipherSuites.SrtpProfiles, srtp.ProtectionProfiles[0]) < 0 || srtp.Mki.Length != 0)
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "use_srtp: the server chose a profile we did not offer");
        SelectedSrtpProfile = srtp.ProtectionProfiles[0];
    }

    public override void NotifySelectedCipherSuite(int selectedCipherSuite)
    {
        base.NotifySelectedCipherSuite(selectedCipherSuite);
        _selectedCipherSuite = selectedCipherSuite;
    }

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    public override void NotifyAlertRaised(short alertLevel, short alertDescription, string message, Exception cause) =>
        _observer.AlertRaised(alertLevel, alertDescription, message, cause);

    public override void NotifyAlertReceived(short alertLevel, short alertDescription) =>
        _observer.AlertReceived(alertLevel, alertDescription);

    private sealed class Authentication(DtlsClientPeer peer) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate) =>
            peer._observer.VerifyPeerCertificate(serverCertificate?.Certificate);

        public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest)
        {
            if (Array.IndexOf(certificateRequest.CertificateTypes ?? [], ClientCertificateType.ecdsa_sign) < 0)
                return null;
            return DtlsCredentials.CreateSigner(peer.m_context, peer._crypto, peer._certificate, certificateRequest.SupportedSignatureAlgorithms);
        }
    }
}
