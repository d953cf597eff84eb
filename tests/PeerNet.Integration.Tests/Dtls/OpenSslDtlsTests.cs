using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PeerNet.Dtls;

namespace PeerNet.Integration.Tests.Dtls;

/// <summary>
/// Our DTLS 1.2 against an independent stack, OpenSSL's <c>s_server</c> and <c>s_client</c>, over UDP on
/// 127.0.0.1, in both roles and with every cipher suite we offer. Both sides authenticate as WebRTC
/// does: OpenSSL presents its ECDSA P-256 certificate and demands ours, and each side trusts exactly
/// the other's self-signed certificate (we by its SHA-256 fingerprint, OpenSSL by <c>-CAfile</c>).
/// </summary>
public sealed class OpenSslDtlsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("peernet-dtls-").FullName;
    private readonly RtcCertificate _ours = RtcCertificate.Generate();
    private readonly DtlsFingerprint _theirs;

    public OpenSslDtlsTests()
    {
        OpenSslProcess.Run(_directory, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=openssl", "-sha256");
        File.WriteAllText(Path.Combine(_directory, "ours.pem"), _ours.ExportCertificatePem());

        // The fingerprint of OpenSSL's certificate as we compute it, checked against OpenSSL's own.
        _theirs = DtlsFingerprint.Compute(DtlsFingerprint.Sha256, PemToDer(File.ReadAllText(Path.Combine(_directory, "cert.pem"))));
        string printed = OpenSslProcess.Run(_directory, "x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha256");
        Assert.Contains("Fingerprint=" + _theirs.Value, printed);
    }

    public static TheoryData<string, string> Suites => new()
    {
        { "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
        { "ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
        { "ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
        { "ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
    };

    [Theory]
    [MemberData(nameof(Suites))]
    public void We_connect_as_client_to_openssl_s_server(string opensslCipher, string suite)
    {
        int port = FreeUdpPort();
        using var server = OpenSslProcess.Start(_directory, "s_server", "-dtls1_2", "-accept", $"127.0.0.1:{port}",
            "-cert", "cert.pem", "-key", "key.pem", "-cipher", opensslCipher,
            "-Verify", "1", "-CAfile", "ours.pem", "-verify_return_error");
        Assert.True(server.WaitForOutput("ACCEPT"), server.Output);

        using var driver = new UdpDtlsDriver(new DtlsTransport(DtlsRole.Client, _ours, [_theirs]), new IPEndPoint(IPAddress.Loopback, port));
        driver.Start();
        AssertConnected(driver, suite, server);
        ExchangeMessages(driver, server);

        // close_notify: OpenSSL reports it and ends the connection.
        driver.Close();
        Assert.True(server.WaitForOutput("DONE") || server.WaitForOutput("shutting down"), server.Output);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Openssl_s_client_connects_to_us_as_server(string opensslCipher, string suite)
    {
        using var driver = new UdpDtlsDriver(new DtlsTransport(DtlsRole.Server, _ours, [_theirs]), remote: null);
        driver.Start();
        using var client = OpenSslProcess.Start(_directory, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{driver.LocalEndPoint.Port}",
            "-cert", "cert.pem", "-key", "key.pem", "-cipher", opensslCipher,
            "-CAfile", "ours.pem", "-verify_return_error");
        AssertConnected(driver, suite, client);
        Assert.True(client.WaitForOutput("Verify return code: 0 (ok)"), client.Output);
        ExchangeMessages(driver, client);

        // The peer closes: we see close_notify.
        client.WriteLine("Q");
        Assert.True(driver.WaitFor(() => driver.Events.Any(e => e.Kind == DtlsEventKind.Closed && e.ClosedByPeer)), $"{driver.Transport.State}\n{client.Output}");
        Assert.Equal(DtlsTransportState.Closed, driver.Transport.State);
    }

    [Fact]
    public void We_complete_openssl_s_server_listen_cookie_exchange()
    {
        // -listen makes OpenSSL answer the first ClientHello with a HelloVerifyRequest (RFC 6347 §4.2.1).
        int port = FreeUdpPort();
        using var server = OpenSslProcess.Start(_directory, "s_server", "-dtls1_2", "-listen", "-accept", $"127.0.0.1:{port}",
            "-cert", "cert.pem", "-key", "key.pem", "-Verify", "1", "-CAfile", "ours.pem", "-verify_return_error");
        Assert.True(server.WaitForOutput("ACCEPT"), server.Output);

        using var driver = new UdpDtlsDriver(new DtlsTransport(DtlsRole.Client, _ours, [_theirs]), new IPEndPoint(IPAddress.Loopback, port));
        driver.Start();
        AssertConnected(driver, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", server);
        ExchangeMessages(driver, server);
    }

    [Fact]
    public void Openssl_s_client_completes_our_HelloVerifyRequest_cookie_exchange()
    {
        var options = new DtlsTransportOptions { HelloVerifyRequest = true };
        using var driver = new UdpDtlsDriver(new DtlsTransport(DtlsRole.Server, _ours, [_theirs], options), remote: null);
        driver.Start();
        using var client = OpenSslProcess.Start(_directory, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{driver.LocalEndPoint.Port}",
            "-cert", "cert.pem", "-key", "key.pem", "-CAfile", "ours.pem", "-verify_return_error");
        // OpenSSL lists AES-256-GCM first, and the server follows the client's preference.
        AssertConnected(driver, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", client);
        ExchangeMessages(driver, client);
    }

    [Fact]
    public void A_wrong_fingerprint_fails_our_side_and_openssl_gets_bad_certificate()
    {
        int port = FreeUdpPort();
        using var server = OpenSslProcess.Start(_directory, "s_server", "-dtls1_2", "-accept", $"127.0.0.1:{port}",
            "-cert", "cert.pem", "-key", "key.pem", "-Verify", "1", "-CAfile", "ours.pem");
        Assert.True(server.WaitForOutput("ACCEPT"), server.Output);

        var wrong = RtcCertificate.Generate().GetFingerprints()[0];
        using var driver = new UdpDtlsDriver(new DtlsTransport(DtlsRole.Client, _ours, [wrong]), new IPEndPoint(IPAddress.Loopback, port));
        driver.Start();
        Assert.True(driver.WaitFor(() => driver.Transport.State == DtlsTransportState.Failed), $"{driver.Transport.State}\n{server.Output}");
        Assert.Equal(DtlsFailureReason.FingerprintMismatch, driver.Transport.Failure!.Reason);
        Assert.Contains(_theirs.Value, driver.Transport.Failure.Message);
        Assert.True(server.WaitForOutput("bad certificate"), server.Output);
        Assert.DoesNotContain(driver.Events, e => e.Kind == DtlsEventKind.Connected);
    }

    [Fact]
    public void Openssl_refuses_a_client_that_presents_an_untrusted_certificate()
    {
        // OpenSSL trusts only "ours.pem"; a different identity of ours is refused by it, and we report its alert.
        int port = FreeUdpPort();
        using var server = OpenSslProcess.Start(_directory, "s_server", "-dtls1_2", "-accept", $"127.0.0.1:{port}",
            "-cert", "cert.pem", "-key", "key.pem", "-Verify", "1", "-CAfile", "ours.pem", "-verify_return_error");
        Assert.True(server.WaitForOutput("ACCEPT"), server.Output);

        using var driver = new UdpDtlsDriver(new DtlsTransport(DtlsRole.Client, RtcCertificate.Generate(), [_theirs]), new IPEndPoint(IPAddress.Loopback, port));
        driver.Start();
        Assert.True(driver.WaitFor(() => driver.Transport.State == DtlsTransportState.Failed), $"{driver.Transport.State}\n{server.Output}");
        Assert.Equal(DtlsFailureReason.AlertReceived, driver.Transport.Failure!.Reason);
    }

    private static void AssertConnected(UdpDtlsDriver driver, string suite, OpenSslProcess peer)
    {
        Assert.True(driver.WaitFor(() => driver.Transport.State != DtlsTransportState.Connecting && driver.Transport.State != DtlsTransportState.New),
            $"still {driver.Transport.State}\n{peer.Output}");
        Assert.True(driver.Transport.State == DtlsTransportState.Connected, $"{driver.Transport.State}: {driver.Transport.Failure}\n{peer.Output}");
        Assert.Equal(suite, driver.Transport.CipherSuite);
        Assert.True(driver.WaitFor(() => !driver.Events.IsEmpty));
        Assert.Contains(driver.Events, e => e.Kind == DtlsEventKind.Connected && e.CipherSuite == suite);
    }

    private static void ExchangeMessages(UdpDtlsDriver driver, OpenSslProcess peer)
    {
        for (int i = 0; i < 3; i++)
        {
            string ours = $"hello {i} from PeerNet";
            driver.Send(Encoding.ASCII.GetBytes(ours + "\n"));
            Assert.True(peer.WaitForOutput(ours), peer.Output);

            string theirs = $"hello {i} from OpenSSL";
            peer.WriteLine(theirs);
            Assert.True(driver.WaitFor(() => driver.Received.Any(r => Encoding.ASCII.GetString(r).Contains(theirs, StringComparison.Ordinal))),
                $"not received: {theirs}\n{peer.Output}");
        }
        // A large record: OpenSSL prints what it receives, so check a recognisable tail.
        string big = new string('x', 1100) + " big end";
        driver.Send(Encoding.ASCII.GetBytes(big + "\n"));
        Assert.True(peer.WaitForOutput(" big end"), peer.Output);
        Assert.Equal(DtlsTransportState.Connected, driver.Transport.State);
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static byte[] PemToDer(string pem)
    {
        var fields = System.Security.Cryptography.PemEncoding.Find(pem);
        return Convert.FromBase64String(pem[fields.Base64Data]);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
