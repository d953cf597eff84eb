using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PeerNet.Dtls;

namespace PeerNet.Tests.Dtls;

public class RtcCertificateTests
{
    [Fact]
    public void Generate_makes_a_self_signed_P256_certificate_valid_about_30_days()
    {
        DateTimeOffset before = DateTimeOffset.UtcNow;
        var certificate = RtcCertificate.Generate();

        Assert.InRange(certificate.Expires, before.AddDays(30).AddSeconds(-2), DateTimeOffset.UtcNow.AddDays(30).AddSeconds(1));
        Assert.True(certificate.NotBefore < before);

        using var x509 = X509CertificateLoader.LoadCertificate(certificate.CertificateDer.Span);
        Assert.Equal("CN=PeerNet", x509.Subject);
        Assert.Equal(x509.Subject, x509.Issuer);
        Assert.Equal("1.2.840.10045.4.3.2", x509.SignatureAlgorithm.Value); // ecdsa-with-SHA256
        using ECDsa? key = x509.GetECDsaPublicKey();
        Assert.NotNull(key);
        Assert.Equal(256, key.KeySize);
        Assert.Equal(x509.SubjectName.RawData, x509.IssuerName.RawData);

        var fingerprint = Assert.Single(certificate.GetFingerprints());
        Assert.Equal("sha-256", fingerprint.Algorithm);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(certificate.CertificateDer.Span)), fingerprint.Value.Replace(":", ""));
    }

    [Fact]
    public void Each_certificate_has_its_own_key_and_random_serial()
    {
        var a = RtcCertificate.Generate();
        var b = RtcCertificate.Generate();
        using var x509a = X509CertificateLoader.LoadCertificate(a.CertificateDer.Span);
        using var x509b = X509CertificateLoader.LoadCertificate(b.CertificateDer.Span);
        Assert.NotEqual(x509a.SerialNumber, x509b.SerialNumber);
        Assert.NotEqual(a.GetFingerprints()[0], b.GetFingerprints()[0]);
        Assert.True(x509a.SerialNumberBytes.Span[0] < 0x80); // positive (RFC 5280 §4.1.2.2)
        Assert.Equal(8, x509a.SerialNumberBytes.Length);
    }

    [Fact]
    public void Validity_and_common_name_are_options()
    {
        var certificate = RtcCertificate.Generate(TimeSpan.FromDays(365), "my \"node\", 1");
        Assert.InRange(certificate.Expires, DateTimeOffset.UtcNow.AddDays(365).AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(365).AddMinutes(1));
        using var x509 = X509CertificateLoader.LoadCertificate(certificate.CertificateDer.Span);
        Assert.Contains("my", x509.Subject);
        Assert.Throws<ArgumentOutOfRangeException>(() => RtcCertificate.Generate(TimeSpan.Zero));
        Assert.Throws<ArgumentException>(() => RtcCertificate.Generate(TimeSpan.FromDays(1), ""));
    }

    [Fact]
    public void PEM_round_trip_keeps_the_identity()
    {
        var original = RtcCertificate.Generate();
        string certificatePem = original.ExportCertificatePem();
        string keyPem = original.ExportPrivateKeyPem();
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", certificatePem);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", keyPem);

        var loaded = RtcCertificate.FromPem(certificatePem, keyPem);
        Assert.Equal(original.CertificateDer.ToArray(), loaded.CertificateDer.ToArray());
        Assert.Equal(original.GetFingerprints()[0], loaded.GetFingerprints()[0]);
        Assert.Equal(original.Expires, loaded.Expires);
        Assert.Equal(keyPem, loaded.ExportPrivateKeyPem());

        // And the loaded identity authenticates in a handshake against the original's fingerprint.
        var peer = RtcCertificate.Generate();
        using var client = new DtlsTransport(DtlsRole.Client, loaded, peer.GetFingerprints(), DtlsLink.FastOptions());
        using var server = new DtlsTransport(DtlsRole.Server, peer, original.GetFingerprints(), DtlsLink.FastOptions());
        Assert.True(Connect(client, server));
    }

    [Fact]
    public void FromPem_accepts_an_OpenSSL_style_SEC1_key()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=openssl", key, HashAlgorithmName.SHA256);
        using var x509 = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        var certificate = RtcCertificate.FromPem(x509.ExportCertificatePem(), "some text first\n" + key.ExportECPrivateKeyPem());
        Assert.Equal(DtlsFingerprint.Compute("sha-256", x509.RawData), certificate.GetFingerprints()[0]);
    }

    [Fact]
    public void FromPem_refuses_mismatched_wrong_curve_RSA_and_garbage()
    {
        var a = RtcCertificate.Generate();
        var b = RtcCertificate.Generate();
        var e = Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem(a.ExportCertificatePem(), b.ExportPrivateKeyPem()));
        Assert.Contains("does not belong to the certificate", e.Message);

        using (var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384))
        {
            using var x509 = new CertificateRequest("CN=p384", p384, HashAlgorithmName.SHA384).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
            e = Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem(x509.ExportCertificatePem(), p384.ExportPkcs8PrivateKeyPem()));
            Assert.Contains("P-256", e.Message);
        }
        using (var rsa = RSA.Create(2048))
        {
            using var x509 = new CertificateRequest("CN=rsa", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
            e = Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem(x509.ExportCertificatePem(), rsa.ExportPkcs8PrivateKeyPem()));
            Assert.Contains("not an ECDSA certificate", e.Message);
        }
        e = Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem("hello", a.ExportPrivateKeyPem()));
        Assert.Contains("BEGIN CERTIFICATE", e.Message);
        Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", a.ExportPrivateKeyPem()));
        Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem(a.ExportCertificatePem(), "not a key"));
        Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem(a.ExportCertificatePem(), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"));
    }

    private static bool Connect(DtlsTransport client, DtlsTransport server)
    {
        server.Start(0);
        client.Start(0);
        byte[] buffer = new byte[70000];
        for (int round = 0; round < 50; round++)
        {
            int n;
            while ((n = client.PollTransmit(buffer)) > 0) server.HandleDatagram(buffer.AsSpan(0, n), 0);
            while ((n = server.PollTransmit(buffer)) > 0) client.HandleDatagram(buffer.AsSpan(0, n), 0);
            if (client.State == DtlsTransportState.Connected && server.State == DtlsTransportState.Connected)
                return true;
        }
        return false;
    }
}
