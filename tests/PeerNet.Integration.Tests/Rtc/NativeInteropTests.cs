using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using PeerNet.Rtc;
using PeerNet.Signaling;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Rtc;

/// <summary>
/// PeerNet's own WebRTC stack (SDP, ICE, DTLS, SCTP, DCEP) against two independent ones —
/// headless Chromium and aiortc — in both roles, over a real hub on loopback.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class NativeInteropTests(BrowserFixture browser, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);
    private static readonly object[] RemoteChannels =
    [
        new { label = "reliable" },
        new { label = "unordered", ordered = false },
        new { label = "unreliable", ordered = false, maxRetransmits = 0 },
    ];

    private TestHub _hub = null!;
    private ILoggerFactory _loggers = null!;
    private readonly List<IAsyncDisposable> _cleanup = [];

    public static TheoryData<string, bool> Matrix => new()
    {
        { "aiortc", true }, { "aiortc", false }, { "chromium", true }, { "chromium", false },
    };

    public async Task InitializeAsync()
    {
        _hub = await TestHub.StartAsync();
        _loggers = LoggerFactory.Create(b => b.AddProvider(new TestOutputLoggerProvider(output)).SetMinimumLevel(LogLevel.Debug));
    }

    public async Task DisposeAsync()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            try { await _cleanup[i].DisposeAsync(); } catch (Exception e) { output.WriteLine($"cleanup: {e.Message}"); }
        }
        await _hub.DisposeAsync();
        _loggers.Dispose();
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task MessagesOfEverySizeOnSeveralChannels(string remote, bool csharpOffers)
    {
        var session = await ConnectAsync(remote, csharpOffers);
        var maxSize = remote == "aiortc" ? 64 * 1024 : 256 * 1024;
        int[] sizes = [0, 1, 16 * 1024, 64 * 1024, maxSize];
        foreach (var label in new[] { "reliable", "unordered", "unreliable" })
        {
            var probe = session.Probe(label);
            var sent = new List<byte[]>();
            foreach (var size in sizes.Distinct())
            {
                var message = RandomNumberGenerator.GetBytes(size);
                sent.Add(message);
                probe.Channel.Send(message);
            }
            probe.Channel.Send("text ✓");
            probe.Channel.Send("");
            var sentHashes = sent.Select(m => Convert.ToHexString(SHA256.HashData(m))).Order().ToList();
            if (label == "unreliable")
            {
                // maxRetransmits: 0 may lose a message even on loopback (a 256 KiB message is some
                // 220 packets, none of which is sent twice): what arrives must be intact, and the
                // channel must still carry messages afterwards.
                var arrived = await probe.TakeUpToAsync(sent.Count + 2, TimeSpan.FromSeconds(5));
                foreach (var m in arrived.Where(m => !m.IsText)) Assert.Contains(Convert.ToHexString(SHA256.HashData(m.Data)), sentHashes);
                output.WriteLine($"unreliable: {arrived.Count} of {sent.Count + 2} echoes arrived");
                await probe.AssertStillEchoesAsync(TimeSpan.FromSeconds(15));
                continue;
            }
            var echoed = await probe.TakeAsync(sent.Count + 2, TimeSpan.FromSeconds(30));
            var binary = echoed.Where(m => !m.IsText).Select(m => Convert.ToHexString(SHA256.HashData(m.Data))).Order().ToList();
            Assert.Equal(sentHashes, binary);
            Assert.Contains(echoed, m => m.IsText && m.Text == "text ✓");
            Assert.Contains(echoed, m => m.IsText && m.Data.Length == 0); // an empty string stays an empty string (PPID 56)
            if (label == "reliable")
            {
                // Ordered: the echoes come back in the order sent.
                Assert.Equal(sent.Select(m => m.Length), echoed.Where(m => !m.IsText).Select(m => m.Data.Length));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task TenMebibytesEachWayByteForByte(string remote, bool csharpOffers)
    {
        var session = await ConnectAsync(remote, csharpOffers);
        var probe = session.Probe("reliable");
        var data = RandomNumberGenerator.GetBytes(10 * 1024 * 1024);
        const int chunk = 16 * 1024;
        var sending = Task.Run(async () =>
        {
            for (var offset = 0; offset < data.Length; offset += chunk)
                await probe.Channel.SendAsync(data.AsMemory(offset, Math.Min(chunk, data.Length - offset)), highWaterMark: 1 << 20);
        });
        var received = await probe.TakeBytesAsync(data.Length, TimeSpan.FromSeconds(120));
        await sending;
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received));
    }

    /// <summary>
    /// ICE restart (RFC 8445 §9) with Chromium, started by each side in turn: new credentials through a new
    /// offer on the live connection, channels stay open, nothing sent meanwhile is lost. (aiortc 1.4 does
    /// not implement ICE restart, so it is not in this matrix.)
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task IceRestartFromEitherSideKeepsTheChannels(bool csharpOffers)
    {
        var session = await ConnectAsync("chromium", csharpOffers);
        var connection = session.Peer.Connection;
        var reliable = session.Probe("reliable");
        static string Ufrag(RtcSessionDescriptionInit? d) => System.Text.RegularExpressions.Regex.Match(d!.Sdp, @"a=ice-ufrag:(\S+)").Groups[1].Value;

        // Messages in flight across both restarts must all come back, in order.
        const int Count = 400;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i++)
            {
                reliable.Channel.Send($"seq {i}");
                await Task.Delay(10);
            }
        });

        // We restart: our new offer, Chromium answers with new credentials of its own.
        var ours = Ufrag(connection.LocalDescription);
        var theirs = Ufrag(connection.RemoteDescription);
        await session.Peer.RestartIceAsync();
        var answered = await session.Remote.WaitForAsync("answered", e => e.GetProperty("remoteUfrag").GetString() != ours, ConnectTimeout);
        Assert.NotEqual(ours, Ufrag(connection.LocalDescription));
        Assert.Equal(Ufrag(connection.LocalDescription), answered.GetProperty("remoteUfrag").GetString());
        Assert.NotEqual(theirs, answered.GetProperty("ufrag").GetString());
        var deadline = DateTime.UtcNow + ConnectTimeout;
        while (Ufrag(connection.RemoteDescription) == theirs && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(answered.GetProperty("ufrag").GetString(), Ufrag(connection.RemoteDescription));
        await Task.Delay(1000);

        // Chromium restarts: its new offer, we answer with new credentials.
        ours = Ufrag(connection.LocalDescription);
        reliable.Channel.Send("__cmd:restart-ice");
        var offered = await session.Remote.WaitForAsync("restart-offered", null, ConnectTimeout);
        deadline = DateTime.UtcNow + ConnectTimeout;
        while (Ufrag(connection.RemoteDescription) != offered.GetProperty("ufrag").GetString() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(offered.GetProperty("ufrag").GetString(), Ufrag(connection.RemoteDescription));
        while (Ufrag(connection.LocalDescription) == ours && DateTime.UtcNow < deadline) await Task.Delay(20);
        var answer = Ufrag(connection.LocalDescription);
        Assert.NotEqual(ours, answer); // we restarted too
        await session.Remote.WaitForAsync("answer-applied", e => e.TryGetProperty("remoteUfrag", out var u) && u.GetString() == answer, ConnectTimeout);

        await sending;
        var echoed = await reliable.TakeAsync(Count, ConnectTimeout);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"seq {i}"), echoed.Select(m => m.Text));
        foreach (var label in new[] { "unordered", "unreliable" }) await session.Probe(label).AssertStillEchoesAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(RtcPeerConnectionState.Connected, connection.ConnectionState);
        Assert.False(await session.Remote.HasEventAsync("connectionstatechange", e => e.GetProperty("state").GetString() is "failed" or "disconnected"),
            await session.Remote.DescribeAsync());
        output.WriteLine($"after two restarts: {connection.GetSelectedCandidatePair()}");
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task ChannelsCloseFromEitherSide(string remote, bool csharpOffers)
    {
        var session = await ConnectAsync(remote, csharpOffers);
        // We close "unordered"; the remote sees it close.
        var ours = session.Probe("unordered");
        ours.Channel.Close();
        await ours.WaitClosedAsync(TimeSpan.FromSeconds(15));
        await session.Remote.WaitForAsync("close", e => e.GetProperty("label").GetString() == "unordered");
        // The remote closes "unreliable" when told to; we see it close.
        var theirs = session.Probe("unreliable");
        theirs.Channel.Send("__cmd:close");
        await theirs.WaitClosedAsync(TimeSpan.FromSeconds(15));
        // The other channel is unaffected.
        var reliable = session.Probe("reliable");
        reliable.Channel.Send("still here");
        Assert.Equal("still here", (await reliable.TakeAsync(1, TimeSpan.FromSeconds(10)))[0].Text);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task NegotiatedChannelsNeedNoHandshake(string remote, bool csharpOffers)
    {
        var session = await ConnectAsync(remote, csharpOffers);
        // Both sides create stream 42 themselves (no DATA_CHANNEL_OPEN): we here, the remote on command.
        var ours = session.Peer.Connection.CreateDataChannel("agreed", new RtcDataChannelInit { Negotiated = true, Id = 42 });
        session.Track(ours);
        session.Probe("reliable").Channel.Send("__cmd:open:{\"label\":\"agreed\",\"negotiated\":true,\"id\":42}");
        await session.Remote.WaitForAsync("open", e => e.GetProperty("label").GetString() == "agreed");
        await session.WaitOpenAsync("agreed", TimeSpan.FromSeconds(10));
        var probe = session.Probe("agreed");
        probe.Channel.Send("over an agreed stream");
        Assert.Equal("over an agreed stream", (await probe.TakeAsync(1, TimeSpan.FromSeconds(10)))[0].Text);
        Assert.Equal((ushort)42, ours.Id);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SendingMoreThanAiortcsMaxMessageSizeFailsAtSend(bool csharpOffers)
    {
        var session = await ConnectAsync("aiortc", csharpOffers);
        Assert.Equal(65536, session.Peer.Connection.RemoteMaxMessageSize);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => session.Probe("reliable").Channel.Send(new byte[65537]));
        Assert.Contains("max-message-size of 65536", error.Message);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task AForgedFingerprintFailsTheConnection(string remote, bool csharpOffers)
    {
        var started = await StartAsync(remote, csharpOffers, forgeFingerprint: true);
        var (peer, remotePeer) = (started.Peer, started.Remote);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => peer.WaitConnectedAsync().WaitAsync(ConnectTimeout));
        output.WriteLine($"failed as expected: {error.Message}");
        var rtc = Assert.IsType<RtcConnectionException>(error);
        Assert.Equal(RtcFailureLayer.Dtls, rtc.Layer);
        Assert.Contains("fingerprint", rtc.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(await remotePeer.HasEventAsync("open"), $"{remotePeer.Name} opened a channel despite the forged fingerprint");
    }

    private async Task<Session> ConnectAsync(string remote, bool csharpOffers)
    {
        var session = await StartAsync(remote, csharpOffers, forgeFingerprint: false);
        var (peer, remotePeer) = (session.Peer, session.Remote);
        try
        {
            await peer.WaitConnectedAsync().WaitAsync(ConnectTimeout);
        }
        catch (Exception e)
        {
            Assert.Fail($"not connected ({e.GetType().Name}: {e.Message}); ICE {peer.Connection.IceConnectionState}, " +
                $"connection {peer.Connection.ConnectionState}\nlocal: {peer.Connection.LocalDescription?.Sdp}\nremote: {peer.Connection.RemoteDescription?.Sdp}\n{await remotePeer.DescribeAsync()}");
        }
        output.WriteLine($"connected over {peer.Connection.GetSelectedCandidatePair()}, DTLS {peer.Connection.DtlsCipherSuite}");
        if (csharpOffers)
        {
            // Our offer carried "reliable"; open the other two in-band (DCEP) on the live association.
            session.Track(peer.Connection.CreateDataChannel("unordered", new RtcDataChannelInit { Ordered = false }));
            session.Track(peer.Connection.CreateDataChannel("unreliable", new RtcDataChannelInit { Ordered = false, MaxRetransmits = 0 }));
        }
        foreach (var label in new[] { "reliable", "unordered", "unreliable" })
        {
            await session.WaitOpenAsync(label, ConnectTimeout);
            if (csharpOffers) await remotePeer.WaitForAsync("datachannel", e => e.GetProperty("label").GetString() == label);
        }
        if (!csharpOffers)
        {
            var unreliable = session.Probe("unreliable").Channel;
            Assert.False(unreliable.Ordered);
            Assert.Equal(0, unreliable.MaxRetransmits);
        }
        return session;
    }

    private async Task<Session> StartAsync(string remote, bool csharpOffers, bool forgeFingerprint)
    {
        var room = "interop-" + Guid.NewGuid().ToString("N")[..8];
        var signaling = new SignalingClient(new SignalingClientOptions { Url = _hub.SignalingUrl }, _loggers.CreateLogger<SignalingClient>());
        _cleanup.Add(signaling);
        await signaling.ConnectAsync();
        var options = (bool initiator) => new PeerOptions
        {
            Initiator = initiator,
            ChannelLabel = "reliable",
            Configuration = new RtcConfiguration { IncludeLoopbackCandidates = true },
        };
        var peers = new PeerRoom(signaling, room, options, _loggers);
        _cleanup.Add(peers);
        var channels = RemoteEchoPeer.ChannelsJson(RemoteChannels);
        if (csharpOffers)
        {
            var remotePeer = await StartRemoteAsync(remote, room, "answer", channels, forgeFingerprint);
            await remotePeer.WaitForAsync("joined");
            var present = await peers.JoinAsync();
            return new Session(peers.Connect(Assert.Single(present))) { Remote = remotePeer };
        }
        // The session subscribes to the peer's channels as soon as it exists, before the offer is
        // applied: a channel the remote opens must not be announced to nobody.
        var accepted = new TaskCompletionSource<Session>(TaskCreationOptions.RunContinuationsAsynchronously);
        peers.PeerAccepted += (_, e) => accepted.TrySetResult(new Session(e.Peer));
        await peers.JoinAsync();
        var offerer = await StartRemoteAsync(remote, room, "offer", channels, forgeFingerprint);
        var session = await accepted.Task.WaitAsync(ConnectTimeout);
        session.Remote = offerer;
        return session;
    }

    private async Task<RemoteEchoPeer> StartRemoteAsync(string remote, string room, string role, string channels, bool forge)
    {
        RemoteEchoPeer peer = remote == "aiortc"
            ? AiortcEchoPeer.Start(_hub.SignalingUrl, room, role, channels, forge)
            : await ChromiumEchoPeer.StartAsync(browser, output, _hub.Url, room, role, channels, forge);
        _cleanup.Add(peer);
        return peer;
    }

    /// <summary>Our side of a connected pair: every channel, by label, with what arrived on it.</summary>
    private sealed class Session
    {
        private readonly ConcurrentDictionary<string, ChannelProbe> _probes = new();

        public Session(Peer peer)
        {
            Peer = peer;
            if (peer.Channel is { } first) Track(first);
            peer.Connection.DataChannel += (_, channel) => Track(channel);
        }

        public Peer Peer { get; }

        public RemoteEchoPeer Remote { get; set; } = null!;

        public void Track(RtcDataChannel channel) => _probes.GetOrAdd(channel.Label, _ => new ChannelProbe(channel));

        public ChannelProbe Probe(string label) =>
            _probes.TryGetValue(label, out var probe) ? probe : throw new InvalidOperationException($"no channel '{label}' (have {string.Join(", ", _probes.Keys)})");

        public async Task WaitOpenAsync(string label, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!(_probes.TryGetValue(label, out var probe) && probe.Channel.ReadyState == RtcDataChannelState.Open))
            {
                if (DateTime.UtcNow > deadline) Assert.Fail($"channel '{label}' did not open (have {string.Join(", ", _probes.Select(p => $"{p.Key}={p.Value.Channel.ReadyState}"))})");
                await Task.Delay(20);
            }
        }
    }
}
