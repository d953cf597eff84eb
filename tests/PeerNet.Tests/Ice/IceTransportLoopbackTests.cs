using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using PeerNet.Ice;

namespace PeerNet.Tests.Ice;

/// <summary>Two IceTransports on real loopback sockets (gathering restricted to 127.0.0.1 / ::1).</summary>
public class IceTransportLoopbackTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private sealed class Side : IAsyncDisposable
    {
        public Side(IceRole role, params IPAddress[] addresses)
        {
            Transport = new IceTransport(new IceTransportOptions
            {
                Agent = new IceAgentOptions { Role = role },
                Gathering = new IceGatherOptions { Addresses = addresses },
            });
            Transport.CandidateGathered += Gathered.Enqueue;
            Transport.GatheringStateChanged += s => GatheringStates.Enqueue(s);
            Transport.ConnectionStateChanged += s =>
            {
                States.Enqueue(s);
                if (s is IceConnectionState.Connected or IceConnectionState.Completed)
                {
                    Connected.TrySetResult();
                }
            };
            Transport.DatagramReceived = datagram => Received.Add(datagram.ToArray());
        }

        public IceTransport Transport { get; }

        public ConcurrentQueue<IceCandidate> Gathered { get; } = new();

        public ConcurrentQueue<IceGatheringState> GatheringStates { get; } = new();

        public ConcurrentQueue<IceConnectionState> States { get; } = new();

        public BlockingCollection<byte[]> Received { get; } = [];

        public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask DisposeAsync() => Transport.DisposeAsync();
    }

    private static async Task Connect(Side a, Side b, bool trickleFirst = false)
    {
        await a.Transport.GatherAsync();
        await b.Transport.GatherAsync();
        if (!trickleFirst)
        {
            a.Transport.Start(b.Transport.LocalUfrag, b.Transport.LocalPassword);
            b.Transport.Start(a.Transport.LocalUfrag, a.Transport.LocalPassword);
        }

        foreach (var candidate in a.Gathered)
        {
            Assert.True(await b.Transport.AddRemoteCandidateAsync(IceCandidate.Parse(candidate.ToString())));
        }

        foreach (var candidate in b.Gathered)
        {
            Assert.True(await a.Transport.AddRemoteCandidateAsync(IceCandidate.Parse(candidate.ToString())));
        }

        a.Transport.AddRemoteEndOfCandidates();
        b.Transport.AddRemoteEndOfCandidates();
        if (trickleFirst)
        {
            a.Transport.Start(b.Transport.LocalUfrag, b.Transport.LocalPassword);
            b.Transport.Start(a.Transport.LocalUfrag, a.Transport.LocalPassword);
        }

        await a.Connected.Task.WaitAsync(Timeout);
        await b.Connected.Task.WaitAsync(Timeout);
    }

    private static byte[] Dtls(int i) => [22, 254, 253, .. BitConverter.GetBytes(i)];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_transports_connect_and_carry_datagrams_both_ways(bool trickleFirst)
    {
        await using var a = new Side(IceRole.Controlling, IPAddress.Loopback);
        await using var b = new Side(IceRole.Controlled, IPAddress.Loopback);
        Assert.False(a.Transport.Send(Dtls(0)));

        await Connect(a, b, trickleFirst);
        var candidate = Assert.Single(a.Gathered);
        Assert.Equal("127.0.0.1", candidate.Address);
        Assert.Equal(a.Transport.LocalUfrag, candidate.UsernameFragment);
        Assert.Equal([IceGatheringState.Gathering, IceGatheringState.Complete], a.GatheringStates);
        Assert.NotNull(a.Transport.SelectedCandidatePair);

        for (var i = 0; i < 100; i++)
        {
            Assert.True(a.Transport.Send(Dtls(i)));
            Assert.True(b.Transport.Send(Dtls(1000 + i)));
        }

        for (var i = 0; i < 100; i++)
        {
            Assert.True(b.Received.TryTake(out var fromA, Timeout));
            Assert.Equal(22, fromA[0]);
            Assert.True(a.Received.TryTake(out var fromB, Timeout));
            Assert.Equal(22, fromB[0]);
        }

        await a.DisposeAsync();
        Assert.Equal(IceConnectionState.Closed, a.States.Last());
        Assert.False(a.Transport.Send(Dtls(0)));
    }

    [Fact]
    public async Task Sending_over_the_selected_pair_does_not_allocate()
    {
        await using var a = new Side(IceRole.Controlling, IPAddress.Loopback);
        await using var b = new Side(IceRole.Controlled, IPAddress.Loopback);
        await Connect(a, b);
        b.Transport.DatagramReceived = null;
        var datagram = Dtls(1);
        for (var i = 0; i < 100; i++)
        {
            a.Transport.Send(datagram);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(a.Transport.Send(datagram));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Ipv4_and_ipv6_loopback_prefer_ipv6()
    {
        if (!Socket.OSSupportsIPv6)
        {
            return;
        }

        await using var a = new Side(IceRole.Controlled, IPAddress.Loopback, IPAddress.IPv6Loopback);
        await using var b = new Side(IceRole.Controlling, IPAddress.Loopback, IPAddress.IPv6Loopback);
        try
        {
            await Connect(a, b);
        }
        catch (TimeoutException) when (a.Gathered.Count < 2)
        {
            return; // ::1 is not configured here
        }

        Assert.Equal("::1", a.Transport.SelectedCandidatePair!.Local.Address);
        Assert.True(b.Transport.Send(Dtls(7)));
        Assert.True(a.Received.TryTake(out _, Timeout));
    }

    [Fact]
    public async Task Datagrams_from_strangers_and_of_other_kinds_are_dropped()
    {
        await using var a = new Side(IceRole.Controlling, IPAddress.Loopback);
        await using var b = new Side(IceRole.Controlled, IPAddress.Loopback);
        await Connect(a, b);

        var target = new IPEndPoint(IPAddress.Loopback, a.Gathered.Single().Port);
        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            stranger.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            stranger.SendTo(Dtls(1), target);           // DTLS from an unknown address
            stranger.SendTo(new byte[] { 128, 1 }, target); // RTP
            stranger.SendTo(new byte[] { 100, 1 }, target); // nothing
            stranger.SendTo(new byte[] { 0, 1, 0, 0 }, target); // not valid STUN
        }

        Assert.True(b.Transport.Send(new byte[] { 70, 1 })); // TURN channel range from the known peer
        Assert.True(b.Transport.Send(Dtls(2)));
        Assert.True(a.Received.TryTake(out var delivered, Timeout));
        Assert.Equal(Dtls(2), delivered);

        var deadline = Environment.TickCount64 + 5000;
        while ((a.Transport.Statistics.DroppedFromStrangers < 1 || a.Transport.Statistics.DroppedUnknownKind < 3) && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, a.Transport.Statistics.DroppedFromStrangers);
        Assert.Equal(3, a.Transport.Statistics.DroppedUnknownKind);
        Assert.Empty(a.Received);
        Assert.True(a.Transport.AgentStatistics.GetDropped(IceDropReason.Malformed) >= 1);
    }

    [Fact]
    public async Task Tcp_and_unresolvable_host_name_candidates_are_skipped()
    {
        await using var a = new Side(IceRole.Controlling, IPAddress.Loopback);
        await a.Transport.GatherAsync();
        Assert.False(await a.Transport.AddRemoteCandidateAsync(IceCandidate.Parse("candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active")));
        Assert.False(await a.Transport.AddRemoteCandidateAsync(IceCandidate.Parse("candidate:1 1 udp 1 example.com 9 typ host")));
        Assert.True(await a.Transport.AddRemoteCandidateAsync(IceCandidate.Parse("candidate:1 1 udp 1 127.0.0.1 9 typ host")));
        Assert.False(await a.Transport.AddRemoteCandidateAsync(IceCandidate.Parse("candidate:2 1 udp 1 127.0.0.1 9 typ host")));
    }

    [Fact]
    public async Task Binds_inside_the_port_range()
    {
        await using var transport = new IceTransport(new IceTransportOptions
        {
            Gathering = new IceGatherOptions { Addresses = [IPAddress.Loopback], MinPort = 41000, MaxPort = 41999 },
        });
        var gathered = new List<IceCandidate>();
        transport.CandidateGathered += gathered.Add;
        await transport.GatherAsync();
        Assert.InRange(Assert.Single(gathered).Port, 41000, 41999);
    }

    [Fact]
    public void Gathering_restricted_to_given_addresses()
    {
        var both = HostCandidateGatherer.GetHostAddresses(new IceGatherOptions { Addresses = [IPAddress.Loopback, IPAddress.IPv6Loopback] });
        Assert.Equal(2, both.Count);
        Assert.All(both, a => Assert.True(a.IsLoopback));
        var v4 = HostCandidateGatherer.GetHostAddresses(new IceGatherOptions { Addresses = [IPAddress.Loopback, IPAddress.IPv6Loopback], IncludeIPv6 = false });
        Assert.Equal(IPAddress.Loopback, Assert.Single(v4).Address);

        var v6 = HostCandidateGatherer.CreateHostCandidate(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 5000), 0, "ufrg");
        var v4Candidate = HostCandidateGatherer.CreateHostCandidate(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 5000), 1);
        Assert.True(v6.Priority > v4Candidate.Priority);
        Assert.Equal("candidate:" + v6.Foundation + " 1 udp " + v6.Priority + " 2001:db8::1 5000 typ host generation 0 ufrag ufrg", v6.ToString());
        var linkLocal = HostCandidateGatherer.CreateHostCandidate(new IPEndPoint(IPAddress.Parse("fe80::1%2"), 5000), 0);
        Assert.Equal("fe80::1", linkLocal.Address);
    }
}
