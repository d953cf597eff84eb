using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PeerNet.Dtls;
using PeerNet.Ice;
using PeerNet.Rtc;
using PeerNet.Signaling;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Rtc;

/// <summary>
/// Server-side ICE on one UDP port (<see cref="IceUdpMux"/>): many of our peer connections in one process
/// answer on the same port, and Chromium and aiortc connect to a mux-backed peer as to any other.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class UdpMuxInteropTests(BrowserFixture browser, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(60);
    private readonly List<IAsyncDisposable> _cleanup = [];
    private ILoggerFactory _loggers = null!;

    public Task InitializeAsync()
    {
        _loggers = LoggerFactory.Create(b => b.AddProvider(new TestOutputLoggerProvider(output)).SetMinimumLevel(LogLevel.Information));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            try { await _cleanup[i].DisposeAsync(); } catch (Exception e) { output.WriteLine($"cleanup: {e.Message}"); }
        }
        _loggers.Dispose();
    }

    [Fact]
    public async Task FiftyConnectionsAnswerOnOnePortAndEchoByteForByte()
    {
        const int count = 50;
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) });
        var certificate = RtcCertificate.Generate();
        var serverConfiguration = new RtcConfiguration { IceUdpMux = mux, Certificates = [certificate] };
        var clientConfiguration = new RtcConfiguration { AllowedLocalAddresses = [IPAddress.Loopback], IncludeLoopbackCandidates = true };
        var servers = new List<RtcPeerConnection>();
        var clients = new List<RtcPeerConnection>();
        try
        {
            var sessions = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                var server = new RtcPeerConnection(serverConfiguration);
                var client = new RtcPeerConnection(clientConfiguration);
                lock (servers)
                {
                    servers.Add(server);
                    clients.Add(client);
                }

                server.DataChannel += (_, channel) => channel.Message += (_, e) =>
                {
                    if (e.IsText) channel.Send(e.Text);
                    else channel.Send(e.Data);
                };
                var channel = client.CreateDataChannel("echo-" + i);
                var probe = new ChannelProbe(channel);
                var toServer = new RtcCandidateRelay(client, server);
                var toClient = new RtcCandidateRelay(server, client);
                var offer = await client.CreateOfferAsync();
                await client.SetLocalDescriptionAsync(offer);
                await server.SetRemoteDescriptionAsync(offer);
                toServer.RemoteDescriptionSet();
                var answer = await server.CreateAnswerAsync();
                await server.SetLocalDescriptionAsync(answer);
                await client.SetRemoteDescriptionAsync(answer);
                toClient.RemoteDescriptionSet();
                await probe.Opened.Task.WaitAsync(ConnectTimeout);
                return (Server: server, Probe: probe);
            }));

            Assert.Equal(count, mux.ConnectionCount);
            foreach (var (server, _) in sessions)
            {
                var pair = server.GetSelectedCandidatePair();
                Assert.NotNull(pair);
                Assert.Equal(mux.LocalEndPoint.Port, pair.Local.Port);
            }

            // Every channel at once: messages of many sizes, echoed in order and byte for byte.
            var random = new Random(7);
            int[] sizes = [1, 17, 1200, 4096, 16 * 1024, 64 * 1024, 0, 3];
            await Task.WhenAll(sessions.Select(async s =>
            {
                var sent = sizes.Select(size => RandomNumberGenerator.GetBytes(size)).ToList();
                foreach (var message in sent) s.Probe.Channel.Send(message);
                s.Probe.Channel.Send("text ✓");
                var echoed = await s.Probe.TakeAsync(sent.Count + 1, TimeSpan.FromSeconds(60));
                for (var k = 0; k < sent.Count; k++) Assert.Equal(sent[k], echoed[k].Data);
                Assert.Equal("text ✓", echoed[^1].Text);
            }));
            output.WriteLine($"{count} connections on {mux.LocalEndPoint}: received {mux.Statistics.DatagramsReceived}, sent {mux.Statistics.DatagramsSent}, " +
                $"by ufrag {mux.Statistics.RoutedByUfrag}, by transaction {mux.Statistics.RoutedByTransaction}, by address {mux.Statistics.RoutedByAddress}, dropped {mux.Statistics.DroppedTotal}");
            Assert.Equal(count, mux.RemoteAddressCount);
        }
        finally
        {
            foreach (var c in clients.Concat(servers)) await c.DisposeAsync();
        }

        Assert.Equal(0, mux.ConnectionCount);
        Assert.Equal(0, mux.UfragCount);
        Assert.Equal(0, mux.RemoteAddressCount);
    }

    public static TheoryData<string, bool> Matrix => new()
    {
        { "aiortc", true }, { "aiortc", false }, { "chromium", true }, { "chromium", false },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task IndependentStacksConnectToAMuxBackedPeer(string remote, bool csharpOffers)
    {
        var hub = await TestHub.StartAsync();
        _cleanup.Add(hub);
        var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, _loggers.CreateLogger("mux"));
        _cleanup.Add(mux);
        var signaling = new SignalingClient(new SignalingClientOptions { Url = hub.SignalingUrl }, _loggers.CreateLogger<SignalingClient>());
        _cleanup.Add(signaling);
        await signaling.ConnectAsync();
        var room = "mux-" + Guid.NewGuid().ToString("N")[..8];
        var peers = new PeerRoom(signaling, room, initiator => new PeerOptions
        {
            Initiator = initiator,
            ChannelLabel = "reliable",
            Configuration = new RtcConfiguration { IceUdpMux = mux },
        }, _loggers) { UseHubIceServers = false };
        _cleanup.Add(peers);
        var channels = RemoteEchoPeer.ChannelsJson([new { label = "reliable" }]);

        Peer peer;
        RemoteEchoPeer remotePeer;
        if (csharpOffers)
        {
            remotePeer = await StartRemoteAsync(remote, hub, room, "answer", channels);
            await remotePeer.WaitForAsync("joined");
            var present = await peers.JoinAsync();
            peer = peers.Connect(Assert.Single(present));
        }
        else
        {
            var accepted = new TaskCompletionSource<Peer>(TaskCreationOptions.RunContinuationsAsynchronously);
            peers.PeerAccepted += (_, e) => accepted.TrySetResult(e.Peer);
            await peers.JoinAsync();
            remotePeer = await StartRemoteAsync(remote, hub, room, "offer", channels);
            peer = await accepted.Task.WaitAsync(ConnectTimeout);
        }

        var received = new ConcurrentQueue<RtcDataChannelMessageEventArgs>();
        var arrived = new SemaphoreSlim(0);
        peer.Data += (_, e) =>
        {
            received.Enqueue(e);
            arrived.Release();
        };
        try
        {
            await peer.WaitConnectedAsync().WaitAsync(ConnectTimeout);
        }
        catch (Exception e)
        {
            Assert.Fail($"not connected ({e.GetType().Name}: {e.Message}); ICE {peer.Connection.IceConnectionState}\n" +
                $"local: {peer.Connection.LocalDescription?.Sdp}\nremote: {peer.Connection.RemoteDescription?.Sdp}\n{await remotePeer.DescribeAsync()}");
        }

        var pair = peer.Connection.GetSelectedCandidatePair();
        output.WriteLine($"{remote} connected over {pair}");
        Assert.NotNull(pair);
        Assert.Equal(mux.LocalEndPoint.Port, pair.Local.Port);

        var maxSize = remote == "aiortc" ? 64 * 1024 : 256 * 1024;
        var sent = new[] { 1, 1000, 16 * 1024, maxSize }.Select(RandomNumberGenerator.GetBytes).ToList();
        foreach (var message in sent) peer.Send(message);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (var i = 0; i < sent.Count; i++)
        {
            await arrived.WaitAsync(timeout.Token);
            Assert.True(received.TryDequeue(out var echo));
            Assert.Equal(sent[i], echo.Data);
        }

        Assert.Equal(1, mux.ConnectionCount);
        Assert.Equal(0, mux.Statistics.Dropped(IceUdpMuxDropReason.HandlerFailed));
        output.WriteLine($"mux: received {mux.Statistics.DatagramsReceived}, by ufrag {mux.Statistics.RoutedByUfrag}, by transaction {mux.Statistics.RoutedByTransaction}, " +
            $"by address {mux.Statistics.RoutedByAddress}, dropped {mux.Statistics.DroppedTotal}");
    }

    private async Task<RemoteEchoPeer> StartRemoteAsync(string remote, TestHub hub, string room, string role, string channels)
    {
        RemoteEchoPeer peer = remote == "aiortc"
            ? AiortcEchoPeer.Start(hub.SignalingUrl, room, role, channels)
            : await ChromiumEchoPeer.StartAsync(browser, output, hub.Url, room, role, channels);
        _cleanup.Add(peer);
        return peer;
    }
}
