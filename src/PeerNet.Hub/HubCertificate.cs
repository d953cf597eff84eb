using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PeerNet.Hub;

/// <summary>
/// The hub's TLS certificate: the user's PEM pair, or a self-signed ECDSA P-256 certificate made
/// once and kept in the data directory, so its fingerprint stays the same across restarts.
/// </summary>
public static class HubCertificate
{
    public const string CertFileName = "hub-cert.pem";
    public const string KeyFileName = "hub-key.pem";

    /// <summary>Loads the user's PEM pair, or the data directory's self-signed one, creating it if missing or expired.</summary>
    public static (X509Certificate2 Certificate, bool Generated) LoadOrCreate(string? certPath, string? keyPath, string dataDir)
    {
        if (certPath is not null || keyPath is not null)
        {
            if (certPath is null || keyPath is null)
                throw new HubConfigurationException("--cert and --key go together: give both PEM files, or neither for a self-signed certificate");
            return (LoadPem(certPath, keyPath), false);
        }
        Directory.CreateDirectory(dataDir);
        var cert = Path.Combine(dataDir, CertFileName);
        var key = Path.Combine(dataDir, KeyFileName);
        if (File.Exists(cert) && File.Exists(key))
        {
            var existing = LoadPem(cert, key);
            if (existing.NotAfter > DateTime.Now.AddDays(1)) return (existing, false);
            existing.Dispose();
        }
        var created = CreateSelfSigned();
        File.WriteAllText(cert, created.ExportCertificatePem());
        using (var ecdsa = created.GetECDsaPrivateKey()!)
        {
            File.WriteAllText(key, ecdsa.ExportPkcs8PrivateKeyPem());
        }
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (created, true);
    }

    private static X509Certificate2 LoadPem(string certPath, string keyPath)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            throw new HubConfigurationException($"cannot load the certificate '{certPath}' with key '{keyPath}': {e.Message}", e);
        }
    }

    /// <summary>A self-signed ECDSA P-256 server certificate for localhost and this machine's name.</summary>
    public static X509Certificate2 CreateSelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=PeerNet hub (self-signed)", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        var host = Environment.MachineName;
        if (!string.IsNullOrWhiteSpace(host) && Uri.CheckHostName(host) == UriHostNameType.Dns) names.AddDnsName(host);
        // This machine's addresses when the certificate is made: links name a LAN address when the
        // hub listens on every interface, so a peer that pins nothing still sees a matching name.
        foreach (var address in LocalAddresses()) names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        // 397 days: the longest validity browsers accept for a server certificate.
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(397));
    }

    private static IEnumerable<IPAddress> LocalAddresses()
    {
        System.Net.NetworkInformation.NetworkInterface[] interfaces;
        try
        {
            interfaces = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces();
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            yield break;
        }
        foreach (var nic in interfaces)
        {
            if (nic.OperationalStatus != System.Net.NetworkInformation.OperationalStatus.Up) continue;
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var address = unicast.Address;
                if (IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv4MappedToIPv6) continue;
                yield return address;
            }
        }
    }

    /// <summary>The SHA-256 fingerprint as colon-separated hex, the way browsers show it.</summary>
    public static string Sha256Fingerprint(X509Certificate2 certificate) =>
        string.Join(':', certificate.GetCertHash(HashAlgorithmName.SHA256).Select(b => b.ToString("X2")));
}

/// <summary>The hub cannot start with the configuration it was given.</summary>
public sealed class HubConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
