using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice;

public class IceAgentSimulationTests
{
    private static (IceSimulation Sim, SimPeer A, SimPeer B) TwoPeers(IceRole roleA = IceRole.Controlling, IceRole roleB = IceRole.Controlled, int seed = 1)
    {
        var sim = new IceSimulation(seed);
        var a = sim.AddPeer("A", roleA, 0x1111_0000_0000_0000);
        var b = sim.AddPeer("B", roleB, 0x2222_0000_0000_0000);
        a.AddHost("10.0.0.1", 40001);
        b.AddHost("10.0.0.2", 50001);
        return (sim, a, b);
    }

    private static bool BothUp(SimPeer a, SimPeer b) =>
        a.Agent.ConnectionState is IceConnectionState.Connected or IceConnectionState.Completed
        && b.Agent.ConnectionState is IceConnectionState.Connected or IceConnectionState.Completed;

    private static void AssertSamePath(SimPeer a, SimPeer b)
    {
        Assert.NotNull(a.Selected);
        Assert.NotNull(b.Selected);
        Assert.True(a.Agent.TryGetSelectedPair(out var socketA, out var remoteA));
        Assert.True(b.Agent.TryGetSelectedPair(out var socketB, out var remoteB));
        Assert.Equal(b.Sockets[socketB], remoteA);
        Assert.Equal(a.Sockets[socketA], remoteB);
        Assert.True(a.Agent.IsKnownRemote(socketA, remoteA));
        Assert.True(b.Agent.IsKnownRemote(socketB, remoteB));
    }

