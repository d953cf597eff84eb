using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PeerNet.Hub;
using PeerNet.Hub.Signaling;
using PeerNet.Signaling;

namespace PeerNet.Tests.Hub;

/// <summary>The hub on a loopback port, spoken to over real WebSockets and HTTP.</summary>
public sealed class HubServerTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly string _dataDir = Directory.CreateTempSubdirectory("peernet-hub-test").FullName;
    private HubServer _hub = null!;

    public async Task InitializeAsync()
    {
        _hub = await StartAsync(new SignalingOptions { IdleTimeout = TimeSpan.FromSeconds(2), ResumeGrace = TimeSpan.FromSeconds(30) });
    }

    private Task<HubServer> StartAsync(SignalingOptions signaling, bool http = true) =>
        HubServer.StartAsync(
            new HubOptions
            {
                Bind = "127.0.0.1",
                Port = 0,
                Http = http,
                DataDir = _dataDir,
                Signaling = signaling,
                IceServers = [new IceServerOptions { Urls = ["stun:127.0.0.1:3478"] }],
            },
            configureLogging: logging => logging.SetMinimumLevel(LogLevel.Warning));

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private SignalingClient NewClient(bool autoReconnect = true) =>
        new(new SignalingClientOptions { Url = _hub.SignalingUrl, AutoReconnect = autoReconnect });

    [Fact]
    public async Task Two_clients_meet_in_a_room_and_signal_each_other()
    {
        await using var a = NewClient();
        await using var b = NewClient();
        await a.ConnectAsync();
        await b.ConnectAsync();
        // The hub's own STUN and TURN entries first, then the configured one.
        Assert.Equal(3, a.IceServers.Count);
        Assert.Equal("stun:127.0.0.1:3478", a.IceServers[2].Urls[0]);
        Assert.EndsWith(":" + a.Id, a.IceServers[1].Username);

        var joined = new TaskCompletionSource<RoomPeerEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var signal = new TaskCompletionSource<SignalReceivedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var left = new TaskCompletionSource<RoomPeerEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.PeerJoined += (_, e) => joined.TrySetResult(e);
        a.SignalReceived += (_, e) => signal.TrySetResult(e);
        a.PeerLeft += (_, e) => left.TrySetResult(e);

        Assert.Empty(await a.JoinAsync("room-1"));
        Assert.Equal([a.Id!], await b.JoinAsync("room-1"));
        Assert.Equal(b.Id, (await joined.Task.WaitAsync(Timeout)).PeerId);

        using var offer = JsonDocument.Parse("""{"type":"offer","sdp":"v=0\r\n"}""");
        await b.SignalAsync(a.Id!, offer.RootElement);
        var got = await signal.Task.WaitAsync(Timeout);
        Assert.Equal(b.Id, got.From);
        Assert.Equal("offer", got.Data.GetProperty("type").GetString());

        await b.LeaveAsync("room-1");
        Assert.Equal(b.Id, (await left.Task.WaitAsync(Timeout)).PeerId);
        Assert.True(await a.PingAsync() < Timeout);
    }

    [Fact]
    public async Task Rejected_requests_throw_typed_errors()
    {
        await using var a = NewClient();
        await a.ConnectAsync();
        var error = await Assert.ThrowsAsync<SignalingException>(() => a.LeaveAsync("not-joined"));
        Assert.Equal(SignalingErrorCode.NotInRoom, error.Code);
        error = await Assert.ThrowsAsync<SignalingException>(() => a.JoinAsync(""));
        Assert.Equal(SignalingErrorCode.BadMessage, error.Code);

        var unknown = new TaskCompletionSource<SignalingException>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Error += (_, e) => unknown.TrySetResult(e);
        using var data = JsonDocument.Parse("1");
        await a.SignalAsync("no-such-peer", data.RootElement);
        Assert.Equal(SignalingErrorCode.UnknownPeer, (await unknown.Task.WaitAsync(Timeout)).Code);
    }

    [Fact]
    public async Task Oversized_and_binary_frames_get_errors_and_the_connection_lives_on()
    {
        using var raw = await RawClient.ConnectAsync(_hub.SignalingUrl);
        var big = Encoding.UTF8.GetBytes("{\"type\":\"ping\",\"pad\":\"" + new string('x', 70 * 1024) + "\"}");
        await raw.Socket.SendAsync(big, WebSocketMessageType.Text, true, default);
        Assert.Equal("too-large", (await raw.ReceiveAsync()).GetProperty("code").GetString());

        await raw.Socket.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, default);
        Assert.Equal("bad-message", (await raw.ReceiveAsync()).GetProperty("code").GetString());

        // A message sent in many small frames is reassembled.
        var parts = Encoding.UTF8.GetBytes("""{"type":"ping","ref":"frag"}""");
        for (var i = 0; i < parts.Length; i++)
            await raw.Socket.SendAsync(parts.AsMemory(i, 1), WebSocketMessageType.Text, i == parts.Length - 1, default);
        var pong = await raw.ReceiveAsync();
        Assert.Equal("pong", pong.GetProperty("type").GetString());
        Assert.Equal("frag", pong.GetProperty("ref").GetString());
    }

    [Fact]
    public async Task A_dropped_client_resumes_its_id_and_gets_what_was_sent_meanwhile()
    {
        using var first = await RawClient.ConnectAsync(_hub.SignalingUrl);
        var id = first.Welcome.GetProperty("id").GetString()!;
        var token = first.Welcome.GetProperty("resume").GetString()!;
        first.Socket.Abort();

        await using var b = NewClient();
        await b.ConnectAsync();
        // Wait until the hub has noticed the drop, then signal the absent peer: it must be queued, not refused.
        var errors = new List<SignalingException>();
        b.Error += (_, e) => { lock (errors) errors.Add(e); };
        using var data = JsonDocument.Parse("""{"n":1}""");
        await b.SignalAsync(id, data.RootElement);
        await b.PingAsync();

        using var second = await RawClient.ConnectAsync(new Uri(_hub.SignalingUrl + "?resume=" + token));
        Assert.Equal(id, second.Welcome.GetProperty("id").GetString());
        Assert.True(second.Welcome.GetProperty("resumed").GetBoolean());
        var queued = await second.ReceiveAsync();
        Assert.Equal("signal", queued.GetProperty("type").GetString());
        Assert.Equal(b.Id, queued.GetProperty("from").GetString());
        Assert.Equal(1, queued.GetProperty("data").GetProperty("n").GetInt32());
        lock (errors) Assert.Empty(errors);
    }

    [Fact]
    public async Task SignalingClient_reconnects_and_keeps_its_id()
    {
        await using var a = NewClient();
        await a.ConnectAsync();
        var id = a.Id;
        var reconnected = new TaskCompletionSource<ReconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Reconnected += (_, e) => reconnected.TrySetResult(e);
        // Make the hub drop it: an idle close (the test hub's idle timeout is 2 s, the client pings every 20 s).
        var result = await reconnected.Task.WaitAsync(Timeout);
        Assert.True(result.Resumed);
        Assert.Equal(id, a.Id);
    }

    [Fact]
    public async Task Idle_connections_are_closed_with_4001()
    {
        using var raw = await RawClient.ConnectAsync(_hub.SignalingUrl);
        using var cts = new CancellationTokenSource(Timeout);
        var buffer = new byte[4096];
        WebSocketReceiveResult result;
        do result = await raw.Socket.ReceiveAsync(buffer, cts.Token);
        while (result.MessageType != WebSocketMessageType.Close);
        Assert.Equal(4001, (int)raw.Socket.CloseStatus!);
    }

    [Fact]
    public async Task Http_endpoints_answer()
    {
        using var http = new HttpClient { BaseAddress = _hub.Url, Timeout = Timeout };
        Assert.Equal("ok", await http.GetStringAsync("/healthz"));
        using var ice = JsonDocument.Parse(await http.GetStringAsync("/api/ice-servers"));
        Assert.Equal("stun:127.0.0.1:3478", ice.RootElement.GetProperty("iceServers")[2].GetProperty("urls")[0].GetString());
        var qr = await http.GetAsync("/api/qr?text=" + Uri.EscapeDataString("https://localhost:8443/#/get/abc/def"));
        Assert.Equal("image/svg+xml", qr.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("<svg", await qr.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/qr?text=" + new string('a', 2000))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/signal")).StatusCode);
        var page = await http.GetAsync("/api/stats");
        Assert.True(page.Headers.Contains("Content-Security-Policy"));
    }

    [Fact]
    public async Task Https_uses_a_self_signed_certificate_made_once_and_kept()
    {
        var dir = Directory.CreateTempSubdirectory("peernet-cert-test").FullName;
        try
        {
            var options = new HubOptions { Bind = "127.0.0.1", Port = 0, DataDir = dir };
            string fingerprint;
            await using (var hub = await HubServer.StartAsync(options, configureLogging: l => l.SetMinimumLevel(LogLevel.Warning)))
            {
                Assert.Equal("https", hub.Url.Scheme);
                Assert.True(hub.CertificateGenerated);
                fingerprint = hub.CertificateSha256!;
                Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", fingerprint);

                await using var client = new SignalingClient(new SignalingClientOptions { Url = hub.SignalingUrl, CertificateSha256 = fingerprint });
                await client.ConnectAsync();
                Assert.NotNull(client.Id);

                await using var wrongPin = new SignalingClient(new SignalingClientOptions { Url = hub.SignalingUrl, CertificateSha256 = new string('0', 64) });
                var error = await Assert.ThrowsAsync<SignalingException>(() => wrongPin.ConnectAsync());
                Assert.Equal("connection", error.Code);
            }
            await using (var again = await HubServer.StartAsync(options, configureLogging: l => l.SetMinimumLevel(LogLevel.Warning)))
            {
                Assert.False(again.CertificateGenerated);
                Assert.Equal(fingerprint, again.CertificateSha256);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_hub_runs_stun_and_turn_and_hands_out_working_time_limited_credentials()
    {
        var (udp, tcp, _) = _hub.TurnPorts!.Value;
        using var http = new HttpClient { BaseAddress = _hub.Url, Timeout = Timeout };
        using var doc = JsonDocument.Parse(await http.GetStringAsync("/api/ice-servers"));
        var servers = doc.RootElement.GetProperty("iceServers");
        Assert.Equal($"stun:127.0.0.1:{udp}", servers[0].GetProperty("urls")[0].GetString());
        var turn = servers[1];
        Assert.Equal([$"turn:127.0.0.1:{udp}?transport=udp", $"turn:127.0.0.1:{tcp}?transport=tcp"],
            turn.GetProperty("urls").EnumerateArray().Select(u => u.GetString()));
        var username = turn.GetProperty("username").GetString()!;
        var expiry = long.Parse(username[..username.IndexOf(':')]);
        Assert.InRange(expiry - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 11 * 3600, 12 * 3600 + 60);
        // The password is the TURN REST API's: base64(HMAC-SHA1(secret, username)), with the secret kept in the data directory.
        var secret = File.ReadAllText(Path.Combine(_dataDir, "turn-secret")).Trim();
        Assert.Equal(PeerNet.Turn.TurnRestCredentials.ComputePassword(secret, username), turn.GetProperty("credential").GetString());

        // And the server answers STUN Binding requests on that port.
        using var socket = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var request = new byte[64];
        var writer = new PeerNet.Stun.StunMessageWriter(request, PeerNet.Stun.StunMethod.Binding, PeerNet.Stun.StunClass.Request, PeerNet.Stun.StunTransactionId.NewRandom());
        writer.AddFingerprint();
        await socket.SendAsync(request.AsMemory(0, writer.Length), new IPEndPoint(IPAddress.Loopback, udp));
        using var cts = new CancellationTokenSource(Timeout);
        var reply = await socket.ReceiveAsync(cts.Token);
        Assert.True(PeerNet.Stun.StunMessageReader.TryParse(reply.Buffer, out var response, out var error), error.ToString());
        Assert.True(response.TryGetXorMappedAddress(out var mapped));
        Assert.Equal(((IPEndPoint)socket.Client.LocalEndPoint!).Port, mapped.Port);
    }

    [Fact]
    public async Task A_busy_turn_port_is_a_clear_error()
    {
        using var busy = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)busy.Client.LocalEndPoint!).Port;
        var error = await Assert.ThrowsAsync<HubConfigurationException>(() => HubServer.StartAsync(
            new HubOptions { Bind = "127.0.0.1", Port = 0, Http = true, DataDir = _dataDir, Turn = { Port = port } },
            configureLogging: l => l.SetMinimumLevel(LogLevel.Warning)));
        Assert.Contains("STUN/TURN", error.Message);
        Assert.Contains("--turn-port", error.Message);
    }

    [Fact]
    public async Task No_turn_means_no_stun_or_turn_entries()
    {
        await using var hub = await HubServer.StartAsync(
            new HubOptions { Bind = "127.0.0.1", Port = 0, Http = true, DataDir = _dataDir, Turn = { Enabled = false } },
            configureLogging: l => l.SetMinimumLevel(LogLevel.Warning));
        Assert.Null(hub.TurnPorts);
        using var http = new HttpClient { BaseAddress = hub.Url, Timeout = Timeout };
        Assert.Equal("""{"iceServers":[]}""", await http.GetStringAsync("/api/ice-servers"));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("0.0.0.0")]
    [InlineData("192.0.2.1")]
    public async Task Plain_http_is_refused_off_loopback(string bind)
    {
        var error = await Assert.ThrowsAsync<HubConfigurationException>(() =>
            HubServer.StartAsync(new HubOptions { Bind = bind, Port = 0, Http = true, DataDir = _dataDir }));
        Assert.Contains("loopback", error.Message);
    }

    [Fact]
    public async Task Half_a_pem_pair_is_a_clear_error()
    {
        var error = await Assert.ThrowsAsync<HubConfigurationException>(() =>
            HubServer.StartAsync(new HubOptions { Bind = "127.0.0.1", Port = 0, DataDir = _dataDir, CertPath = "/nonexistent.pem" }));
        Assert.Contains("--key", error.Message);
    }

    /// <summary>A bare WebSocket, for saying what a well-behaved client would not.</summary>
    private sealed class RawClient : IDisposable
    {
        private RawClient(ClientWebSocket socket, JsonElement welcome)
        {
            Socket = socket;
            Welcome = welcome;
        }

        public ClientWebSocket Socket { get; }
        public JsonElement Welcome { get; }

        public static async Task<RawClient> ConnectAsync(Uri url)
        {
            var socket = new ClientWebSocket();
            using var cts = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(url, cts.Token);
            var welcome = await ReceiveAsync(socket);
            Assert.Equal("welcome", welcome.GetProperty("type").GetString());
            return new RawClient(socket, welcome);
        }

        public Task<JsonElement> ReceiveAsync() => ReceiveAsync(Socket);

        private static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket)
        {
            using var cts = new CancellationTokenSource(Timeout);
            var buffer = new byte[64 * 1024];
            var count = 0;
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(count), cts.Token);
                Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
                count += result.Count;
                if (result.EndOfMessage) return JsonDocument.Parse(buffer.AsMemory(0, count)).RootElement.Clone();
            }
        }

        public void Dispose() => Socket.Dispose();
    }
}
