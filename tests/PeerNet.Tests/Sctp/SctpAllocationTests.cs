using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

/// <summary>Runs alone: tests running in parallel share ArrayPool.Shared and can empty its per-core stacks under us.</summary>
[CollectionDefinition(nameof(SctpAllocationTests), DisableParallelization = true)]
public class SctpAllocationCollection
{
}

[Collection(nameof(SctpAllocationTests))]
public class SctpAllocationTests
{
    [Theory]
    [InlineData(false, 1000)]
    [InlineData(true, 1000)] // I-DATA (RFC 8260) on both sides
    [InlineData(true, 3000)] // I-DATA, three fragments per message interleaved over three streams
    public void SteadyStateTransferAllocatesOnlyTheDeliveredPayloads(bool interleaving, int size)
    {
        var a = new SctpAssociation(new SctpAssociationOptions { Random = new Random(1), HeartbeatIntervalMs = null, EnableInterleaving = interleaving });
        var b = new SctpAssociation(new SctpAssociationOptions { Random = new Random(2), HeartbeatIntervalMs = null, EnableInterleaving = interleaving });
        var buffer = new byte[1500];
        long now = 0;
        var payload = new byte[size];
        long received = 0;

        void Pump()
        {
            int n;
            var moved = true;
            while (moved)
            {
                moved = false;
                while ((n = a.PollTransmit(buffer)) > 0)
                {
                    b.HandlePacket(buffer.AsSpan(0, n), now);
                    moved = true;
                }

                while ((n = b.PollTransmit(buffer)) > 0)
                {
                    a.HandlePacket(buffer.AsSpan(0, n), now);
                    moved = true;
                }

                while (a.TryPollEvent(out _))
                {
                }

                while (b.TryPollEvent(out var e))
                {
                    if (e.Kind == SctpEventKind.MessageReceived)
                    {
                        received += e.Payload!.Length;
                    }
                }

                if (a.PollTimeout() is { } t && t <= now)
                {
                    a.HandleTimeout(now);
                }

                if (b.PollTimeout() is { } u && u <= now)
                {
                    b.HandleTimeout(now);
                }
            }
        }

        void Transfer(int messages, int size)
        {
            for (var i = 0; i < messages; i++)
            {
                a.Send((ushort)(i % 3), 53, payload.AsSpan(0, size), SctpSendOptions.Default, now);
                if (i % 50 == 49)
                {
                    Pump();
                    now += 1;
                }
            }

            Pump();
            now += 300;
            Pump();
        }

        a.Connect(now);
        Pump();
        Assert.Equal(interleaving, a.InterleavingNegotiated);
        Transfer(2000, size); // warm up pools and rings
        Transfer(2000, 1); // and the 1-byte path

        var before = GC.GetAllocatedBytesForCurrentThread();
        received = 0;
        Transfer(10_000, size);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(10_000L * size, received);

        // Each delivered message is one byte[] (1000 bytes + ~24 header); allow a little for events.
        var perMessageOverhead = (allocated - received) / 10_000.0;
        Assert.True(perMessageOverhead < 64, $"{perMessageOverhead:F1} bytes allocated per message beyond its payload");
    }
}
