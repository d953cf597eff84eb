using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Integration.Tests.Turn;

/// <summary>
/// Hostile input over real sockets: each gets the right error code or a silent drop, and the
/// server keeps serving other clients throughout. And relay sends that fail (toward one peer)
/// do not break the allocation.
/// </summary>
public class TurnHostileLoopbackTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    // 1: the batched UDP loop (Linux); 0: the portable asynchronous socket loops.
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public async Task Errors_and_silent_drops_over_udp_while_another_client_keeps_relaying(int udpIoThreads)
    {
        var clock = new ShiftedTimeProvider();
        await using var host = await TurnLoopback.StartHostAsync(o => o.UdpIoThreads = udpIoThreads, time: clock);
        var server = host.UdpEndPoints[0];
        using var echo = new EchoPeer();

        // A well-behaved client relaying through a channel throughout.
        await using var good = await LoopbackTurnClient.ConnectAsync(server, tcp: false);
        await good.AllocateAsync();
        Assert.Equal(StunClass.SuccessResponse, (await good.ChannelBindAsync(0x4000, echo.Address)).Class);
        var round = 0;
        async Task GoodClientStillRelays()
        {
            var payload = BitConverter.GetBytes(++round).Concat(new byte[200]).ToArray();
            await good.SendChannelDataAsync(0x4000, payload);
            var back = await good.ReceiveRelayedAsync(TimeSpan.FromSeconds(3));
            Assert.NotNull(back);
            Assert.Equal(0x4000, LoopbackTurnClient.ReadChannel(back));
            Assert.Equal(payload, LoopbackTurnClient.Payload(back));
        }

        await GoodClientStillRelays();
        await using var bad = await LoopbackTurnClient.ConnectAsync(server, tcp: false);

        // Unauthenticated: 401 with REALM and NONCE.
        var challenge = await bad.RequestAsync(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp), sign: false);
        Assert.Equal(401, challenge.ErrorCode);
        bad.Nonce = challenge.Attribute(StunAttributeType.Nonce);
        bad.Realm = "peernet.test";

        // Wrong password: 401.
        bad.Password = "wrong";
        Assert.Equal(401, (await bad.TransactAsync(bad.Build(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp), signed: true))).ErrorCode);
        bad.Password = TurnLoopback.Password;

        // Bad integrity (a covered byte flipped after signing): 401.
        var tampered = bad.Build(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(StunTransportProtocol.Udp);
            w.AddLifetime(600);
        }, signed: true);
        tampered[35] ^= 0x01; // the last byte of LIFETIME's value
        Assert.Equal(401, (await bad.TransactAsync(tampered)).ErrorCode);

        // Unknown comprehension-required attribute: 420 listing it.
        var unknown = await bad.TransactAsync(bad.Build(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(StunTransportProtocol.Udp);
            w.AddAttribute((StunAttributeType)0x0055, [1, 2, 3, 4]);
        }, signed: true));
        Assert.Equal(420, unknown.ErrorCode);
        Assert.Equal([0x00, 0x55], unknown.Attribute(StunAttributeType.UnknownAttributes));
        await GoodClientStillRelays();

        // A relay for the bad client, then a permission for a refused range: 403.
        await bad.AllocateAsync();
        Assert.Equal(403, (await bad.CreatePermissionAsync(TurnLoopbackTestsPeers.Private)).ErrorCode);
        Assert.Equal(403, (await bad.ChannelBindAsync(0x4001, TurnLoopbackTestsPeers.LinkLocal)).ErrorCode);

        // Stale nonce: eleven minutes later (the allocations were refreshed meanwhile), 438 and a fresh nonce.
        Assert.Equal(StunClass.SuccessResponse, (await good.RequestAsync(StunMethod.Refresh, (ref StunMessageWriter w) => w.AddLifetime(3600))).Class);
        Assert.Equal(StunClass.SuccessResponse, (await bad.RequestAsync(StunMethod.Refresh, (ref StunMessageWriter w) => w.AddLifetime(3600))).Class);
        clock.Shift(TimeSpan.FromMinutes(11));
        var stale = await bad.TransactAsync(bad.Build(StunMethod.Refresh, null, signed: true));
        Assert.Equal(438, stale.ErrorCode);
        Assert.NotEqual(bad.Nonce, stale.Attribute(StunAttributeType.Nonce));
        Assert.Equal(StunClass.SuccessResponse, (await bad.RequestAsync(StunMethod.Refresh)).Class); // retried with the new nonce

        // The good client's channel and permission expired in those eleven minutes: it binds again (438, then success).
        Assert.Equal(StunClass.SuccessResponse, (await good.ChannelBindAsync(0x4000, echo.Address)).Class);
        await GoodClientStillRelays();

        // Garbage, truncated and random datagrams, ChannelData for an unbound channel: silence.
        // Every 20 junk pairs a Binding transaction paces the burst (the socket buffer would drop
        // the excess, which proves nothing) and shows the server still answers.
        var random = new Random(7);
        var valid = bad.Build(StunMethod.Binding, null, signed: false);
        var sync = bad.Build(StunMethod.Binding, (ref StunMessageWriter w) => w.AddSoftware(new string('s', 40)), signed: false);
        for (var i = 0; i < 200; i++)
        {
            var junk = new byte[random.Next(1, 120)];
            random.NextBytes(junk);
            await bad.SendRawAsync(junk);
            await bad.SendRawAsync(valid.AsSpan(0, random.Next(1, valid.Length)).ToArray());
            if (i % 20 == 19)
            {
                Assert.Equal(StunClass.SuccessResponse, (await bad.TransactAsync(sync)).Class);
            }
        }

        await bad.SendChannelDataAsync(0x4ABC, [1, 2, 3, 4]);
        Assert.Equal(StunClass.SuccessResponse, (await bad.TransactAsync(sync)).Class);
        Assert.Null(await bad.ReceiveRelayedAsync(Quiet));
        await GoodClientStillRelays();

        var statistics = host.GetStatistics();
        Assert.True(statistics.Dropped[TurnDropReason.Malformed] >= 200);
        Assert.True(statistics.Dropped[TurnDropReason.UnboundChannel] >= 1);
        Assert.True(statistics.Dropped[TurnDropReason.StaleNonce] >= 1);
        Assert.True(statistics.Dropped[TurnDropReason.ForbiddenPeer] >= 2);

        // And plain STUN still answers.
        var binding = await bad.TransactAsync(bad.Build(StunMethod.Binding, null, signed: false));
        Assert.Equal(StunAddress.FromIPEndPoint(bad.LocalEndPoint), binding.XorAddress(StunAttributeType.XorMappedAddress));
    }

    [Fact]
    public async Task Broken_stream_framing_closes_only_that_connection()
    {
        await using var host = await TurnLoopback.StartHostAsync();
        await using var good = await LoopbackTurnClient.ConnectAsync(host.TcpEndPoints[0], tcp: true);
        await good.AllocateAsync();

        await using var bad = await LoopbackTurnClient.ConnectAsync(host.TcpEndPoints[0], tcp: true);
        await bad.SendRawAsync([0xC0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);
        Assert.True(await bad.WaitClosedAsync(TimeSpan.FromSeconds(5)));

        Assert.Equal(StunClass.SuccessResponse, (await good.RequestAsync(StunMethod.Refresh)).Class);
        Assert.Equal(1, host.GetStatistics().Allocations);
    }

    [Fact]
    public async Task Udp_responses_to_unauthenticated_requests_stay_within_the_budget()
    {
        await using var host = await TurnLoopback.StartHostAsync(o => o.OversizeResponsesPerSecondPerAddress = 2);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var request = new byte[20];
        new StunMessageWriter(request, StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom()).TryGetMessage(out _);

        for (var i = 0; i < 6; i++)
        {
            await socket.SendToAsync(request, host.UdpEndPoints[0]);
        }

        var answers = 0;
        var buffer = new byte[2048];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, cts.Token);
                Assert.Equal(32, received); // XOR-MAPPED-ADDRESS only: nothing optional
                answers++;
            }
        }
        catch (OperationCanceledException)
        {
        }

        Assert.InRange(answers, 1, 4); // 2 per second (the burst may straddle a second boundary)
        Assert.True(host.GetStatistics().Dropped[TurnDropReason.AmplificationLimit] >= 2);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    [InlineData(true, 0)]
    public async Task A_failed_relay_send_does_not_break_the_allocation(bool tcp, int udpIoThreads)
    {
        // Sends that fail locally, without any packet leaving loopback: the broadcast address without
        // SO_BROADCAST (EACCES), a datagram larger than UDP allows (EMSGSIZE, only a TCP client can
        // hand the server one), and, when this host has no route to TEST-NET-1, network unreachable.
        await using var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.AllowedPeerRanges.Add(IPNetwork.Parse("255.255.255.255/32"));
            o.AllowedPeerRanges.Add(IPNetwork.Parse("192.0.2.0/24"));
            o.UdpIoThreads = udpIoThreads;
        });
        using var echo = new EchoPeer();
        await using var client = await LoopbackTurnClient.ConnectAsync(tcp ? host.TcpEndPoints[0] : host.UdpEndPoints[0], tcp);
        await client.AllocateAsync();
        var broadcast = StunAddress.FromIPEndPoint(IPEndPoint.Parse("255.255.255.255:9"));
        var unroutable = StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.1:9"));
        Assert.Equal(StunClass.SuccessResponse, (await client.CreatePermissionAsync(broadcast, echo.Address)).Class);
        Assert.Equal(StunClass.SuccessResponse, (await client.ChannelBindAsync(0x4000, echo.Address)).Class);
        Assert.Equal(StunClass.SuccessResponse, (await client.ChannelBindAsync(0x4001, broadcast)).Class);

        async Task EchoStillFlows(int round)
        {
            var payload = Enumerable.Range(0, 300).Select(i => (byte)(i * round)).ToArray();
            await client.SendChannelDataAsync(0x4000, payload);
            var back = await client.ReceiveRelayedAsync(TimeSpan.FromSeconds(3));
            Assert.NotNull(back);
            Assert.Equal(payload, LoopbackTurnClient.Payload(back));
            await client.SendIndicationAsync(echo.Address, payload);
            back = await client.ReceiveRelayedAsync(TimeSpan.FromSeconds(3));
            Assert.NotNull(back);
            Assert.Equal(payload, LoopbackTurnClient.Payload(back)); // comes back as ChannelData: the peer has a channel
        }

        await EchoStillFlows(1);
        await client.SendIndicationAsync(broadcast, [1, 2, 3]);
        await client.SendChannelDataAsync(0x4001, [4, 5, 6]);
        await EchoStillFlows(2);
        var failures = 2;

        if (tcp)
        {
            await client.SendChannelDataAsync(0x4000, new byte[65_535]); // EMSGSIZE on the relay socket
            failures++;
            await EchoStillFlows(3);
        }

        if (!HasRouteTo(IPAddress.Parse("192.0.2.1")))
        {
            Assert.Equal(StunClass.SuccessResponse, (await client.CreatePermissionAsync(unroutable)).Class);
            await client.SendIndicationAsync(unroutable, [7, 8, 9]);
            failures++;
            await EchoStillFlows(4);
        }

        Assert.Null(await client.ReceiveRelayedAsync(Quiet));
        Assert.True(host.GetStatistics().Dropped[TurnDropReason.RelaySendFailed] >= failures, $"{failures} failures expected");
        Assert.Equal(StunClass.SuccessResponse, (await client.RequestAsync(StunMethod.Refresh)).Class);
    }

    // connect() on a UDP socket only looks the route up; nothing is sent.
    private static bool HasRouteTo(IPAddress address)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Connect(new IPEndPoint(address, 9));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A UDP peer on 127.0.0.1 that echoes every datagram.</summary>
    private sealed class EchoPeer : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly CancellationTokenSource _stop = new();

        public EchoPeer()
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Address = StunAddress.FromIPEndPoint((IPEndPoint)_socket.LocalEndPoint!);
            _ = Task.Run(LoopAsync);
        }

        public StunAddress Address { get; }

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            var buffer = new byte[65536];
            var from = new IPEndPoint(IPAddress.Any, 0);
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token);
                    await _socket.SendToAsync(buffer.AsMemory(0, result.ReceivedBytes), SocketFlags.None, result.RemoteEndPoint);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }
    }
}

internal static class TurnLoopbackTestsPeers
{
    public static StunAddress Private => StunAddress.FromIPEndPoint(IPEndPoint.Parse("10.1.2.3:4000"));

    public static StunAddress LinkLocal => StunAddress.FromIPEndPoint(IPEndPoint.Parse("169.254.1.1:4000"));
}

/// <summary>The system clock, shifted forward on demand (timers still run on real time).</summary>
internal sealed class ShiftedTimeProvider : TimeProvider
{
    private long _shiftTicks;

    public void Shift(TimeSpan by) => Interlocked.Add(ref _shiftTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _shiftTicks));

    public override long GetTimestamp() =>
        base.GetTimestamp() + (long)(Interlocked.Read(ref _shiftTicks) * (TimestampFrequency / (double)TimeSpan.TicksPerSecond));
}
