using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using PeerNet.Turn;

namespace PeerNet.Integration.Tests.Turn;

/// <summary>
/// Our STUN/TURN server against clients nobody here wrote: coturn's <c>turnutils_stunclient</c>
/// and <c>turnutils_uclient</c> relaying to <c>turnutils_peer</c> (Debian package coturn), all on
/// loopback. uclient paces itself on a ~4 ms timer, so message counts stay small.
/// </summary>
public partial class CoturnClientTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Stunclient_gets_its_mapped_address()
    {
        await using var host = await TurnLoopback.StartHostAsync();
        var port = host.UdpEndPoints[0].Port;

        // From 127.0.0.5, so the address cannot be right by accident.
        var (code, output) = await TurnLoopback.RunAsync(TurnLoopback.Tool("turnutils_stunclient"),
            ["-L", "127.0.0.5", "-p", port.ToString(CultureInfo.InvariantCulture), "127.0.0.1"], TimeSpan.FromSeconds(15));

        Assert.True(code == 0, output);
        var match = ReflexiveRegex().Match(output);
        Assert.True(match.Success, output);
        Assert.Equal("127.0.0.5", match.Groups[1].Value);
        Assert.InRange(int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), 1, 65535);
        Assert.True(host.GetStatistics().BindingResponses >= 1);
    }

    [Fact]
    public async Task Stunclient_runs_rfc5780_discovery_against_the_alternate_address()
    {
        await using var host = await TurnLoopback.StartHostAsync(o => o.AlternateAddress = IPAddress.Parse("127.0.0.2"));
        var port = host.UdpEndPoints[0].Port;
        var alternate = host.AlternateUdpEndPoints[2];
        Assert.Equal(IPAddress.Parse("127.0.0.2"), alternate.Address);

        var (code, output) = await TurnLoopback.RunAsync(TurnLoopback.Tool("turnutils_stunclient"),
            ["-f", "-p", port.ToString(CultureInfo.InvariantCulture), "127.0.0.1"], TimeSpan.FromSeconds(15));

        Assert.True(code == 0, output);
        Assert.Contains($"Other addr: : {alternate}", output);
        Assert.Contains("RFC 5780 response 2", output);
        Assert.Contains($"Response origin: : {alternate}", output); // answered from the alternate IP and port
        Assert.Contains("RFC 5780 response 3", output);
    }

    [Fact]
    public async Task The_cli_turns_on_rfc5780_with_alternate_address()
    {
        // `peernet turn --alternate-address` as a real process: the flag reaches the server.
        var port = TurnLoopback.FreeUdpPort();
        var dataDir = Directory.CreateTempSubdirectory("peernet-turn-").FullName;
        using var server = TurnLoopback.Start("dotnet", [PeerNetCli.DllPath(), "turn", "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--alternate-address", "127.0.0.2", "--data-dir", dataDir]);
        try
        {
            string output = "";
            for (var attempt = 0; attempt < 50 && !output.Contains("RFC 5780 response 3", StringComparison.Ordinal); attempt++)
            {
                await Task.Delay(200);
                (_, output) = await TurnLoopback.RunAsync(TurnLoopback.Tool("turnutils_stunclient"), ["-f", "-p", port.ToString(CultureInfo.InvariantCulture), "127.0.0.1"], TimeSpan.FromSeconds(5));
            }
            Assert.Contains("RFC 5780 response 3", output + "\n--- server:\n" + server.Output);
            Assert.Contains("Other addr: : 127.0.0.2:", output);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Theory]
    [InlineData("udp", "channels", "long-term")]
    [InlineData("udp", "send", "long-term")]
    [InlineData("udp", "channels", "rest")]
    [InlineData("udp", "send", "rest")]
    [InlineData("tcp", "channels", "long-term")]
    [InlineData("tcp", "send", "long-term")]
    [InlineData("tcp", "channels", "rest")]
    [InlineData("tcp", "send", "rest")]
    public async Task Uclient_relays_every_message_to_turnutils_peer(string transport, string method, string credentials)
    {
        var flags = new List<string> { "-c" };
        if (transport == "tcp")
        {
            flags.Add("-t");
        }

        if (method == "send")
        {
            flags.Add("-s");
        }

        flags.AddRange(credentials == "rest" ? ["-u", "carol", "-W", TurnLoopback.Secret] : ["-u", TurnLoopback.User, "-w", TurnLoopback.Password]);
        await RunUclientAsync(flags);
    }

    [Fact]
    public async Task Uclient_allocates_rtp_and_rtcp_pairs_with_even_port_and_reservation_tokens()
    {
        // Without -c uclient allocates an even port reserving the next one (EVEN-PORT with R), then
        // that odd port with the RESERVATION-TOKEN: with -v it prints the relayed addresses.
        var (statistics, output) = await RunUclientAsync(["-v", "-u", TurnLoopback.User, "-w", TurnLoopback.Password]);
        var ports = RelayRegex().Matches(output).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.True(statistics.AllocationsCreated >= 3, output);
        Assert.Contains(ports, p => p % 2 == 0 && ports.Contains(p + 1));
    }

    [Fact]
    public async Task Uclient_clients_relay_to_each_other()
    {
        await RunUclientAsync(["-y", "-c", "-u", TurnLoopback.User, "-w", TurnLoopback.Password], withPeer: false);
    }

    [Fact]
    public async Task Uclient_over_tls()
    {
        using var certificate = TurnLoopback.CreateCertificate();
        await RunUclientAsync(["-t", "-S", "-c", "-u", TurnLoopback.User, "-w", TurnLoopback.Password], tls: certificate);
    }

    [Fact]
    public async Task Uclient_gets_an_ipv6_relay()
    {
        await RunUclientAsync(["-x", "-c", "-u", TurnLoopback.User, "-w", TurnLoopback.Password], peerAddress: IPAddress.IPv6Loopback);
    }

    private static async Task<(TurnServerStatistics Statistics, string Output)> RunUclientAsync(List<string> flags, bool withPeer = true,
        System.Security.Cryptography.X509Certificates.X509Certificate2? tls = null, IPAddress? peerAddress = null)
    {
        peerAddress ??= IPAddress.Loopback;
        await using var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.AllowRfc5766ChannelNumbers = true; // uclient picks channels in 0x4000-0x7FFF
            if (tls is not null)
            {
                o.TlsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)];
                o.TlsCertificate = tls;
            }

            if (peerAddress.Equals(IPAddress.IPv6Loopback))
            {
                o.RelayAddresses = [IPAddress.Loopback, IPAddress.IPv6Loopback];
                o.AllowedPeerRanges.Add(IPNetwork.Parse("::1/128"));
            }
        });
        var serverPort = tls is not null ? host.TlsEndPoints[0].Port : flags.Contains("-t") ? host.TcpEndPoints[0].Port : host.UdpEndPoints[0].Port;
        var peerPort = TurnLoopback.FreeUdpPort(peerAddress);
        using var peer = withPeer
            ? TurnLoopback.Start(TurnLoopback.Tool("turnutils_peer"), ["-L", peerAddress.ToString(), "-p", peerPort.ToString(CultureInfo.InvariantCulture)])
            : null;
        await Task.Delay(300); // let the peer bind

        var arguments = new List<string>(flags)
        {
            "-n", "20", "-m", "2",
            "-e", peerAddress.ToString(), "-r", peerPort.ToString(CultureInfo.InvariantCulture),
            "-p", serverPort.ToString(CultureInfo.InvariantCulture),
            "127.0.0.1",
        };
        var (code, output) = await TurnLoopback.RunAsync(TurnLoopback.Tool("turnutils_uclient"), arguments, ToolTimeout);
        var statistics = host.GetStatistics();
        var context = $"uclient {string.Join(' ', arguments)} exited {code}\n{output}\npeer:\n{peer?.Output}\nserver: {Describe(statistics)}";

        Assert.True(code == 0, context);
        var messages = TotalsRegex().Matches(output);
        Assert.True(messages.Count > 0, context);
        var last = messages[^1];
        Assert.True(last.Groups[1].Value == "40" && last.Groups[2].Value == "40", context); // 2 clients x 20 messages, all echoed
        var bytes = BytesRegex().Matches(output)[^1];
        Assert.True(bytes.Groups[1].Value == bytes.Groups[2].Value && bytes.Groups[1].Value != "0", context);
        var lost = LostRegex().Match(output);
        Assert.True(lost.Success && lost.Groups[1].Value == "0", context);
        Assert.True(statistics.PacketsToPeers >= 40 && statistics.PacketsToClients >= 40, context);
        return (statistics, output);
    }

    private static string Describe(TurnServerStatistics s) =>
        $"allocations {s.AllocationsCreated}, to peers {s.PacketsToPeers}, to clients {s.PacketsToClients}, dropped {string.Join(", ", s.Dropped.Select(d => $"{d.Key}={d.Value}"))}";

    [GeneratedRegex(@"UDP reflexive addr: (\d+\.\d+\.\d+\.\d+):(\d+)")]
    private static partial Regex ReflexiveRegex();

    [GeneratedRegex(@"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)")]
    private static partial Regex TotalsRegex();

    [GeneratedRegex(@"start_mclient: tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)")]
    private static partial Regex BytesRegex();

    [GeneratedRegex(@"Received relay addr: 127\.0\.0\.1:(\d+)")]
    private static partial Regex RelayRegex();

    [GeneratedRegex(@"Total lost packets (\d+)")]
    private static partial Regex LostRegex();
}
