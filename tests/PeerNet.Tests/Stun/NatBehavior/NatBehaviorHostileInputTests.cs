using System.Buffers.Binary;
using PeerNet.Stun;
using PeerNet.Stun.NatBehavior;

namespace PeerNet.Tests.Stun.NatBehavior;

public class NatBehaviorHostileInputTests
{
    private static readonly StunAddress Primary = SimulatedStunServer.Primary;
    private static readonly StunAddress Alternate = SimulatedStunServer.Alternate;
    private static readonly StunAddress Local = SimulatedStunServer.Address("10.0.0.2:5000");
    private static readonly StunAddress Mapped = SimulatedStunServer.Address("198.51.100.1:40000");

    [Fact]
    public void Wrong_transaction_id_wrong_source_and_wrong_kind_are_dropped_with_their_reason()
    {
        var (discovery, id) = Started();

        Assert.False(discovery.HandleResponse(Response(StunTransactionId.NewRandom(), Mapped, Alternate), Primary, 10));
        Assert.Equal(NatBehaviorDropReason.UnknownTransaction, discovery.LastDropReason);

        Assert.False(discovery.HandleResponse(Response(id, Mapped, Alternate), SimulatedStunServer.Address("192.0.2.99:3478"), 10));
        Assert.Equal(NatBehaviorDropReason.WrongSource, discovery.LastDropReason);

        Assert.False(discovery.HandleResponse(Message(StunMethod.Binding, StunClass.Request, id), Primary, 10));
        Assert.Equal(NatBehaviorDropReason.NotABindingResponse, discovery.LastDropReason);
        Assert.False(discovery.HandleResponse(Message(StunMethod.Allocate, StunClass.SuccessResponse, id), Primary, 10));
        Assert.Equal(NatBehaviorDropReason.NotABindingResponse, discovery.LastDropReason);
        Assert.False(discovery.HandleResponse(Message(StunMethod.Binding, StunClass.Indication, id), Primary, 10));

        Assert.False(discovery.HandleResponse(Message(StunMethod.Binding, StunClass.SuccessResponse, id), Primary, 10));
        Assert.Equal(NatBehaviorDropReason.NoMappedAddress, discovery.LastDropReason);

        Assert.False(discovery.HandleResponse([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4], Primary, 10)); // ChannelData
        Assert.False(discovery.HandleResponse([], Primary, 10));
        Assert.Equal(NatBehaviorDropReason.Malformed, discovery.LastDropReason);
        Assert.Equal(8, discovery.DroppedCount);

        // Still waiting on test I; the genuine answer goes through.
        Assert.True(discovery.HandleResponse(Response(id, Mapped, Alternate), Primary, 20));
        Assert.Equal(Mapped, discovery.Result.MappedAddress);
        Assert.False(discovery.HandleResponse(Response(id, Mapped, Alternate), Primary, 20)); // a duplicate
        Assert.Equal(NatBehaviorDropReason.UnknownTransaction, discovery.LastDropReason);
    }

    [Fact]
    public void Truncated_and_lying_lengths_are_malformed()
    {
        var (discovery, id) = Started();
        var good = Response(id, Mapped, Alternate);
        for (var length = 0; length < good.Length; length++)
        {
            Assert.False(discovery.HandleResponse(good.AsSpan(0, length), Primary, 10));
        }

        var lying = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(lying.AsSpan(2), 0xFFFC);
        Assert.False(discovery.HandleResponse(lying, Primary, 10));
        Assert.Equal(NatBehaviorDropReason.Malformed, discovery.LastDropReason);

        var oversized = new byte[70_000];
        good.CopyTo(oversized, 0);
        Assert.False(discovery.HandleResponse(oversized, Primary, 10));

        Assert.True(discovery.HandleResponse(good, Primary, 20));
    }

    [Fact]
    public void Random_garbage_never_throws_or_completes_anything()
    {
        var (discovery, _) = Started();
        var random = new Random(5780);
        var buffer = new byte[600];
        for (var i = 0; i < 20_000; i++)
        {
            var length = random.Next(buffer.Length);
            random.NextBytes(buffer.AsSpan(0, length));
            if (random.Next(2) == 0 && length >= 8)
            {
                // Make it look like STUN more often than chance does.
                buffer[0] = 0x01;
                buffer[1] = 0x01;
                BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(4), StunMessage.MagicCookie);
            }

            Assert.False(discovery.HandleResponse(buffer.AsSpan(0, length), Primary, 10));
        }

