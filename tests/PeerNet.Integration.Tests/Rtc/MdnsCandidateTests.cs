using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using PeerNet.Rtc;
using PeerNet.Signaling;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Rtc;

/// <summary>
/// Chromium as it ships hides its host addresses behind random "&lt;uuid&gt;.local" names and answers
/// for them with multicast DNS (RFC 6762). Our ICE must resolve them, so the pair it selects has
/// Chromium's host candidate rather than a peer-reflexive one learned from its checks.
/// Chromium gathers no loopback candidates for such a page, so the test gives the (loopback-only,
/// test-made) namespace a veth pair (both ends inside it) with a private address and a default route with a private address for the duration of the test;
/// the collection runs alone, so no other test sees it.
/// </summary>
[Collection(SerialBrowserCollection.Name)]
public sealed class MdnsCandidateTests(BrowserFixture browser, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Interface = "pnmdns0";
    private const string Address = "10.254.77.1";

    private TestHub _hub = null!;
    private IBrowser _mdnsBrowser = null!;
    private ILoggerFactory _loggers = null!;

    public async Task InitializeAsync()
    {
        // The fixture has checked that this namespace has nothing but loopback: it is one the tests made.
        await IpAsync("link", "add", Interface, "type", "veth", "peer", "name", Interface + "p");
        await IpAsync("addr", "add", Address + "/24", "dev", Interface);
        await IpAsync("link", "set", Interface, "multicast", "on");
        await IpAsync("link", "set", Interface, "up");
        await IpAsync("link", "set", Interface + "p", "up");
        await IpAsync("route", "add", "224.0.0.0/4", "dev", Interface);
        // Without camera/microphone permission Chromium gathers only the default route's address;
        // the route leads into the veth pair, whose other end (in this namespace) has no address.
        await IpAsync("route", "add", "default", "dev", Interface);
        _hub = await TestHub.StartAsync();
        _mdnsBrowser = await browser.LaunchWithMdnsCandidatesAsync();
        _loggers = LoggerFactory.Create(b => b.AddProvider(new TestOutputLoggerProvider(output)).SetMinimumLevel(LogLevel.Debug));
    }

    public async Task DisposeAsync()
    {
        await _mdnsBrowser.CloseAsync();
        await _hub.DisposeAsync();
        _loggers.Dispose();
        await IpAsync("link", "del", Interface);
    }

    [Fact]
    public async Task ChromiumsLocalNamesAreResolvedWithMulticastDns()
    {
        const string room = "mdns";
        await using var page = await ChromiumEchoPeer.StartAsync(browser, output, _hub.Url, room, "answer", newPage: async () =>
        {
            // No camera/microphone permission: that is when Chromium hides its addresses.
            var context = await _mdnsBrowser.NewContextAsync();
            return await context.NewPageAsync();
        });
        await page.WaitForAsync("joined");
        await using var signaling = new SignalingClient(new SignalingClientOptions { Url = _hub.SignalingUrl }, _loggers.CreateLogger<SignalingClient>());
        await signaling.ConnectAsync();
        await using var peers = new PeerRoom(signaling, room, initiator => new PeerOptions { Initiator = initiator }, _loggers);
        var peer = peers.Connect(Assert.Single(await peers.JoinAsync()));
        try
        {
            await peer.WaitConnectedAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e)
        {
            Assert.Fail($"not connected: {e.Message}\n{await page.DescribeAsync()}");
        }
        // Chromium's checks usually win the race with its trickled ".local" candidate, so the pair
        // starts as peer-reflexive; once the name resolves, the signalled host candidate replaces it.
        var clock = Stopwatch.StartNew();
        var pair = peer.Connection.GetSelectedCandidatePair();
        while (pair?.Remote.CandidateType != "host" && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
            pair = peer.Connection.GetSelectedCandidatePair();
        }
        output.WriteLine($"selected: {pair}");
        output.WriteLine(await page.DescribeAsync());
        Assert.NotNull(pair);
        Assert.Equal("host", pair.Remote.CandidateType);
        Assert.Equal(Address, pair.Remote.Address);
    }

    private async Task IpAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) Assert.Fail($"ip {string.Join(' ', arguments)}: {error.Trim()} (needs root, inside the test namespace)");
    }
}
