using PeerNet.Ice;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>
/// The NAT lab's matrix (tests/PeerNet.Integration.Tests/NatLab) in deterministic simulation, for every
/// combination of RFC 4787 NAT behaviours: which path ICE finds, how fast in virtual time, and that
/// data then flows both ways over it.
/// </summary>
public sealed class NatMatrixSimulationTests
{
    public static TheoryData<NatKind, NatKind, int> AllPairs(params int[] seeds)
    {
        var data = new TheoryData<NatKind, NatKind, int>();
        foreach (var a in Enum.GetValues<NatKind>())
        {
            foreach (var b in Enum.GetValues<NatKind>())
            {
                foreach (var seed in seeds)
                {
                    data.Add(a, b, seed);
                }
            }
        }

        return data;
    }

    public static TheoryData<NatKind, NatKind, int> Matrix => AllPairs(1, 2);

    public static TheoryData<NatKind, NatKind, int> LossyMatrix => AllPairs(11, 12, 13);

    public static TheoryData<NatKind, NatKind, int> OneSeed => AllPairs(5);

    /// <summary>
    /// Whether a direct path exists for ICE without port prediction: both NATs keep one mapping for every
    /// destination (cone↔cone), or one does and its filtering admits packets from the other NAT's fresh
    /// per-destination port (its IP was contacted, so endpoint-independent or address-dependent filtering).
    /// </summary>
    internal static bool DirectPossible(NatKind a, NatKind b)
    {
        var (x, y) = (NatBehavior.Of(a), NatBehavior.Of(b));
        var (coneA, coneB) = (x.Mapping == NatMapping.EndpointIndependent, y.Mapping == NatMapping.EndpointIndependent);
        return (coneA && coneB)
            || (coneA && x.Filtering != NatFiltering.AddressAndPortDependent)
            || (coneB && y.Filtering != NatFiltering.AddressAndPortDependent);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Connects_over_the_path_the_nats_allow(NatKind natA, NatKind natB, int seed)
    {
        var sim = NatScenario.Create(seed, o => (o.NatA, o.NatB) = (natA, natB));
        sim.Start();

        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        Assert.True(sim.ExchangeData(1), "data over the selected pair: " + sim.Describe());
        AssertPathMatchesNats(sim);
        Assert.True(sim.Net.RunUntil(() => sim.A.State == IceConnectionState.Completed && sim.B.State == IceConnectionState.Completed, 15_000), sim.Describe());
    }

    [Theory]
    [MemberData(nameof(LossyMatrix))]
    public void Connects_with_200ms_rtt_and_2_percent_loss(NatKind natA, NatKind natB, int seed)
    {
        // 50 ms (+ up to 10 ms jitter) and 2 % loss on each NAT's uplink: 200 ms RTT between the hosts, each packet judged per link crossed.
        var sim = NatScenario.Create(seed, o => (o.NatA, o.NatB, o.Link) = (natA, natB, new LinkProfile(Delay: 50, Jitter: 10, Loss: 0.02)));
        sim.Start();

        Assert.True(sim.RunUntilConnected(15_000), sim.Describe());
        Assert.True(sim.ExchangeData(2, 5_000), "data over the selected pair: " + sim.Describe());
        var a = sim.A.Selected!;
        Assert.True(DirectPossible(natA, natB) || a.Local.Type == IceCandidateType.Relay || a.Remote.Type == IceCandidateType.Relay, sim.Describe());
    }

    [Theory]
    [MemberData(nameof(OneSeed))]
    public void Without_turn_connects_only_where_a_direct_path_exists_and_otherwise_says_turn_is_needed(NatKind natA, NatKind natB, int seed)
    {
        var sim = NatScenario.Create(seed, o => (o.NatA, o.NatB, o.Turn) = (natA, natB, false));
        sim.Start();

        if (DirectPossible(natA, natB))
        {
            Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
            AssertPathMatchesNats(sim);
            return;
        }

        // Every check times out (7 transmissions, about 8 s) and end-of-candidates arrived: failed well within 15 s.
        Assert.True(sim.Net.RunUntil(() => sim.A.State == IceConnectionState.Failed && sim.B.State == IceConnectionState.Failed, 15_000), sim.Describe());
        Assert.Null(sim.A.ConnectedAt);
        Assert.Null(sim.B.ConnectedAt);
        foreach (var peer in new[] { sim.A, sim.B })
        {
            var reason = peer.DescribeFailure();
            Assert.Contains("srflx", reason);
            Assert.Contains("no relay candidates on either side (we have no TURN server)", reason);
            Assert.Contains("need a TURN server", reason);
            Assert.Contains(IceFailureReason.TurnHint, reason);
        }
    }

    [Theory]
    [InlineData(NatKind.PortRestrictedCone, NatKind.PortRestrictedCone, 1)]
    [InlineData(NatKind.FullCone, NatKind.Symmetric, 2)]
    [InlineData(NatKind.Symmetric, NatKind.Symmetric, 3)]
    [InlineData(NatKind.AddressDependent, NatKind.RestrictedCone, 4)]
    public void Relay_policy_on_both_sides_goes_through_turn(NatKind natA, NatKind natB, int seed)
    {
        var sim = NatScenario.Create(seed, o => (o.NatA, o.NatB, o.PolicyA, o.PolicyB) = (natA, natB, IceTransportPolicy.Relay, IceTransportPolicy.Relay));
        sim.Start();

        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        Assert.True(sim.ExchangeData(4), sim.Describe());
        Assert.All(sim.A.LocalCandidates.Concat(sim.B.LocalCandidates), c => Assert.Equal(IceCandidateType.Relay, c.Type));
        foreach (var peer in new[] { sim.A, sim.B })
        {
            Assert.Equal(IceCandidateType.Relay, peer.Selected!.Local.Type);
            Assert.Equal(IceCandidateType.Relay, peer.Selected.Remote.Type);
        }

        // The selected pair's relay bound a channel to the peer, so data goes as ChannelData (RFC 8656 §12).
        Assert.True(sim.A.HasChannelOnSelectedPair && sim.B.HasChannelOnSelectedPair, sim.Describe());
    }

    [Theory]
    [InlineData(NatKind.PortRestrictedCone, NatKind.PortRestrictedCone, 1)]
    [InlineData(NatKind.FullCone, NatKind.FullCone, 2)]
    [InlineData(NatKind.Symmetric, NatKind.PortRestrictedCone, 3)]
    public void Relay_policy_on_one_side_puts_its_relay_on_the_selected_pair(NatKind natA, NatKind natB, int seed)
    {
        var sim = NatScenario.Create(seed, o => (o.NatA, o.NatB, o.PolicyA) = (natA, natB, IceTransportPolicy.Relay));
        sim.Start();

        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        Assert.True(sim.ExchangeData(5), sim.Describe());
        Assert.Equal(IceCandidateType.Relay, sim.A.Selected!.Local.Type);
        Assert.Equal(IceCandidateType.Relay, sim.B.Selected!.Remote.Type);
    }

    private static void AssertPathMatchesNats(NatScenario sim)
    {
        var (natA, natB) = (sim.Options.NatA, sim.Options.NatB);
        var a = sim.A.Selected!;
        var b = sim.B.Selected!;
        var description = $"A {a}; B {b}; " + sim.Describe();

        // Both ends agree on the path.
        Assert.Equal((a.Local.Address, a.Local.Port), (b.Remote.Address, b.Remote.Port));
        Assert.Equal((a.Remote.Address, a.Remote.Port), (b.Local.Address, b.Local.Port));

        var (coneA, coneB) = (NatBehavior.IsCone(natA), NatBehavior.IsCone(natB));
        if (coneA && coneB)
        {
            // cone↔cone: directly between the server-reflexive addresses.
            Assert.True(a.Local.Type == IceCandidateType.ServerReflexive && a.Remote.Type == IceCandidateType.ServerReflexive, description);
            Assert.True(b.Local.Type == IceCandidateType.ServerReflexive && b.Remote.Type == IceCandidateType.ServerReflexive, description);
        }
        else if (DirectPossible(natA, natB))
        {
            // symmetric↔cone: the symmetric side's per-destination mapping is peer-reflexive on both ends.
            var (sym, cone) = coneA ? (b, a) : (a, b);
            Assert.True(sym.Local.Type == IceCandidateType.PeerReflexive && sym.Remote.Type == IceCandidateType.ServerReflexive, description);
            Assert.True(cone.Local.Type == IceCandidateType.ServerReflexive && cone.Remote.Type == IceCandidateType.PeerReflexive, description);
        }
        else
        {
            // Only through the relay: a relayed candidate on the path, seen from both ends.
            Assert.True(a.Local.Type == IceCandidateType.Relay || a.Remote.Type == IceCandidateType.Relay, description);
            Assert.True(b.Local.Type == IceCandidateType.Relay || b.Remote.Type == IceCandidateType.Relay, description);
        }

        // Connected within a bound of virtual time (the controlling side waits up to 1 s for better pairs).
        Assert.True(sim.A.ConnectedAt - sim.StartedAt < 3_000 && sim.B.ConnectedAt - sim.StartedAt < 3_000, description);
    }
}
