using PeerNet.Ice;
using PeerNet.Turn;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>Other shapes of the virtual internet: one NAT for both peers, a TURN server that refuses us, a relayed session that lasts.</summary>
public sealed class NatTopologySimulationTests
{
    [Theory]
    [InlineData(NatKind.PortRestrictedCone, 1)]
    [InlineData(NatKind.Symmetric, 2)]
    public void Peers_behind_the_same_nat_connect_over_host_candidates_without_hairpinning(NatKind nat, int seed)
    {
        var sim = NatScenario.Create(seed, o => (o.NatA, o.SameNat) = (nat, true));
        sim.Start();

        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        Assert.True(sim.ExchangeData(1), sim.Describe());
        Assert.Equal(IceCandidateType.Host, sim.A.Selected!.Local.Type);
        Assert.Equal(IceCandidateType.Host, sim.A.Selected.Remote.Type);
        Assert.Equal("10.0.1.3", sim.A.Selected.Remote.Address);

        // The server-reflexive pairs were tried and died at the NAT, which does not hairpin (RFC 4787 §6).
        sim.Net.Run(10_000);
        Assert.True(sim.NatA.HairpinDrops > 0, sim.Describe());
    }

    [Fact]
    public void Symmetric_to_symmetric_with_a_turn_server_refusing_our_credentials_fails_saying_the_allocation_failed()
    {
        var sim = NatScenario.Create(3, o => (o.NatA, o.NatB, o.TurnPassword) = (NatKind.Symmetric, NatKind.Symmetric, "wrong"));
        sim.Start();

        Assert.True(sim.Net.RunUntil(() => sim.A.State == IceConnectionState.Failed && sim.B.State == IceConnectionState.Failed, 15_000), sim.Describe());
        Assert.Equal(1, sim.A.RelayFailures);
        Assert.Equal(TurnClientState.Failed, sim.A.TurnClients.Single().State);
        Assert.Equal(401, sim.A.TurnClients.Single().Failure!.Code);
        var reason = sim.A.DescribeFailure();
        Assert.Contains("our TURN allocation failed (1 of them)", reason);
        Assert.Contains("need a TURN server", reason);
    }

    /// <summary>
    /// Relay to relay for 25 virtual minutes: the TURN clients refresh the allocation (RFC 8656 §7.3),
    /// permissions (§9, every 4 min) and channels (§12) and answer 438 Stale Nonce as the server's
    /// nonces expire (10 min), while consent keeps both NAT mappings alive; data still flows at the end.
    /// </summary>
    [Fact]
    public void A_relayed_session_outlives_allocation_permission_and_channel_refreshes_and_nonce_expiry()
    {
        var sim = NatScenario.Create(4, o => (o.PolicyA, o.PolicyB) = (IceTransportPolicy.Relay, IceTransportPolicy.Relay));
        sim.Start();
        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        var requests = sim.A.TurnClients.Single().RequestsSent;

        for (var minute = 1; minute <= 25; minute++)
        {
            sim.Net.Run(60_000);
            Assert.True(sim.ExchangeData((byte)minute), $"minute {minute}: {sim.Describe()}");
        }

        Assert.True(sim.BothConnected, sim.Describe());
        Assert.All(sim.A.TurnClients.Concat(sim.B.TurnClients), c => Assert.Equal(TurnClientState.Allocated, c.State));
        Assert.True(sim.A.TurnClients.Single().RequestsSent >= requests + 6, "refreshes of the allocation, the permission and the channel");
        Assert.True(sim.Server.Core.GetDropCount(TurnDropReason.StaleNonce) > 0, "the nonce expired at least once and the clients recovered");
        Assert.Equal(2, sim.Server.Core.AllocationCount);
        Assert.True(sim.A.HasChannelOnSelectedPair && sim.B.HasChannelOnSelectedPair);
    }
}
