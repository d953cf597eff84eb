using System.Collections.Concurrent;
using System.Net;
using System.Text;
using PeerNet.Ice;
using PeerNet.Integration.Tests.Turn;
using PeerNet.Rtc;
using PeerNet.Turn;

namespace PeerNet.Integration.Tests.TurnClient;

/// <summary>
/// Server-reflexive and relayed gathering against our own TurnServerHost on 127.0.0.1 (it may relay to
/// loopback peers here): two IceTransports connect through the relay and carry datagrams both ways,
/// over TURN/UDP and TURN/TCP, and two RtcPeerConnections open a data channel with relay-only policy.
/// Run inside a loopback-only network namespace.
/// </summary>
public sealed class RelayGatheringTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static IceTransportOptions Options(IceRole role, IceTransportPolicy policy, params IceServer[] servers) => new()
    {
        Agent = new IceAgentOptions { Role = role },
        Gathering = new IceGatherOptions { Addresses = [IPAddress.Loopback], IncludeLoopback = true },
        ResolveMdnsCandidates = false,
        IceServers = servers,
        TransportPolicy = policy,
    };

    private static IceServer Turn(TurnServerHost host, string transport = "udp", string password = TurnLoopback.Password)
    {
        var port = transport == "tcp" ? host.TcpEndPoints[0].Port : host.UdpEndPoints[0].Port;
        return IceServer.Parse($"turn:127.0.0.1:{port}?transport={transport}", TurnLoopback.User, password);
    }

    [Theory]
    [InlineData("udp", IceTransportPolicy.Relay)]
    [InlineData("tcp", IceTransportPolicy.Relay)]
    [InlineData("udp", IceTransportPolicy.All)]
    public async Task Two_transports_connect_through_the_relay_and_carry_datagrams_both_ways(string transport, IceTransportPolicy answererPolicy)
    {
        await using var host = await TurnLoopback.StartHostAsync();
        var turn = Turn(host, transport);
        await using var a = new IceTransport(Options(IceRole.Controlling, IceTransportPolicy.Relay, turn));
        await using var b = new IceTransport(Options(IceRole.Controlled, answererPolicy, turn));
        var (fromA, fromB) = await ConnectAsync(a, b);

        Assert.All(a.LocalCandidates, c => Assert.Equal(IceCandidateType.Relay, c.Type));
        Assert.Single(a.LocalCandidates);
        var relay = a.LocalCandidates[0];
        Assert.Equal("127.0.0.1", relay.Address);
        Assert.Equal("127.0.0.1", relay.RelatedAddress); // raddr: our address as the TURN server saw it
        Assert.Equal(IceCandidateType.Relay, a.SelectedCandidatePair!.Local.Type);
        Assert.Equal(answererPolicy == IceTransportPolicy.Relay ? IceCandidateType.Relay : IceCandidateType.Host, a.SelectedCandidatePair.Remote.Type);

        for (var i = 0; i < 20; i++)
        {
            Assert.True(a.Send(Datagram($"a{i}")));
            Assert.True(b.Send(Datagram($"b{i}")));
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.True(fromA.TryTake(out var m, Timeout));
            Assert.StartsWith("a", m);
            Assert.True(fromB.TryTake(out var n, Timeout));
            Assert.StartsWith("b", n);
        }

        Assert.True(host.GetStatistics().PacketsToPeers > 0);

        // The selected pair's peer got a channel (RFC 8656 §12): data now travels as ChannelData.
        var relaySocket = Assert.Single(a.RelaySockets);
        Assert.True(a.SelectedCandidatePair.Remote.TryGetTransportAddress(out var selectedRemote));
        var deadline = Environment.TickCount64 + 5000;
        while (!relaySocket.HasChannel(selectedRemote) && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(relaySocket.HasChannel(selectedRemote));
        Assert.Equal(transport == "tcp" ? TurnTransport.Tcp : TurnTransport.Udp, relaySocket.Transport);
        Assert.True(a.Send(Datagram("after-channel")));
        Assert.True(fromA.TryTake(out var last, Timeout));
        Assert.Equal("after-channel", last);
    }

    [Fact]
    public async Task TURN_over_TLS_allocates_and_relays()
    {
        using var certificate = TurnLoopback.CreateCertificate();
        await using var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.TlsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)];
            o.TlsCertificate = certificate;
        });
        var turns = IceServer.Parse($"turns:127.0.0.1:{host.TlsEndPoints[0].Port}", TurnLoopback.User, TurnLoopback.Password);
        var thumbprint = certificate.GetCertHashString();
        var optionsA = Options(IceRole.Controlling, IceTransportPolicy.Relay, turns);
        optionsA.TurnServerCertificateValidation = (_, cert, _, _) => cert?.GetCertHashString() == thumbprint;
        await using var a = new IceTransport(optionsA);
        await using var b = new IceTransport(Options(IceRole.Controlled, IceTransportPolicy.All));
        var (fromA, fromB) = await ConnectAsync(a, b);
        Assert.Equal(TurnTransport.Tls, Assert.Single(a.RelaySockets).Transport);
        Assert.True(a.Send(Datagram("tls")));
        Assert.True(fromA.TryTake(out var m, Timeout));
        Assert.Equal("tls", m);
        Assert.True(b.Send(Datagram("back")));
        Assert.True(fromB.TryTake(out var n, Timeout));
        Assert.Equal("back", n);

        // Without trusting the self-signed certificate the allocation is refused, and gathering still completes.
        await using var untrusting = new IceTransport(Options(IceRole.Controlling, IceTransportPolicy.Relay, turns));
        await untrusting.GatherAsync().WaitAsync(Timeout);
        Assert.Empty(untrusting.LocalCandidates);
        Assert.Equal(1, untrusting.Statistics.RelayFailures);
    }

    [Fact]
    public async Task A_server_reflexive_Binding_round_trip_happens_and_the_duplicate_of_the_host_candidate_is_suppressed()
    {
        await using var host = await TurnLoopback.StartHostAsync();
        var stun = IceServer.Parse($"stun:127.0.0.1:{host.UdpEndPoints[0].Port}");
        await using var transport = new IceTransport(Options(IceRole.Controlling, IceTransportPolicy.All, stun, Turn(host)));
        var states = new ConcurrentQueue<IceGatheringState>();
        transport.GatheringStateChanged += states.Enqueue;
        await transport.GatherAsync().WaitAsync(Timeout);

        Assert.Equal(IceGatheringState.Complete, transport.GatheringState);
        Assert.Equal(1, transport.Statistics.StunServerResponses); // stun: and turn: on the same address are one server
        Assert.Equal(1, transport.Statistics.ServerReflexiveDuplicates); // on loopback srflx == host
        Assert.True(host.GetStatistics().BindingResponses >= 1);
        Assert.DoesNotContain(transport.LocalCandidates, c => c.Type == IceCandidateType.ServerReflexive);
        var types = transport.LocalCandidates.Select(c => c.Type).ToList();
        Assert.Equal([IceCandidateType.Host, IceCandidateType.Relay], types);
        Assert.True(transport.LocalCandidates[0].Priority > transport.LocalCandidates[1].Priority);
    }

    [Fact]
    public async Task Gathering_completes_when_a_server_refuses_or_is_silent()
    {
        await using var host = await TurnLoopback.StartHostAsync();
        var silent = IceServer.Parse($"stun:127.0.0.1:{TurnLoopback.FreeUdpPort()}");
        var options = Options(IceRole.Controlling, IceTransportPolicy.All, Turn(host, password: "wrong"), silent);
        options.StunServerTimeout = TimeSpan.FromSeconds(2);
        await using var transport = new IceTransport(options);
        var started = Environment.TickCount64;
        await transport.GatherAsync().WaitAsync(Timeout);
        Assert.InRange(Environment.TickCount64 - started, 1500, 5000);
        Assert.Equal(1, transport.Statistics.RelayFailures);
        Assert.Equal(IceCandidateType.Host, Assert.Single(transport.LocalCandidates).Type);
        Assert.True(transport.Statistics.StunServerRequests >= 3); // retransmitted to the silent server
    }

    [Fact]
    public async Task Two_peer_connections_with_relay_policy_open_a_data_channel()
    {
        await using var host = await TurnLoopback.StartHostAsync();
        var config = new RtcConfiguration
        {
            AllowedLocalAddresses = [IPAddress.Loopback],
            IncludeLoopbackCandidates = true,
            IceTransportPolicy = IceTransportPolicy.Relay,
            IceServers = [new RtcIceServer { Urls = [$"turn:127.0.0.1:{host.UdpEndPoints[0].Port}"], Username = TurnLoopback.User, Credential = TurnLoopback.Password }],
        };
        await using var offerer = new RtcPeerConnection(config);
        await using var answerer = new RtcPeerConnection(config);
        var candidates = new ConcurrentQueue<string>();
        offerer.IceCandidate += (_, c) => { if (c is not null) candidates.Enqueue(c.Candidate); };
        answerer.IceCandidate += (_, c) => { if (c is not null) candidates.Enqueue(c.Candidate); };
        var toAnswerer = new RtcCandidateRelay(offerer, answerer);
        var toOfferer = new RtcCandidateRelay(answerer, offerer);

        var channel = offerer.CreateDataChannel("relay");
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var echoed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.Open += (_, _) => opened.TrySetResult();
        channel.Message += (_, e) => echoed.TrySetResult(e.Text);
        answerer.DataChannel += (_, c) => c.Message += (_, e) => c.Send("echo:" + e.Text);

        var offer = await offerer.CreateOfferAsync();
        await offerer.SetLocalDescriptionAsync(offer);
        await answerer.SetRemoteDescriptionAsync(offer);
        toAnswerer.RemoteDescriptionSet();
        var answer = await answerer.CreateAnswerAsync();
        await answerer.SetLocalDescriptionAsync(answer);
        await offerer.SetRemoteDescriptionAsync(answer);
        toOfferer.RemoteDescriptionSet();

        await opened.Task.WaitAsync(Timeout);
        channel.Send("through the relay");
        Assert.Equal("echo:through the relay", await echoed.Task.WaitAsync(Timeout));
        Assert.NotEmpty(candidates);
        Assert.All(candidates, c => Assert.Contains(" typ relay", c));
        Assert.True(host.GetStatistics().PacketsToPeers > 0);
    }

    private static byte[] Datagram(string text) => [23, .. Encoding.ASCII.GetBytes(text)];

    private static async Task<(BlockingCollection<string> FromA, BlockingCollection<string> FromB)> ConnectAsync(IceTransport a, IceTransport b)
    {
        var fromA = new BlockingCollection<string>();
        var fromB = new BlockingCollection<string>();
        a.DatagramReceived = d => fromB.Add(Encoding.ASCII.GetString(d[1..]));
        b.DatagramReceived = d => fromA.Add(Encoding.ASCII.GetString(d[1..]));
        var connectedA = Connected(a);
        var connectedB = Connected(b);
        a.CandidateGathered += c => _ = b.AddRemoteCandidateAsync(c);
        b.CandidateGathered += c => _ = a.AddRemoteCandidateAsync(c);
        a.Start(b.LocalUfrag, b.LocalPassword);
        b.Start(a.LocalUfrag, a.LocalPassword);
        await Task.WhenAll(a.GatherAsync(), b.GatherAsync()).WaitAsync(Timeout);
        Assert.NotEmpty(a.LocalCandidates);
        Assert.NotEmpty(b.LocalCandidates);
        await Task.WhenAll(connectedA, connectedB).WaitAsync(Timeout);
        return (fromA, fromB);
    }

    private static Task Connected(IceTransport transport)
    {
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.ConnectionStateChanged += s =>
        {
            if (s is IceConnectionState.Connected or IceConnectionState.Completed)
            {
                connected.TrySetResult();
            }
        };
        return connected.Task;
    }
}
