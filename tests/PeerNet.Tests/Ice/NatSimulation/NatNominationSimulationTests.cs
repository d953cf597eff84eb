using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>
/// Who nominates across NATs: role conflicts (RFC 8445 §7.3.1.1, §7.2.5.1) resolved through NATs and a
/// relay, and a controlling peer that nominates aggressively (USE-CANDIDATE on every check), with the
/// real <see cref="IceAgent"/> as the controlled side.
/// </summary>
public sealed class NatNominationSimulationTests
{
    [Theory]
    [InlineData(IceRole.Controlling, NatKind.PortRestrictedCone, NatKind.PortRestrictedCone, true)]
    [InlineData(IceRole.Controlling, NatKind.Symmetric, NatKind.FullCone, false)]
    [InlineData(IceRole.Controlling, NatKind.Symmetric, NatKind.Symmetric, true)]
    [InlineData(IceRole.Controlled, NatKind.PortRestrictedCone, NatKind.PortRestrictedCone, false)]
    [InlineData(IceRole.Controlled, NatKind.FullCone, NatKind.AddressDependent, true)]
    [InlineData(IceRole.Controlled, NatKind.Symmetric, NatKind.Symmetric, false)]
    public void Role_conflict_across_nats_leaves_the_larger_tie_breaker_controlling(IceRole both, NatKind natA, NatKind natB, bool aHasTheLargerTieBreaker)
    {
        var (large, small) = (0xF000_0000_0000_0001UL, 0x0F00_0000_0000_0002UL);
        var sim = NatScenario.Create((int)both * 10 + (int)natA, o =>
        {
            (o.NatA, o.NatB, o.RoleA, o.RoleB) = (natA, natB, both, both);
            (o.TieBreakerA, o.TieBreakerB) = aHasTheLargerTieBreaker ? (large, small) : (small, large);
        });
        sim.Start();

        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        Assert.True(sim.ExchangeData(9), sim.Describe());
        var (winner, loser) = aHasTheLargerTieBreaker ? (sim.A, sim.B) : (sim.B, sim.A);
        Assert.Equal(IceRole.Controlling, winner.Agent.Role);
        Assert.Equal(IceRole.Controlled, loser.Agent.Role);

        // The conflict cost at most a retransmission or two: still connected quickly, on the path the NATs allow.
        Assert.True(sim.A.ConnectedAt - sim.StartedAt < 3_000 && sim.B.ConnectedAt - sim.StartedAt < 3_000, sim.Describe());
        var a = sim.A.Selected!;
        Assert.Equal((a.Local.Address, a.Local.Port), (sim.B.Selected!.Remote.Address, sim.B.Selected.Remote.Port));
        Assert.True(NatMatrixSimulationTests.DirectPossible(natA, natB) || a.Local.Type == IceCandidateType.Relay || a.Remote.Type == IceCandidateType.Relay, sim.Describe());
    }

    /// <summary>
    /// A peer that nominates aggressively sends USE-CANDIDATE on every check, so several pairs end up
    /// nominated; the controlled agent uses the highest-priority nominated pair (RFC 5245 §8.1.1.2 and
    /// §11.1.1): a later, better nomination moves it, a later, worse one does not.
    /// </summary>
    [Theory]
    [InlineData("low,high,low-relayed", "low,high", 1)]
    [InlineData("high,low,low-relayed", "high", 2)]
    [InlineData("low-relayed,low,high", "low-relayed,low,high", 3)]
    [InlineData("high,low-relayed,low", "high", 4)]
    public void The_controlled_agent_uses_the_highest_priority_pair_an_aggressive_controller_nominated(string order, string expectedSelections, int seed)
    {
        var net = new VirtualInternet(seed);
        var server = new VirtualTurnServer(net, NatScenario.ServerIp);
        var nat = net.AddNat("NAT B", "203.0.113.20", NatBehavior.Of(NatKind.PortRestrictedCone), new LinkProfile(Delay: 20, Jitter: 5));
        var b = new SimulatedIcePeer(net, net.AddHost("host B", "10.0.2.2", nat), "B", new SimulatedIcePeerOptions
        {
            Agent = new IceAgentOptions { Role = IceRole.Controlled, TieBreaker = 7, LocalUfrag = "ufragB", LocalPassword = "passwordOfTheControlledB" },
            StunServer = server.Address,
            TurnServer = server.Address,
        });
        var nominator = new AggressiveNominator(net, tieBreaker: 9, ufrag: "ufragN", password: "passwordOfTheNominatorN");
        var high = nominator.AddHostCandidate("203.0.113.30", 7000, localPreference: 65535);
        var low = nominator.AddHostCandidate("203.0.113.31", 7000, localPreference: 30000);

        b.Gather();
        Assert.True(net.RunUntil(() => b.GatheringDone, 2_000));
        var srflx = Address(b.LocalCandidates.Single(c => c.Type == IceCandidateType.ServerReflexive));
        var relayed = Address(b.LocalCandidates.Single(c => c.Type == IceCandidateType.Relay));
        nominator.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword);
        b.SetRemoteCredentials(nominator.Ufrag, nominator.Password);
        b.AddRemoteCandidate(high);
        b.AddRemoteCandidate(low);
        b.AddRemoteEndOfCandidates();
        net.Run(1_000); // B's own checks open its NAT towards the nominator and validate every pair
        Assert.Null(b.Selected); // nothing nominated yet

        var pairs = new Dictionary<string, (IceCandidate Local, StunAddress Remote)>
        {
            ["high"] = (high, srflx),
            ["low"] = (low, srflx),
            ["low-relayed"] = (low, relayed),
        };
        foreach (var name in order.Split(','))
        {
            var (local, remote) = pairs[name];
            nominator.Nominate(local, remote);
            Assert.True(net.RunUntil(() => nominator.Answered(local, remote), 2_000), $"{name}: {b}");
            net.Run(200);
        }

        // Each selection in turn: which nominator candidate, and over which of B's candidates.
        var names = b.SelectedHistory.Select(p => pairs.First(kv =>
            kv.Value.Local.Address == p.Remote.Address && (kv.Key.EndsWith("relayed", StringComparison.Ordinal) == (p.Local.Type == IceCandidateType.Relay))).Key);
        Assert.Equal(expectedSelections.Split(','), names);
        Assert.Equal("203.0.113.30", b.Selected!.Remote.Address);
        Assert.True(b.IsConnected, b.ToString());

        // Consent keeps flowing on the selected pair.
        net.Run(20_000);
        Assert.True(b.IsConnected, b.ToString());
        Assert.Equal("203.0.113.30", b.Selected!.Remote.Address);
    }

    private static StunAddress Address(IceCandidate candidate) => candidate.TryGetTransportAddress(out var address) ? address : throw new ArgumentException("not an IP literal");
}
