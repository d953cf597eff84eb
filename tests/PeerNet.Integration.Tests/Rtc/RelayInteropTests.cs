using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PeerNet.Hub;
using PeerNet.Ice;
using PeerNet.Rtc;
using PeerNet.Signaling;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Rtc;

/// <summary>
/// A C# peer restricted to relayed candidates (IceTransportPolicy.Relay) through the hub's own TURN
/// server, with Chromium (also relay-only) and with aiortc (which has no policy switch, so it gathers
/// host and relayed candidates): data still flows, and it crosses our TURN server.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class RelayInteropTests(BrowserFixture browser, ITestOutputHelper output) : IAsyncLifetime
{
    private TestHub _hub = null!;
    private ILoggerFactory _loggers = null!;

    public async Task InitializeAsync()
    {
        // The relays live on loopback in this namespace: the relay must be allowed to reach them.
        _hub = await TestHub.StartAsync(o => o.Turn.AllowPeers.Add("127.0.0.0/8"));
        _loggers = LoggerFactory.Create(b => b.AddProvider(new TestOutputLoggerProvider(output)).SetMinimumLevel(LogLevel.Information));
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _loggers.Dispose();
    }

    [Theory]
    [InlineData("chromium")]
    [InlineData("aiortc")]
    public async Task ARelayOnlyPeerExchangesDataThroughOurTurnServer(string remote)
    {
        const string room = "relay";
        RemoteEchoPeer echo = remote == "chromium"
            ? await ChromiumEchoPeer.StartAsync(browser, output, _hub.Url, room, "answer", relay: true)
            : AiortcEchoPeer.Start(_hub.SignalingUrl, room, "answer", useHubTurn: true);
        await using var _ = echo;
        await echo.WaitForAsync("joined");

        await using var signaling = new SignalingClient(new SignalingClientOptions { Url = _hub.SignalingUrl }, _loggers.CreateLogger<SignalingClient>());
        await signaling.ConnectAsync();
        Assert.Contains(signaling.IceServers, s => s.Urls.Any(u => u.StartsWith("turn:", StringComparison.Ordinal)));
        // No IceServers of our own: the room hands the peer the hub's, from its welcome.
        await using var peers = new PeerRoom(signaling, room, initiator => new PeerOptions
        {
            Initiator = initiator,
            Configuration = new RtcConfiguration { IceTransportPolicy = IceTransportPolicy.Relay },
        }, _loggers);
        var peer = peers.Connect(Assert.Single(await peers.JoinAsync()));
        try
        {
            await peer.WaitConnectedAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e)
        {
            Assert.Fail($"not connected: {e.Message}\n{await echo.DescribeAsync()}");
        }
        var pair = peer.Connection.GetSelectedCandidatePair();
        output.WriteLine($"selected: {pair}");
        Assert.Equal("relay", pair!.Local.CandidateType);
        if (remote == "chromium") Assert.Equal("relay", pair.Remote.CandidateType);

        // 1 MiB echoed back, byte for byte.
        var data = RandomNumberGenerator.GetBytes(1 << 20);
        var received = new MemoryStream();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Data += (_, e) =>
        {
            lock (received)
            {
                received.Write(e.Data);
                if (received.Length >= data.Length) done.TrySetResult();
            }
        };
        for (var offset = 0; offset < data.Length; offset += 16 * 1024)
            await peer.SendAsync(data.AsMemory(offset, 16 * 1024));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));

        var stats = _hub.Server.Turn!.GetStatistics();
        output.WriteLine($"TURN: {stats.AllocationsCreated} allocations, {stats.BytesToPeers} bytes to peers");
        Assert.True(stats.BytesToPeers >= data.Length, $"only {stats.BytesToPeers} bytes crossed our TURN server");
    }
}
