using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;

namespace PeerNet.Dtls;

/// <summary>
/// A DTLS identity: a self-signed ECDSA P-256 certificate and its private key, shaped like W3C
/// <c>RTCCertificate</c>. Peers authenticate it only through its fingerprint in SDP (RFC 8827 §6.5),
/// so it needs no CA; one instance may serve any number of connections at once, and the PEM export
/// lets a program keep the same identity across runs.
/// </summary>
public sealed class RtcCertificate
{
    /// <summary>The subject common name <see cref="Generate()"/> uses.</summary>
    public const string DefaultCommonName = "PeerNet";

    /// <summary>How long a generated certificate stays valid by default (browsers use about 30 days).</summary>
    public static readonly TimeSpan DefaultValidity = TimeSpan.FromDays(30);

    private const string P256Oid = "1.2.840.10045.3.1.7";

    private readonly byte[] _certificateDer;
    private readonly byte[] _pkcs8PrivateKey;
    private readonly DtlsFingerprint[] _fingerprints;

    private RtcCertificate(byte[] certificateDer, byte[] pkcs8PrivateKey, DateTimeOffset notBefore, DateTimeOffset expires)
    {
        _certificateDer = certificateDer;
        _pkcs8PrivateKey = pkcs8PrivateKey;
        NotBefore = notBefore;
        Expires = expires;
        _fingerprints = [DtlsFingerprint.Compute(DtlsFingerprint.Sha256, certificateDer)];
        PrivateKey = PrivateKeyFactory.CreateKey(pkcs8PrivateKey);
    }

    /// <summary>When the certificate stops being valid (W3C <c>RTCCertificate.expires</c>).</summary>
    public DateTimeOffset Expires { get; }

    /// <summary>When the certificate starts being valid.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>The DER encoding of the certificate, the bytes the fingerprint hashes.</summary>
    public ReadOnlyMemory<byte> CertificateDer => _certificateDer;

    /// <summary>The private key in BouncyCastle's form, for the DTLS handshake.</summary>
    internal AsymmetricKeyParameter PrivateKey { get; }

    /// <summary>The SHA-256 fingerprint to put in <c>a=fingerprint</c> (W3C <c>getFingerprints()</c>).</summary>
    public IReadOnlyList<DtlsFingerprint> GetFingerprints() => _fingerprints;

    /// <summary>Generates a new self-signed ECDSA P-256 certificate valid for <see cref="DefaultValidity"/>.</summary>
    public static RtcCertificate Generate() => Generate(DefaultValidity);

    /// <summary>Generates a new self-signed ECDSA P-256 certificate with a random serial number.</summary>
    /// <param name="validity">How long from now it stays valid.</param>
    /// <param name="commonName">The subject (and issuer) common name.</param>
    public static RtcCertificate Generate(TimeSpan validity, string commonName = DefaultCommonName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(validity, TimeSpan.Zero);
        ArgumentException.ThrowIfNullOrEmpty(commonName);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(commonName);
        X500DistinguishedName subject = name.Build();
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);

        // A day of slack before "now", so a peer whose clock runs behind still accepts it (if it checks at all).
        DateTimeOffset now = DateTimeOffset.UtcNow;
        DateTimeOffset notBefore = TruncateToSeconds(now - TimeSpan.FromDays(1));
        DateTimeOffset notAfter = TruncateToSeconds(now + validity);

        // RFC 5280 §4.1.2.2: a positive integer, at most 20 octets; 8 random bytes, top bit clear.
        byte[] serial = RandomNumberGenerator.GetBytes(8);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);

        using X509Certificate2 certificate = request.Create(subject, X509SignatureGenerator.CreateForECDsa(key), notBefore, notAfter, serial);
        return new RtcCertificate(certificate.RawData, key.ExportPkcs8PrivateKey(), notBefore, notAfter);
    }

    /// <summary>The certificate as PEM (<c>-----BEGIN CERTIFICATE-----</c>).</summary>
    public string ExportCertificatePem() => PemEncoding.WriteString("CERTIFICATE", _certificateDer);

    /// <summary>The private key as unencrypted PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>); keep it secret.</summary>
    public string ExportPrivateKeyPem() => PemEncoding.WriteString("PRIVATE KEY", _pkcs8PrivateKey);

    /// <summary>
    /// Loads an identity saved with <see cref="ExportCertificatePem"/> and <see cref="ExportPrivateKeyPem"/>
    /// (or made by OpenSSL: the key may be PKCS#8 <c>PRIVATE KEY</c> or SEC1 <c>EC PRIVATE KEY</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The PEM is malformed, not ECDSA P-256, or the key does not belong to the certificate.</exception>
    public static RtcCertificate FromPem(string certificatePem, string privateKeyPem)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        ArgumentNullException.ThrowIfNull(privateKeyPem);

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(ReadPem(certificatePem, "CERTIFICATE", nameof(certificatePem)));
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"The certificate PEM does not hold a valid X.509 certificate: {e.Message}", nameof(certificatePem), e);
        }

        using (certificate)
        using (ECDsa? publicKey = certificate.GetECDsaPublicKey())
        {
            if (publicKey is null)
                throw new ArgumentException("The certificate is not an ECDSA certificate; WebRTC DTLS here needs ECDSA P-256.", nameof(certificatePem));
            ECParameters publicParameters = publicKey.ExportParameters(false);
            if (!IsP256(publicParameters.Curve))
                throw new ArgumentException("The certificate's key is not on curve P-256 (secp256r1).", nameof(certificatePem));

            using var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(privateKeyPem);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                throw new ArgumentException($"The private key PEM does not hold an unencrypted EC private key: {e.Message}", nameof(privateKeyPem), e);
            }
            ECParameters privateParameters;
            try
            {
                privateParameters = key.ExportParameters(true);
            }
            catch (CryptographicException e)
            {
                throw new ArgumentException($"The private key cannot be read: {e.Message}", nameof(privateKeyPem), e);
            }
            if (!IsP256(privateParameters.Curve))
                throw new ArgumentException("The private key is not on curve P-256 (secp256r1).", nameof(privateKeyPem));
            if (!publicParameters.Q.X.AsSpan().SequenceEqual(privateParameters.Q.X) || !publicParameters.Q.Y.AsSpan().SequenceEqual(privateParameters.Q.Y))
                throw new ArgumentException("The private key does not belong to the certificate.", nameof(privateKeyPem));

            var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
            var expires = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            return new RtcCertificate(certificate.RawData, key.ExportPkcs8PrivateKey(), notBefore, expires);
        }
    }

    private static byte[] ReadPem(string pem, string label, string parameter)
    {
        ReadOnlySpan<char> text = pem;
        while (PemEncoding.TryFind(text, out PemFields fields))
        {
            if (text[fields.Label].SequenceEqual(label))
            {
                byte[] data = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(text[fields.Base64Data], data, out int written))
                    break;
                return data[..written];
            }
            text = text[fields.Location.End..];
        }
        throw new ArgumentException($"No '-----BEGIN {label}-----' block found.", parameter);
    }

    private static bool IsP256(ECCurve curve) =>
        curve.IsNamed && (curve.Oid.Value == P256Oid || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "secp256r1" or "prime256v1");

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.Ticks - value.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
}
