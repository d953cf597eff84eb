using System.Net;
using System.Net.NetworkInformation;
using System.Security.Cryptography.X509Certificates;
using PeerNet.Hub;

namespace PeerNet.Tests.Hub;

public sealed class HubCertificateTests
{
    [Fact]
    public void The_self_signed_certificate_names_localhost_loopback_and_this_machines_addresses()
    {
        using var certificate = HubCertificate.CreateSelfSigned();
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        var addresses = names.EnumerateIPAddresses().ToList();
        Assert.Contains("localhost", names.EnumerateDnsNames());
        Assert.Contains(IPAddress.Loopback, addresses);
        Assert.Contains(IPAddress.IPv6Loopback, addresses);
        var local = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(u => u.Address))
            .Where(a => !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal && !a.IsIPv4MappedToIPv6);
        foreach (var address in local) Assert.Contains(address, addresses);
    }
}
