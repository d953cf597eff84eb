using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Integration.Tests.Turn;

/// <summary>The host on real sockets: ports, lifecycle, IPv6, relay port range, idle and handshake limits.</summary>
public class TurnServerHostTests
{
    [Fact]
    public async Task Port_zero_reports_the_bound_ports_and_stopping_releases_everything()
    {
        using var certificate = TurnLoopback.CreateCertificate();
        var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.TlsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)];
            o.TlsCertificate = certificate;
        });
        Assert.True(host.IsRunning);
        Assert.NotEqual(0, host.UdpEndPoints[0].Port);
        Assert.NotEqual(0, host.TcpEndPoints[0].Port);
        Assert.NotEqual(0, host.TlsEndPoints[0].Port);
        Assert.Equal([IPAddress.Loopback], host.RelayAddresses);
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        await using (var client = await LoopbackTurnClient.ConnectAsync(host.TcpEndPoints[0], tcp: true))
        {
            await client.AllocateAsync();
            Assert.Equal(1, host.RelaySocketCount);
            Assert.Equal(1, host.ConnectionCount);
        }

        var udp = host.UdpEndPoints[0];
        var tcp = host.TcpEndPoints[0];
        await host.DisposeAsync();
        await host.StopAsync(); // idempotent
        Assert.False(host.IsRunning);
        Assert.Equal(0, host.RelaySocketCount);

        // The ports are free again.
        using var udpAgain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udpAgain.Bind(udp);
        using var tcpAgain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcpAgain.Bind(tcp);
    }

    // 1 and 2: batched UDP loops (Linux); 0: the portable asynchronous socket loops.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(0)]
    public async Task Stopping_while_udp_clients_relay_ends_promptly_and_frees_every_port(int udpIoThreads)
    {
        var host = await TurnLoopback.StartHostAsync(o => o.UdpIoThreads = udpIoThreads);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerAddress = StunAddress.FromIPEndPoint((IPEndPoint)peer.LocalEndPoint!);
        using var stop = new CancellationTokenSource();
        var echo = Task.Run(async () =>
        {
            var buffer = new byte[2048];
            var from = new IPEndPoint(IPAddress.Any, 0);
            while (!stop.IsCancellationRequested)
            {
                var result = await peer.ReceiveFromAsync(buffer, SocketFlags.None, from, stop.Token);
                await peer.SendToAsync(buffer.AsMemory(0, result.ReceivedBytes), SocketFlags.None, result.RemoteEndPoint, stop.Token);
            }
        });

        var clients = new List<LoopbackTurnClient>();
        var relays = new List<StunAddress>();
        for (var i = 0; i < 4; i++)
        {
            var client = await LoopbackTurnClient.ConnectAsync(host.UdpEndPoints[0], tcp: false);
            clients.Add(client);
            relays.Add(await client.AllocateAsync());
            Assert.Equal(StunClass.SuccessResponse, (await client.ChannelBindAsync(0x4000, peerAddress)).Class);
        }

        // Every client relays ping-pong until the server goes away under it.
        var echoed = 0;
        var floods = clients.Select(client => Task.Run(async () =>
        {
            var payload = new byte[300];
            while (!stop.IsCancellationRequested)
            {
                await client.SendChannelDataAsync(0x4000, payload);
                if (await client.ReceiveRelayedAsync(TimeSpan.FromMilliseconds(200)) is not null)
                {
                    Interlocked.Increment(ref echoed);
                }
            }
        })).ToArray();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Volatile.Read(ref echoed) < 200 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(Volatile.Read(ref echoed) >= 200, $"only {echoed} relayed round trips");
        var udp = host.UdpEndPoints[0];
        var started = DateTime.UtcNow;
        await host.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), $"stopping took {DateTime.UtcNow - started}");
        Assert.Equal(0, host.RelaySocketCount);

        await stop.CancelAsync();
        await Task.WhenAll(floods).WaitAsync(TimeSpan.FromSeconds(10));
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        peer.Dispose();
        await Task.WhenAny(echo, Task.Delay(TimeSpan.FromSeconds(5)));

        // The listening and relay ports are free again.
        using var udpAgain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udpAgain.Bind(udp);
        foreach (var relay in relays)
        {
            using var relayAgain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            relayAgain.Bind(new IPEndPoint(IPAddress.Loopback, relay.Port));
        }
    }

    [Fact]
    public async Task Invalid_configuration_is_refused_at_start()
    {
        await using var noEndpoints = new TurnServerHost(new TurnServerOptions());
        await Assert.ThrowsAsync<ArgumentException>(() => noEndpoints.StartAsync());

        await using var tlsWithoutCertificate = new TurnServerHost(new TurnServerOptions { TlsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)] });
        await Assert.ThrowsAsync<ArgumentException>(() => tlsWithoutCertificate.StartAsync());

        await using var badRange = new TurnServerHost(new TurnServerOptions
        {
            UdpEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            RelayPortMin = 50000,
            RelayPortMax = 40000,
        });
        await Assert.ThrowsAsync<ArgumentException>(() => badRange.StartAsync());

        // A port in use: the bind error, and nothing left open.
        await using var first = await TurnLoopback.StartHostAsync();
        await using var second = new TurnServerHost(new TurnServerOptions { UdpEndPoints = [first.UdpEndPoints[0]] });
        await Assert.ThrowsAsync<SocketException>(() => second.StartAsync());
    }

    [Fact]
    public async Task Ipv6_clients_get_their_mapped_address_and_an_ipv6_relay()
    {
        if (!Socket.OSSupportsIPv6)
        {
            Assert.Fail("IPv6 is not available on loopback.");
        }

        await using var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.UdpEndPoints = [new IPEndPoint(IPAddress.IPv6Loopback, 0)];
            o.TcpEndPoints = [new IPEndPoint(IPAddress.IPv6Loopback, 0)];
            o.RelayAddresses = [IPAddress.IPv6Loopback];
            o.AllowedPeerRanges = [IPNetwork.Parse("::1/128")];
        });
        foreach (var tcp in new[] { false, true })
        {
            await using var client = await LoopbackTurnClient.ConnectAsync(tcp ? host.TcpEndPoints[0] : host.UdpEndPoints[0], tcp);
            var binding = await client.RequestAsync(StunMethod.Binding, sign: false);
            Assert.Equal(StunAddress.FromIPEndPoint(client.LocalEndPoint), binding.XorAddress(StunAttributeType.XorMappedAddress));

            var relayed = await client.AllocateAsync((ref StunMessageWriter w) => w.AddRequestedAddressFamily(StunAddressFamily.IPv6));
            Assert.Equal(StunAddressFamily.IPv6, relayed.Family);

            // IPv4 is not configured on this server: 440.
            await using var other = await LoopbackTurnClient.ConnectAsync(tcp ? host.TcpEndPoints[0] : host.UdpEndPoints[0], tcp);
            Assert.Equal(440, (await other.RequestAsync(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp))).ErrorCode);
        }
    }

    [Fact]
    public async Task Relay_ports_come_from_the_configured_range()
    {
        var low = TurnLoopback.FreeUdpPort() & ~1;
        if (low > 65000)
        {
            low = 40000;
        }

        await using var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.RelayPortMin = low;
            o.RelayPortMax = low + 7;
        });
        var ports = new List<int>();
        var clients = new List<LoopbackTurnClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = await LoopbackTurnClient.ConnectAsync(host.UdpEndPoints[0], tcp: false);
                clients.Add(client);
                ports.Add((await client.AllocateAsync()).Port);
            }

            var even = await LoopbackTurnClient.ConnectAsync(host.UdpEndPoints[0], tcp: false);
            clients.Add(even);
            var evenPort = (await even.AllocateAsync((ref StunMessageWriter w) => w.AddEvenPort(false))).Port;
            Assert.Equal(0, evenPort % 2);
            ports.Add(evenPort);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        Assert.All(ports, p => Assert.InRange(p, low, low + 7));
        Assert.Equal(ports.Count, ports.Distinct().Count());
    }

    [Fact]
    public async Task Idle_stream_connections_without_allocation_are_closed_and_others_kept()
    {
        await using var host = await TurnLoopback.StartHostAsync(o => o.StreamIdleTimeout = TimeSpan.FromSeconds(1));
        await using var idle = await LoopbackTurnClient.ConnectAsync(host.TcpEndPoints[0], tcp: true);
        await using var allocated = await LoopbackTurnClient.ConnectAsync(host.TcpEndPoints[0], tcp: true);
        await allocated.AllocateAsync();

        Assert.True(await idle.WaitClosedAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(StunClass.SuccessResponse, (await allocated.RequestAsync(StunMethod.Refresh)).Class);
    }

    [Fact]
    public async Task A_tls_client_that_never_handshakes_is_dropped()
    {
        using var certificate = TurnLoopback.CreateCertificate();
        await using var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.TlsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)];
            o.TlsCertificate = certificate;
            o.TlsHandshakeTimeout = TimeSpan.FromSeconds(1);
        });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(host.TlsEndPoints[0]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        int read;
        try
        {
            read = await socket.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token); // 0 once the server gives up
        }
        catch (SocketException)
        {
            read = 0; // or a reset
        }

        Assert.Equal(0, read);
        for (var i = 0; i < 50 && host.ConnectionCount != 0; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, host.ConnectionCount);
    }
}
