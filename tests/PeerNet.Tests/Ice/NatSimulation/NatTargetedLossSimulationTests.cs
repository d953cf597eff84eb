using System.Buffers.Binary;
using PeerNet.Ice;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>Exactly the packets a test names are lost (or delayed by loss and retransmission), to pin down what each protocol does about it.</summary>
public sealed class NatTargetedLossSimulationTests
{
    private static bool IsStun(ReadOnlySpan<byte> datagram, StunMethod method, StunClass messageClass) =>
        datagram.Length >= StunMessage.HeaderLength && (datagram[0] & 0xC0) == 0
        && StunMessageType.GetMethod(BinaryPrimitives.ReadUInt16BigEndian(datagram)) == method
        && StunMessageType.GetClass(BinaryPrimitives.ReadUInt16BigEndian(datagram)) == messageClass;

    /// <summary>
    /// Every answer to B's ChannelBind is lost until B's TURN client gives up on it. The server did bind the
    /// channel and relays A's datagrams to B as ChannelData on it (RFC 8656 §12: a client must be ready for
    /// ChannelData as soon as it asked for the channel), so B must keep understanding that channel number —
    /// otherwise every datagram from A is dropped until the server's binding expires, 10 minutes later,
    /// and both sides lose consent.
    /// </summary>
    [Theory]
    [InlineData(NatKind.Symmetric, NatKind.Symmetric, 1)]
    [InlineData(NatKind.PortRestrictedCone, NatKind.PortRestrictedCone, 2)]
    public void A_channel_bind_whose_answers_are_all_lost_does_not_cut_the_relayed_path(NatKind natA, NatKind natB, int seed)
    {
        var sim = NatScenario.Create(seed, o => (o.NatA, o.NatB, o.PolicyA, o.PolicyB) = (natA, natB, IceTransportPolicy.Relay, IceTransportPolicy.Relay));
        var cut = true;
        sim.Net.DropIf = (source, destination, datagram) =>
            cut && destination.WithPort(0) == sim.NatB.PublicAddress && IsStun(datagram, StunMethod.ChannelBind, StunClass.SuccessResponse);
        sim.Start();
        Assert.True(sim.RunUntilConnected(5_000), sim.Describe());

        // B's client retransmits, then gives up on the bind (10 s, the transport's TURN timeout).
        var client = sim.B.TurnClients.Single();
        Assert.True(sim.Net.RunUntil(() => sim.B.TurnFailures.Any(f => f.Failure.Operation == TurnClientOperation.ChannelBind), 15_000), sim.Describe());
        Assert.True(sim.Net.PacketsDroppedByFilter >= 2, "the server answered B's ChannelBind (and the answers were lost)");
        cut = false;

        // Consent and data keep flowing both ways, and the channel ends up bound again.
        sim.Net.Run(45_000);
        Assert.True(sim.BothConnected, sim.Describe());
        Assert.DoesNotContain(IceConnectionState.Disconnected, sim.A.States.Concat(sim.B.States));
        Assert.True(sim.ExchangeData(1), sim.Describe());
        Assert.Equal(0, client.DroppedCount);
        Assert.True(sim.B.HasChannelOnSelectedPair, "B asked for the channel again");
    }
    /// <summary>
    /// The answers to A's checks on the direct (srflx↔srflx) path are lost for the first 2 s, as a
    /// lossy link can lose a retransmission or two, while B's checks reach A on that path and a
    /// relayed pair succeeds at once. Nominating is final, so nominating the relayed pair 1 s
    /// after it succeeded would keep the session on the relay (twice the round trip) for good:
    /// the controlling agent waits longer for a better pair the remote has already reached it on.
    /// With that wait cut to the short one, the relayed pair is what gets nominated.
    /// </summary>
    [Theory]
    [InlineData(4_000, false)]
    [InlineData(1_000, true)]
    public void A_direct_pair_whose_answers_come_late_is_still_nominated_over_a_relayed_one(int reachableWait, bool relayed)
    {
        var sim = NatScenario.Create(3, o => o.Agent = a => a.ReachablePairNominationTimeout = reachableWait);
        long lossUntil = 0;
        var lost = 0;
        sim.Net.DropIf = (source, destination, datagram) =>
        {
            var drop = sim.Net.Now < lossUntil && source.WithPort(0) == sim.NatB.PublicAddress && destination.WithPort(0) == sim.NatA.PublicAddress
                && IsStun(datagram, StunMethod.Binding, StunClass.SuccessResponse);
            lost += drop ? 1 : 0;
            return drop;
        };
        lossUntil = sim.Net.Now + 2_000;
        sim.Start();
        Assert.True(sim.RunUntilConnected(10_000), sim.Describe());
        Assert.True(sim.Net.RunUntil(() => sim.A.Selected is not null && sim.B.Selected is not null, 10_000), sim.Describe());
        Assert.True(lost > 0, "answers on the direct path were lost");

        var pair = sim.A.Selected!;
        var viaRelay = pair.Local.Type == IceCandidateType.Relay || pair.Remote.Type == IceCandidateType.Relay;
        Assert.True(relayed == viaRelay, $"selected {pair} ({pair.Local.Type.ToToken()} → {pair.Remote.Type.ToToken()}); {sim.Describe()}");
        Assert.Single(sim.A.SelectedHistory);
        Assert.True(sim.ExchangeData(1), sim.Describe());
    }
}
