using System.Diagnostics;
using System.Text;
using PeerNet.Integration.Tests.Turn;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Rtc;

/// <summary>`peernet echo` and `peernet ping` as real processes against a hub on loopback.</summary>
[Collection(BrowserCollection.Name)]
public sealed class EchoPingCommandTests(BrowserFixture browser, ITestOutputHelper output) : IAsyncLifetime
{
    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    [Fact]
    public async Task PingMeasuresAnEchoPeer()
    {
        using var echo = StartCli("echo", "--hub", _hub.Url.ToString(), "--room", "lab");
        await WaitForOutputAsync(echo, "answering every offer");
        var (exitCode, text) = await RunCliAsync(TimeSpan.FromSeconds(60), "ping", "--hub", _hub.Url.ToString(), "--room", "lab", "--count", "5", "--size", "100", "--bytes", "2M");
        output.WriteLine(text);
        output.WriteLine("--- echo:\n" + echo.Output);
        Assert.Equal(0, exitCode);
        Assert.Contains("connected to", text);
        Assert.Contains("selected pair: local host udp", text);
        Assert.Contains("5 round trips", text);
        Assert.Contains("2.0 MiB sent and echoed back", text);
        Assert.Contains("verified: 2097152 bytes byte-exact", text);
        Assert.Contains("opened channel 'ping'", echo.Output);
    }

    [Fact]
    public async Task PingFailsWhenTheEchoIsNotByteExact()
    {
        // An in-process echo that flips one bit of the byte at offset 100000 of the throughput
        // stream (the round trips before it are 8-byte messages, left alone).
        await using var signaling = new PeerNet.Signaling.SignalingClient(new PeerNet.Signaling.SignalingClientOptions { Url = _hub.SignalingUrl });
        await signaling.ConnectAsync();
        await using var room = new PeerNet.Rtc.PeerRoom(signaling, "corrupt", initiator => new PeerNet.Rtc.PeerOptions
        {
            Initiator = initiator,
            Configuration = new PeerNet.Rtc.RtcConfiguration { IncludeLoopbackCandidates = true },
        });
        long offset = 0;
        room.PeerAccepted += (_, e) => e.Peer.Connection.DataChannel += (_, channel) => channel.Message += (_, m) =>
        {
            var data = m.Data;
            if (data.Length > 8)
            {
                const long Corrupt = 100_000;
                if (offset <= Corrupt && Corrupt < offset + data.Length) data[Corrupt - offset] ^= 0x20;
                offset += data.Length;
            }
            channel.Send(data);
        };
        await room.JoinAsync();
        var (exitCode, text) = await RunCliAsync(TimeSpan.FromSeconds(60), "ping", "--hub", _hub.Url.ToString(), "--room", "corrupt", "--count", "2", "--size", "8", "--bytes", "1M");
        output.WriteLine(text);
        Assert.Equal(1, exitCode);
        Assert.Contains("not byte-exact", text);
        Assert.Contains("byte 100000 of 1048576 differs", text.ReplaceLineEndings(" "));
        Assert.DoesNotContain("verified:", text);
    }

    [Fact]
    public async Task EchoServesEveryPeerOnOneUdpPort()
    {
        var port = FreeUdpPort();
        using var echo = StartCli("echo", "--hub", _hub.Url.ToString(), "--room", "mux", "--udp-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--udp-bind", "127.0.0.1");
        await WaitForOutputAsync(echo, "answering every offer");
        Assert.Contains($"every peer on UDP 127.0.0.1:{port}", echo.Output);
        // Three pings at once: all reach the one port.
        var pings = Enumerable.Range(0, 3).Select(_ => RunCliAsync(TimeSpan.FromSeconds(60), "ping", "--hub", _hub.Url.ToString(), "--room", "mux", "--count", "3", "--bytes", "256K")).ToArray();
        foreach (var (exitCode, text) in await Task.WhenAll(pings))
        {
            output.WriteLine(text);
            Assert.Equal(0, exitCode);
            Assert.Contains($"remote host udp 127.0.0.1:{port}", text);
            Assert.Contains("0.2 MiB sent and echoed back", text);
        }
        output.WriteLine("--- echo:\n" + echo.Output);

        // Bound to every address without saying which one peers reach: a usage error.
        var (refused, refusedText) = await RunCliAsync(TimeSpan.FromSeconds(30), "echo", "--hub", _hub.Url.ToString(), "--room", "mux2", "--udp-port", "1");
        Assert.Equal(2, refused);
        Assert.Contains("needs --announce", refusedText);
    }

