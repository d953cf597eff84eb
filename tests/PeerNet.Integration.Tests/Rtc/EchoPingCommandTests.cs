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
        Assert.Contains("opened channel 'ping'", echo.Output);
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
