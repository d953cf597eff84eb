using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice;

/// <summary>ICE restart (RFC 8445 §9) in simulation: new credentials, a new checklist, the connection survives.</summary>
public class IceRestartSimulationTests
{
    private static (IceSimulation Sim, SimPeer A, SimPeer B) Connected(int seed = 1)
    {
        var sim = new IceSimulation(seed);
        var a = sim.AddPeer("A", IceRole.Controlling, 0x1111_0000_0000_0000);
        var b = sim.AddPeer("B", IceRole.Controlled, 0x2222_0000_0000_0000);
        a.AddHost("10.0.0.1", 40001);
        b.AddHost("10.0.0.2", 50001);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true);
        IceSimulation.Trickle(b, a, true);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000), $"{a} / {b}");
        return (sim, a, b);
    }

    private static bool BothUp(SimPeer a, SimPeer b) =>
        a.Agent.ConnectionState is IceConnectionState.Connected or IceConnectionState.Completed
        && b.Agent.ConnectionState is IceConnectionState.Connected or IceConnectionState.Completed;

    private static bool Restarted(SimPeer a, SimPeer b) => BothUp(a, b) && !a.Agent.IsRestarting && !b.Agent.IsRestarting;

    /// <summary>A restart as JSEP runs it: A offers new credentials, B answers with new ones, candidates trickle again.</summary>
    private static void Restart(SimPeer offerer, SimPeer answerer)
    {
        offerer.Agent.Restart();
        answerer.Agent.Restart();
        IceSimulation.ExchangeCredentials(offerer, answerer);
        IceSimulation.Trickle(offerer, answerer, true);
        IceSimulation.Trickle(answerer, offerer, true);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Restart_gets_new_credentials_and_a_new_pair_without_leaving_connected(bool controllingOffers)
    {
        var (sim, a, b) = Connected();
        var oldUfragA = a.Agent.LocalUfrag;
        var oldUfragB = b.Agent.LocalUfrag;
        var statesBefore = (a.States.Count, b.States.Count);

        if (controllingOffers)
        {
            Restart(a, b);
        }
        else
        {
            Restart(b, a);
        }

        Assert.True(a.Agent.IsRestarting && b.Agent.IsRestarting);
        Assert.True(a.Agent.TryGetSelectedPair(out _, out _)); // data keeps its path meanwhile
        Assert.True(sim.RunUntil(() => Restarted(a, b), 5_000), $"{a} / {b}");

        Assert.NotEqual(oldUfragA, a.Agent.LocalUfrag);
        Assert.NotEqual(oldUfragB, b.Agent.LocalUfrag);
        Assert.Equal(b.Agent.LocalUfrag, a.Agent.RemoteUfrag);
        Assert.Equal(1, a.Agent.Statistics.Restarts);
        Assert.Equal(IceRole.Controlling, a.Agent.Role); // roles survive a restart
        Assert.Equal(IceRole.Controlled, b.Agent.Role);

        // No checking/failed/disconnected on the way: the old pair carried on until the new one was selected.
        Assert.DoesNotContain(a.States.Skip(statesBefore.Item1), s => s is IceConnectionState.Checking or IceConnectionState.Failed or IceConnectionState.Disconnected);
        Assert.DoesNotContain(b.States.Skip(statesBefore.Item2), s => s is IceConnectionState.Checking or IceConnectionState.Failed or IceConnectionState.Disconnected);

        // Consent now runs on the new credentials: a minute later both are still up.
        sim.Run(60_000);
        Assert.True(BothUp(a, b), $"{a} / {b}");
    }

    [Fact]
    public void Old_credentials_keep_working_until_the_new_pair_is_selected_then_retire()
    {
        var (sim, a, b) = Connected();

        // A restarts, but B has not answered yet: B's consent checks still use A's old ufrag and must be answered.
        a.Agent.Restart();
        IceSimulation.Trickle(a, b); // harmless: same addresses
        sim.Run(40_000);
        Assert.True(BothUp(a, b), $"{a} / {b}");
        Assert.True(a.Agent.IsRestarting);
        Assert.Equal(0, b.Agent.Statistics.GetDropped(IceDropReason.BadResponseIntegrity));

        // B answers; once the new pair is selected, a request with A's old ufrag is refused.
        b.Agent.Restart();
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true);
        IceSimulation.Trickle(b, a, true);
        Assert.True(sim.RunUntil(() => Restarted(a, b), 5_000), $"{a} / {b}");
        sim.Run(60_000);
        Assert.True(BothUp(a, b), $"{a} / {b}");
    }

    [Fact]
    public void Restart_after_consent_was_lost_connects_again()
    {
        var (sim, a, b) = Connected();
        sim.LinkUp = false;
        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Failed && b.Agent.ConnectionState == IceConnectionState.Failed, 40_000));
        sim.LinkUp = true;

        Restart(a, b);
        Assert.Equal(IceConnectionState.Checking, a.Agent.ConnectionState);
        Assert.False(a.Agent.IsRestarting); // nothing left of the failed generation
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000), $"{a} / {b}");
        Assert.Equal([IceConnectionState.Failed, IceConnectionState.Checking, IceConnectionState.Connected], a.States.SkipWhile(s => s != IceConnectionState.Failed).Take(3));
    }

    [Fact]
    public void Restart_after_the_nat_rebinds_moves_to_the_new_mapping()
    {
        var sim = new IceSimulation(7);
        var a = sim.AddPeer("A", IceRole.Controlling, 1);
        var b = sim.AddPeer("B", IceRole.Controlled, 2);
        a.AddHost("192.168.1.10", 40001);
        b.AddHost("198.51.100.2", 50001);
        var hostA = StunAddress.FromIPAddress(System.Net.IPAddress.Parse("192.168.1.10"), 40001);
        sim.Mappings[hostA] = StunAddress.FromIPAddress(System.Net.IPAddress.Parse("203.0.113.10"), 61000);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true); // a private host candidate: B learns A's mapping as peer-reflexive
        IceSimulation.Trickle(b, a, true);
        Assert.True(sim.RunUntil(() => BothUp(a, b), 5_000), $"{a} / {b}");
        Assert.Equal(61000, b.Selected!.Remote.Port);

        // The NAT forgets A and maps it anew: B's consent checks to the old mapping go nowhere.
        sim.Mappings[hostA] = StunAddress.FromIPAddress(System.Net.IPAddress.Parse("203.0.113.10"), 62000);
        Assert.True(sim.RunUntil(() => b.Agent.ConnectionState == IceConnectionState.Disconnected, 15_000), $"{b}");

        Restart(a, b);
        Assert.True(sim.RunUntil(() => Restarted(a, b), 10_000), $"{a} / {b}");
        Assert.Equal(62000, b.Selected!.Remote.Port);
        Assert.Equal(IceCandidateType.PeerReflexive, b.Selected.Remote.Type);
        sim.Run(60_000);
        Assert.True(BothUp(a, b), $"{a} / {b}");
    }

    [Fact]
    public void Candidates_of_an_earlier_generation_are_ignored()
    {
        var (_, a, b) = Connected();
        var oldUfragB = b.Agent.LocalUfrag;
        Restart(a, b);
        var stale = IceCandidate.Parse($"candidate:9 1 udp 2130706431 10.0.0.99 9999 typ host generation 0 ufrag {oldUfragB}");
        var current = IceCandidate.Parse($"candidate:9 1 udp 2130706431 10.0.0.98 9999 typ host generation 0 ufrag {b.Agent.LocalUfrag}");
        Assert.False(a.Agent.AddRemoteCandidate(stale));
        Assert.True(a.Agent.AddRemoteCandidate(current));
    }

    [Fact]
    public void Restart_needs_new_credentials_and_a_peer_restart_needs_ours()
    {
        var (_, a, b) = Connected();
        Assert.Throws<ArgumentException>(() => a.Agent.Restart(a.Agent.LocalUfrag, "x".PadRight(22, 'y')));
        Assert.Throws<ArgumentException>(() => a.Agent.Restart("abc", null)); // too short (RFC 8839 §5.4)
        Assert.Throws<ArgumentException>(() => a.Agent.Restart("new!ufrag", null)); // not ice-chars

        b.Agent.Restart();
        // The peer restarted: its new credentials without a restart of ours are refused (RFC 8445 §9).
        Assert.Throws<InvalidOperationException>(() => a.Agent.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword));
        a.Agent.Restart("ufragNEW1", "passwordpasswordpasswordNEW");
        Assert.Equal("ufragNEW1", a.Agent.LocalUfrag);
        a.Agent.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword);
        a.Agent.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword); // the same again: no-op
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Restart_over_a_lossy_link_keeps_the_connection(int seed)
    {
        var (sim, a, b) = Connected(seed);
        sim.Loss = 0.2;
        sim.Jitter = 30;
        Restart(a, b);
        Assert.True(sim.RunUntil(() => Restarted(a, b), 20_000), $"{a} / {b}");
        Assert.DoesNotContain(IceConnectionState.Failed, a.States);
        Assert.DoesNotContain(IceConnectionState.Failed, b.States);
    }
}