    private static int FreeUdpPort()
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task PingMeasuresABrowserEcho()
    {
        var page = await ChromiumEchoPeer.StartAsync(browser, output, _hub.Url, "browser-lab", "answer");
        await using var _ = page;
        await page.WaitForAsync("joined");
        var (exitCode, text) = await RunCliAsync(TimeSpan.FromSeconds(60), "ping", "--hub", _hub.Url.ToString(), "--room", "browser-lab", "--count", "3", "--bytes", "1M");
        output.WriteLine(text);
        Assert.Equal(0, exitCode);
        Assert.Contains("3 round trips", text);
        Assert.Contains("1.0 MiB sent and echoed back", text);
    }

    [Fact]
    public async Task PingWithNobodyThereFailsAtSignaling()
    {
        var (exitCode, text) = await RunCliAsync(TimeSpan.FromSeconds(30), "ping", "--hub", _hub.Url.ToString(), "--room", "empty");
        output.WriteLine(text);
        Assert.Equal(1, exitCode);
        Assert.Contains("connection failed at signaling: nobody is in room 'empty'", text);
    }

    [Fact]
    public async Task PingToASilentPeerFailsAtIce()
    {
        // A peer that joins but never answers: the offer goes nowhere and ICE never gets a pair.
        await using var silent = await RawSignalingClient.ConnectAsync(_hub.SignalingUrl, CancellationToken.None);
        await silent.SendTextAsync("""{"type":"join","room":"quiet"}""");
        await Task.Delay(200);
        var (exitCode, text) = await RunCliAsync(TimeSpan.FromSeconds(30), "ping", "--hub", _hub.Url.ToString(), "--room", "quiet", "--timeout", "3");
        output.WriteLine(text);
        Assert.Equal(1, exitCode);
        Assert.Contains("connection failed at ICE", text);
    }

    [Fact]
    public async Task ASelfSignedHubNeedsInsecure()
    {
        await using var https = await TestHub.StartAsync(o => o.Http = false);
        Assert.Equal("https", https.Url.Scheme);
        var (refused, refusedText) = await RunCliAsync(TimeSpan.FromSeconds(30), "ping", "--hub", https.Url.ToString(), "--room", "r");
        output.WriteLine(refusedText);
        Assert.Equal(1, refused);
        Assert.Contains("connection failed at signaling", refusedText);
        // With --insecure the TLS handshake is accepted: it gets as far as the empty room.
        var (accepted, acceptedText) = await RunCliAsync(TimeSpan.FromSeconds(30), "ping", "--hub", https.Url.ToString(), "--room", "r", "--insecure");
        output.WriteLine(acceptedText);
        Assert.Equal(1, accepted);
        Assert.Contains("nobody is in room 'r'", acceptedText);
    }

    [Fact]
    public async Task AnUnreachableHubFailsAtSignaling()
    {
        var (exitCode, text) = await RunCliAsync(TimeSpan.FromSeconds(30), "ping", "--hub", "http://127.0.0.1:9", "--room", "x");
        output.WriteLine(text);
        Assert.Equal(1, exitCode);
        Assert.Contains("connection failed at signaling", text);
    }

    private static TurnLoopback.BackgroundProcess StartCli(params string[] arguments) =>
        TurnLoopback.Start("dotnet", [PeerNetCli.DllPath(), .. arguments]);

    private static Task<(int ExitCode, string Output)> RunCliAsync(TimeSpan timeout, params string[] arguments) =>
        TurnLoopback.RunAsync("dotnet", [PeerNetCli.DllPath(), .. arguments], timeout);

    private static async Task WaitForOutputAsync(TurnLoopback.BackgroundProcess process, string text)
    {
        var clock = Stopwatch.StartNew();
        while (!process.Output.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30) || process.HasExited) Assert.Fail($"no '{text}' from the CLI:\n{process.Output}");
            await Task.Delay(50);
        }
    }
}