    [Theory]
    [InlineData(IceRole.Controlling, IceRole.Controlled)]
    [InlineData(IceRole.Controlled, IceRole.Controlling)]
    public void Connects_then_completes_in_both_role_assignments(IceRole roleA, IceRole roleB)
    {
        var (sim, a, b) = TwoPeers(roleA, roleB);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, endOfCandidates: true);
        IceSimulation.Trickle(b, a, endOfCandidates: true);

        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000), $"{a} / {b}");
        AssertSamePath(a, b);
        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Completed && b.Agent.ConnectionState == IceConnectionState.Completed, 5_000));
        Assert.Equal([IceConnectionState.Checking, IceConnectionState.Connected, IceConnectionState.Completed], a.States);
        Assert.Equal([IceConnectionState.Checking, IceConnectionState.Connected, IceConnectionState.Completed], b.States);
        Assert.Equal(roleA, a.Agent.Role);
        Assert.Equal(roleB, b.Agent.Role);
    }

    [Fact]
    public void Picks_the_highest_priority_pair_among_several_interfaces_and_families()
    {
        var sim = new IceSimulation(3);
        var a = sim.AddPeer("A", IceRole.Controlling, 5);
        var b = sim.AddPeer("B", IceRole.Controlled, 6);
        a.AddHost("10.0.0.1", 40001, 50000);
        a.AddHost("2001:db8::1", 40002, 60000);
        a.AddHost("192.168.1.1", 40003, 40000);
        b.AddHost("10.0.0.2", 50001, 50000);
        b.AddHost("2001:db8::2", 50002, 60000);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true);
        IceSimulation.Trickle(b, a, true);

        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000));
        AssertSamePath(a, b);
        Assert.Equal("2001:db8::1", a.Selected!.Local.Address);
        Assert.Equal("2001:db8::2", a.Selected.Remote.Address);

        // Only same-family pairs: 2 IPv4 x 1 IPv4 + 1 IPv6 x 1 IPv6 on A.
        var pairs = Enum.GetValues<CandidatePairState>().Sum(s => a.Agent.CountPairs(s));
        Assert.Equal(3, pairs);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Trickle_in_any_order(int order)
    {
        var (sim, a, b) = TwoPeers();
        switch (order)
        {
            case 0: // candidates before credentials
                IceSimulation.Trickle(a, b);
                IceSimulation.Trickle(b, a);
                IceSimulation.ExchangeCredentials(a, b);
                break;
            case 1: // A's candidates reach B late
                IceSimulation.ExchangeCredentials(a, b);
                IceSimulation.Trickle(b, a);
                sim.Run(300);
                IceSimulation.Trickle(a, b);
                break;
            case 2: // B's candidates reach A late
                IceSimulation.ExchangeCredentials(a, b);
                IceSimulation.Trickle(a, b);
                sim.Run(300);
                IceSimulation.Trickle(b, a);
                break;
            default: // a second interface trickles in after connection
                IceSimulation.ExchangeCredentials(a, b);
                IceSimulation.Trickle(a, b);
                IceSimulation.Trickle(b, a);
                Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000));
                var late = b.AddHost("10.0.0.3", 50002);
                a.Agent.AddRemoteCandidate(late);
                break;
        }

        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000), $"{a} / {b}");
        AssertSamePath(a, b);
    }

    [Fact]
    public void Checks_that_arrive_before_the_credentials_are_answered_and_remembered()
    {
        var (sim, a, b) = TwoPeers(IceRole.Controlling, IceRole.Controlled);

        // A knows everything and checks at once; B has neither credentials nor candidates yet.
        a.Agent.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword);
        IceSimulation.Trickle(b, a);
        sim.Run(200);
        Assert.Equal(IceConnectionState.New, b.Agent.ConnectionState);
        Assert.True(b.Agent.Statistics.RequestsAnswered > 0);
        Assert.Equal(0, b.Agent.Statistics.RequestsRejected);

        b.Agent.SetRemoteCredentials(a.Agent.LocalUfrag, a.Agent.LocalPassword);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000), $"{a} / {b}");
        AssertSamePath(a, b);

        // B never got A's candidates: A is peer-reflexive to B.
        Assert.Equal(IceCandidateType.PeerReflexive, b.Selected!.Remote.Type);
        Assert.Contains(b.Events, e => e.Kind == IceEventKind.RemoteCandidateAdded);
    }

    [Fact]
    public void Early_check_with_use_candidate_nominates_once_credentials_arrive()
    {
        var (sim, a, b) = TwoPeers();
        a.Agent.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword);
        IceSimulation.Trickle(b, a);

        // A's checks succeed (B answers early checks), so A nominates before B has credentials.
        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Connected, 5_000));
        b.Agent.SetRemoteCredentials(a.Agent.LocalUfrag, a.Agent.LocalPassword);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000), $"{a} / {b}");
        AssertSamePath(a, b);
    }

    [Theory]
    [InlineData(IceRole.Controlling)]
    [InlineData(IceRole.Controlled)]
    public void Role_conflict_is_resolved_by_the_tie_breaker(IceRole both)
    {
        var (sim, a, b) = TwoPeers(both, both);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true);
        IceSimulation.Trickle(b, a, true);

        Assert.True(sim.RunUntil(() => BothUp(a, b), 10_000), $"{a} / {b}");
        AssertSamePath(a, b);
        Assert.NotEqual(a.Agent.Role, b.Agent.Role);

        // B's tie-breaker is larger: B controls.
        Assert.Equal(IceRole.Controlling, b.Agent.Role);
        Assert.True(a.Agent.Statistics.RequestsRejected + b.Agent.Statistics.RequestsRejected > 0 || both == IceRole.Controlled || a.Agent.Role != both);
    }

    [Fact]
    public void Both_controlling_answers_487_from_the_larger_tie_breaker()
    {
        var (sim, a, b) = TwoPeers(IceRole.Controlling, IceRole.Controlling);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(b, a); // only A checks first: B (larger) must answer 487
        sim.Run(100);
        Assert.True(b.Agent.Statistics.RequestsRejected > 0);
        Assert.Equal(IceRole.Controlled, a.Agent.Role);
        Assert.Equal(IceRole.Controlling, b.Agent.Role);
        IceSimulation.Trickle(a, b);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 10_000), $"{a} / {b}");
        AssertSamePath(a, b);
    }

    [Theory]
    [InlineData(IceRole.Controlling)]
    [InlineData(IceRole.Controlled)]
    public void Peer_reflexive_discovery_when_one_side_has_no_remote_candidates(IceRole roleOfBlindSide)
    {
        var (sim, a, b) = TwoPeers(roleOfBlindSide, roleOfBlindSide == IceRole.Controlling ? IceRole.Controlled : IceRole.Controlling);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b); // A (blind) never learns B's candidates

        Assert.True(sim.RunUntil(() => BothUp(a, b), 10_000), $"{a} / {b}");
        AssertSamePath(a, b);
        Assert.Equal(IceCandidateType.PeerReflexive, a.Selected!.Remote.Type);
        var learned = Assert.Single(a.Events, e => e.Kind == IceEventKind.RemoteCandidateAdded);
        Assert.Equal("10.0.0.2", learned.Candidate!.Address);
    }

    [Fact]
    public void A_late_signalled_candidate_replaces_the_peer_reflexive_one_of_the_selected_pair()
    {
        var (sim, a, b) = TwoPeers();
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 10_000));
        Assert.Equal(IceCandidateType.PeerReflexive, a.Selected!.Remote.Type);
        var selectedBefore = a.Agent.TryGetSelectedPair(out var socket, out var remote);

        IceSimulation.Trickle(b, a); // what a slow mDNS resolution looks like
        a.DrainEvents();
        Assert.Equal(IceCandidateType.Host, a.Selected!.Remote.Type);
        Assert.True(selectedBefore && a.Agent.TryGetSelectedPair(out var socketAfter, out var remoteAfter) && socketAfter == socket && remoteAfter == remote);
        Assert.Single(a.Agent.RemoteCandidates);
    }

    [Fact]
    public void Behind_a_nat_both_sides_learn_peer_reflexive_candidates()
    {
        var (sim, a, b) = TwoPeers();

        // A's packets appear from 203.0.113.7:6000; B was only told A's private address.
        sim.Mappings[StunAddress.FromIPAddress(System.Net.IPAddress.Parse("10.0.0.1"), 40001)] =
            StunAddress.FromIPAddress(System.Net.IPAddress.Parse("203.0.113.7"), 6000);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b);
        IceSimulation.Trickle(b, a);

        Assert.True(sim.RunUntil(() => BothUp(a, b), 10_000), $"{a} / {b}");
        Assert.Equal("203.0.113.7", b.Selected!.Remote.Address);
        Assert.Contains(a.Events, e => e.Kind == IceEventKind.LocalCandidateAdded && e.Candidate!.Address == "203.0.113.7");
        Assert.Contains(a.Agent.LocalCandidates, c => c.Type == IceCandidateType.PeerReflexive && c.Port == 6000);
    }

    [Theory]
    [InlineData(1, 0.2, 0.1, 20)]
    [InlineData(2, 0.3, 0.0, 0)]
    [InlineData(3, 0.1, 0.3, 50)]
    [InlineData(4, 0.4, 0.2, 30)]
    public void Connects_over_a_lossy_duplicating_reordering_link(int seed, double loss, double duplication, int jitter)
    {
        var (sim, a, b) = TwoPeers(seed: seed);
        sim.Loss = loss;
        sim.Duplication = duplication;
        sim.Jitter = jitter;
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b);
        IceSimulation.Trickle(b, a);

        Assert.True(sim.RunUntil(() => BothUp(a, b), 20_000), $"{a} / {b}");
        AssertSamePath(a, b);

        // Consent survives loss: a minute later both are still up.
        sim.Run(60_000);
        Assert.True(BothUp(a, b), $"{a} / {b}");
    }

    [Fact]
    public void Consent_lost_goes_disconnected_then_failed()
    {
        var (sim, a, b) = TwoPeers();
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true);
        IceSimulation.Trickle(b, a, true);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000));

        sim.LinkUp = false;
        var cut = sim.Now;
        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Disconnected, 15_000));
        var disconnectedAfter = sim.Now - cut;
        Assert.InRange(disconnectedAfter, 5_000, 10_500);
        Assert.True(a.Agent.TryGetSelectedPair(out _, out _)); // still usable while disconnected

        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Failed, 40_000));
        Assert.InRange(sim.Now - cut, 29_000, 33_500);
        Assert.False(a.Agent.TryGetSelectedPair(out _, out _));

        // Consent is gone for good: nothing more is sent on the pair.
        var sent = a.Agent.Statistics.RequestsSent;
        sim.Run(20_000);
        Assert.Equal(sent, a.Agent.Statistics.RequestsSent);
    }

    [Fact]
    public void Disconnected_recovers_when_the_link_returns()
    {
        var (sim, a, b) = TwoPeers();
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true);
        IceSimulation.Trickle(b, a, true);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000));

        sim.LinkUp = false;
        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Disconnected && b.Agent.ConnectionState == IceConnectionState.Disconnected, 15_000));
        sim.LinkUp = true;
        Assert.True(sim.RunUntil(() => BothUp(a, b), 10_000), $"{a} / {b}");
        Assert.Contains(IceConnectionState.Disconnected, a.States);
    }

    [Fact]
    public void Fails_when_every_pair_fails_after_end_of_candidates()
    {
        var (sim, a, b) = TwoPeers();
        IceSimulation.ExchangeCredentials(a, b);
        a.Agent.AddRemoteCandidate(IceCandidate.Parse("candidate:1 1 udp 2130706431 10.9.9.9 9999 typ host"));
        a.Agent.AddRemoteEndOfCandidates();
        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Failed, 20_000));
        Assert.InRange(sim.Now - 1_000_000, 3_000, 15_000);
    }

    [Fact]
    public void Without_end_of_candidates_and_without_any_pair_fails_after_the_checking_timeout()
    {
        var (sim, a, _) = TwoPeers();
        a.Agent.SetRemoteCredentials("abcd", "0123456789012345678901");
        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Failed, 40_000));
        Assert.InRange(sim.Now - 1_000_000, 29_000, 31_000);
    }

    [Fact]
    public void Answering_checks_on_the_selected_pair_does_not_allocate()
    {
        var (sim, a, b) = TwoPeers();
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true);
        IceSimulation.Trickle(b, a, true);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000));

        byte[]? check = null;
        sim.Tamper = packet =>
        {
            if (check is null && StunMessageReader.TryParse(packet, out var reader, out _) && reader.Class == StunClass.Request
                && reader.TryGetIceControlled(out _))
            {
                check = packet; // a consent check from B (controlled) to A
            }

            return packet;
        };
        Assert.True(sim.RunUntil(() => check is not null, 10_000));
        sim.Tamper = null;

        var output = new byte[1500];
        var from = b.Sockets[1];
        for (var i = 0; i < 10; i++)
        {
            a.Agent.HandleStunPacket(1, from, check, sim.Now);
            a.Agent.PollTransmit(output, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            a.Agent.HandleStunPacket(1, from, check, sim.Now);
            Assert.True(a.Agent.PollTransmit(output, out _) > 0);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Close_stops_everything()
    {
        var (sim, a, b) = TwoPeers();
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b);
        IceSimulation.Trickle(b, a);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000));
        a.Agent.Close();
        a.DrainEvents();
        Assert.Equal(IceConnectionState.Closed, a.States[^1]);
        Assert.Null(a.Agent.PollTimeout());
        Assert.False(a.Agent.TryGetSelectedPair(out _, out _));
        Assert.Equal(0, a.Agent.PollTransmit(new byte[1500], out _));
    }
}