        Assert.False(discovery.IsComplete);
        Assert.Equal(20_000, discovery.DroppedCount);
    }

    [Fact]
    public void Mutated_answers_in_a_seeded_loop_never_crash_and_leave_a_consistent_state()
    {
        var random = new Random(4787);
        var accepted = 0;
        for (var i = 0; i < 5_000; i++)
        {
            var (discovery, id) = Started();
            var good = Response(id, Mapped, Alternate);
            var bad = (byte[])good.Clone();
            var flips = random.Next(1, 4);
            for (var f = 0; f < flips; f++)
            {
                bad[random.Next(bad.Length)] ^= (byte)random.Next(1, 256);
            }

            if (random.Next(4) == 0)
            {
                bad = bad.AsSpan(0, random.Next(bad.Length)).ToArray();
            }

            if (discovery.HandleResponse(bad, Primary, 10))
            {
                // Still a valid Binding answer with our id (STUN Binding carries no integrity): the
                // discovery moved on, and must be in a state that makes sense.
                accepted++;
                var result = discovery.Result;
                Assert.NotEqual(default, result.MappedAddress);
                Assert.True(discovery.IsComplete ? result.Status != NatBehaviorStatus.Running : discovery.PollTimeout() is not null);
                continue;
            }

            // Refused: the genuine answer still works.
            Assert.True(discovery.HandleResponse(good, Primary, 20), $"iteration {i}: the good answer was refused after a bad one");
            Assert.Equal(Mapped, discovery.Result.MappedAddress);
            Assert.Equal(Alternate, discovery.Result.OtherAddress);
        }

        Assert.InRange(accepted, 1, 4_000);
    }

    [Fact]
    public void Mutated_answers_in_every_phase_of_a_simulated_run_do_not_change_a_cone_into_anything_else()
    {
        for (var seed = 0; seed < 50; seed++)
        {
            var random = new Random(seed);
            var sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.EndpointIndependent, new SimulatedStunServer(), seed)
            {
                // Each answer arrives as a mutated copy (whose flipped byte lies outside the transaction
                // id, the type and the addresses) first, then the genuine one.
                Tamper = (bytes, from) =>
                {
                    var bad = (byte[])bytes.Clone();
                    bad[random.Next(2, 4)] ^= (byte)random.Next(1, 256); // the length
                    var truncated = bytes.AsSpan(0, random.Next(bytes.Length)).ToArray();
                    return [(bad, from), (truncated, from), (bytes, SimulatedStunServer.Address("192.0.2.77:1")), (bytes, from)];
                },
            };
            var result = sim.Run(sim.Create());
            Assert.Equal(NatMappingBehavior.EndpointIndependent, result.Mapping);
            Assert.Equal(NatFilteringBehavior.EndpointIndependent, result.Filtering);
        }
    }

    [Fact]
    public void Answers_before_start_and_after_the_end_are_dropped()
    {
        var discovery = new NatBehaviorDiscovery(new NatBehaviorDiscoveryOptions { Server = Primary, LocalAddress = Local });
        Assert.False(discovery.HandleResponse(Response(StunTransactionId.NewRandom(), Mapped, Alternate), Primary, 0));
        discovery.HandleTimeout(0); // harmless before Start

        var (started, id) = Started(o => o.DiscoverFiltering = false);
        Assert.True(started.HandleResponse(Response(id, Mapped, default), Primary, 10)); // no OTHER-ADDRESS: done
        Assert.True(started.IsComplete);
        Assert.Equal(NatBehaviorStatus.NotSupported, started.Result.Status);
        Assert.False(started.HandleResponse(Response(id, Mapped, Alternate), Primary, 20));
        started.HandleTimeout(100_000);
        Assert.Equal(NatBehaviorStatus.NotSupported, started.Result.Status);
    }

    private static (NatBehaviorDiscovery Discovery, StunTransactionId Id) Started(Action<NatBehaviorDiscoveryOptions>? configure = null)
    {
        var options = new NatBehaviorDiscoveryOptions { Server = Primary, LocalAddress = Local };
        configure?.Invoke(options);
        var discovery = new NatBehaviorDiscovery(options);
        discovery.Start(0);
        var buffer = new byte[NatBehaviorDiscovery.MaxRequestLength];
        var length = discovery.PollTransmit(buffer, out var remote);
        Assert.Equal(Primary, remote);
        Assert.True(StunMessageReader.TryParse(buffer.AsSpan(0, length), out var request, out _));
        return (discovery, request.TransactionId);
    }

    private static byte[] Response(StunTransactionId id, StunAddress mapped, StunAddress other)
    {
        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
        w.AddXorMappedAddress(mapped);
        if (other.Family != StunAddressFamily.None)
        {
            w.AddOtherAddress(other);
        }

        w.AddResponseOrigin(Primary);
        w.AddFingerprint();
        w.TryGetMessage(out var message);
        return message.ToArray();
    }

    private static byte[] Message(StunMethod method, StunClass messageClass, StunTransactionId id)
    {
        var buffer = new byte[64];
        var w = new StunMessageWriter(buffer, method, messageClass, id);
        w.TryGetMessage(out var message);
        return message.ToArray();
    }
}
