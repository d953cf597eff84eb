using PeerNet.Ice;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>
/// ICE restart (RFC 8445 §9) across simulated NATs: after a NAT rebinding the old pair is dead one way and a
/// restart finds the new mapping; on a healthy connection a restart loses no data, because the old pair
/// carries it until a pair of the new generation is selected.
/// </summary>
public sealed class NatRestartSimulationTests
{
    [Theory]
    [InlineData(NatKind.PortRestrictedCone, NatKind.RestrictedCone, 1)]
    [InlineData(NatKind.PortRestrictedCone, NatKind.FullCone, 2)]
    [InlineData(NatKind.Symmetric, NatKind.PortRestrictedCone, 3)]
    [InlineData(NatKind.Symmetric, NatKind.Symmetric, 4)]
    [InlineData(NatKind.FullCone, NatKind.Symmetric, 5)]
    public void Restart_after_a_nat_rebinding_reestablishes_the_connection(NatKind natA, NatKind natB, int seed)
    {
        var sim = NatScenario.Create(seed, o => (o.NatA, o.NatB) = (natA, natB));
        sim.Start();
        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        var before = (A: sim.A.Selected!, B: sim.B.Selected!);

        // NAT A reboots: every mapping is forgotten, host A's packets leave from new ports (its TURN
        // allocation's 5-tuple is gone too). B's consent checks to A's old mapping die at NAT A.
        sim.Net.Run(1_000);
        sim.NatA.Rebind();
        Assert.True(sim.Net.RunUntil(() => sim.B.State == IceConnectionState.Disconnected, 15_000), sim.Describe());

        // B sees it first and restarts (JSEP: a new offer with iceRestart).
        var restartAt = sim.Net.Now;
        sim.Restart(sim.B);
        Assert.True(sim.B.Agent.IsRestarting, "the old pair is kept while the new checklist runs");
        Assert.True(sim.Net.RunUntil(() => sim.BothConnectedAfterRestart, 5_000), sim.Describe());
        Assert.True(sim.Net.Now - restartAt < 3_000, sim.Describe());

        // The new pair goes through A's new mapping.
        var after = (A: sim.A.Selected!, B: sim.B.Selected!);
        var aSide = before.A.Local.Type == IceCandidateType.Relay ? (before.A.Remote, after.A.Remote) : (before.A.Local, after.A.Local);
        Assert.NotEqual((aSide.Item1.Address, aSide.Item1.Port), (aSide.Item2.Address, aSide.Item2.Port));
        Assert.Equal((after.A.Local.Address, after.A.Local.Port), (after.B.Remote.Address, after.B.Remote.Port));
        Assert.True(sim.ExchangeData(7), sim.Describe());
        Assert.DoesNotContain(IceConnectionState.Failed, sim.B.States);

        // Consent runs on the new pair and keeps the new mappings alive.
        sim.Net.Run(60_000);
        Assert.True(sim.BothConnected, sim.Describe());
        Assert.True(sim.ExchangeData(8), sim.Describe());
    }

    [Theory]
    [InlineData(NatKind.PortRestrictedCone, NatKind.PortRestrictedCone, 1, true)]
    [InlineData(NatKind.Symmetric, NatKind.FullCone, 2, false)]
    [InlineData(NatKind.Symmetric, NatKind.Symmetric, 3, true)]
    [InlineData(NatKind.AddressDependent, NatKind.PortRestrictedCone, 4, false)]
    public void During_a_restart_data_keeps_flowing_on_the_old_pair_until_the_new_one_is_selected(NatKind natA, NatKind natB, int seed, bool controllingOffers)
    {
        var sim = NatScenario.Create(seed, o => (o.NatA, o.NatB) = (natA, natB));
        sim.Start();
        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        var pump = new DataPump(sim.Net, sim.A, sim.B, interval: 20);
        sim.Net.Run(500);
        var oldPairs = (A: sim.A.SelectedHistory.Count, B: sim.B.SelectedHistory.Count);
        Assert.True(sim.A.Agent.TryGetSelectedPair(out var oldSocketA, out var oldRemoteA));

        var restartAt = sim.Net.Now;
        sim.Restart(controllingOffers ? sim.A : sim.B);
        var sentWhileRestarting = 0;
        Assert.True(sim.Net.RunUntil(() =>
        {
            // Until A selects a pair of the new generation, its data leaves on the old one.
            if (sim.A.Agent.IsRestarting)
            {
                Assert.True(sim.A.Agent.TryGetSelectedPair(out var socketId, out var remote));
                Assert.Equal((oldSocketA, oldRemoteA), (socketId, remote));
                sentWhileRestarting = pump.Sent.Count;
            }

            return sim.BothConnectedAfterRestart;
        }, 5_000), sim.Describe());
        var restartedAt = sim.Net.Now;
        sim.Net.Run(500);
        pump.Running = false;
        sim.Net.Run(1_000); // the last datagrams land

        Assert.True(sentWhileRestarting > 0);
        Assert.True(sim.A.SelectedHistory.Count > oldPairs.A && sim.B.SelectedHistory.Count > oldPairs.B, "a pair of the new generation was selected on both sides");
        Assert.Empty(pump.Missing(sim.A, sim.B, restartAt - 500, restartedAt + 500));
        Assert.Empty(pump.Missing(sim.B, sim.A, restartAt - 500, restartedAt + 500));
        Assert.DoesNotContain(IceConnectionState.Disconnected, sim.A.States.Concat(sim.B.States));
        Assert.DoesNotContain(IceConnectionState.Checking, sim.A.States.Skip(2).Concat(sim.B.States.Skip(2)));
    }
}
