using PeerNet.Ice;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>Consent freshness (RFC 7675) against NAT mapping lifetimes (RFC 4787 §4.3).</summary>
public sealed class NatConsentSimulationTests
{
    /// <summary>
    /// A NAT that forgets a mapping after 1 s idle and is not kept alive by inbound packets: between
    /// consent checks (2.5 s ± 20 %) A's mapping expires, A's next packets leave from a new port, and B's
    /// checks to the old one die at NAT A. B goes disconnected, then fails with consent lost.
    /// </summary>
    [Theory]
    [InlineData(NatKind.PortRestrictedCone, 1)]
    [InlineData(NatKind.Symmetric, 2)]
    [InlineData(NatKind.FullCone, 3)]
    public void Consent_is_lost_when_the_nat_mapping_times_out(NatKind natA, int seed)
    {
        var sim = NatScenario.Create(seed, o =>
        {
            (o.NatA, o.NatB, o.Turn) = (natA, NatKind.FullCone, false);
            o.AdjustNatA = b => b with { MappingTimeout = 1_000, InboundRefreshesMapping = false };
        });
        sim.Start();
        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        var mappings = sim.NatA.MappingsCreated;

        Assert.True(sim.Net.RunUntil(() => sim.B.State == IceConnectionState.Failed, 45_000), sim.Describe());
        Assert.True(sim.NatA.MappingsCreated > mappings, "NAT A made new mappings after the old one expired");
        var states = sim.B.States.SkipWhile(s => s != IceConnectionState.Disconnected).ToArray();
        Assert.Equal([IceConnectionState.Disconnected, IceConnectionState.Failed], states);

        // RFC 7675 §5.1: consent expires 30 s after the last answer, which came before the mapping died.
        Assert.InRange(sim.B.FailedAt!.Value - sim.B.ConnectedAt!.Value, 30_000, 36_000);
        Assert.Contains("consent lost", sim.B.DescribeFailure());
    }

    /// <summary>The same NAT with a 30 s mapping lifetime: consent checks alone keep the mapping, and the connection, alive.</summary>
    [Theory]
    [InlineData(NatKind.PortRestrictedCone, NatKind.PortRestrictedCone, 1)]
    [InlineData(NatKind.Symmetric, NatKind.Symmetric, 2)]
    public void Consent_checks_keep_nat_mappings_alive(NatKind natA, NatKind natB, int seed)
    {
        var sim = NatScenario.Create(seed, o =>
        {
            (o.NatA, o.NatB) = (natA, natB);
            o.AdjustNatA = b => b with { MappingTimeout = 30_000, InboundRefreshesMapping = false };
            o.AdjustNatB = b => b with { MappingTimeout = 30_000, InboundRefreshesMapping = false };
        });
        sim.Start();
        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());
        var selected = (sim.A.SelectedHistory.Count, sim.B.SelectedHistory.Count);

        sim.Net.Run(120_000);
        Assert.True(sim.BothConnected, sim.Describe());
        Assert.DoesNotContain(IceConnectionState.Disconnected, sim.A.States.Concat(sim.B.States));
        Assert.Equal(selected, (sim.A.SelectedHistory.Count, sim.B.SelectedHistory.Count));
        Assert.True(sim.ExchangeData(10), sim.Describe());
    }
}
