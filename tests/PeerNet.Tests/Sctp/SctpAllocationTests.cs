using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

public class SctpAllocationTests
{
    [Fact]
    public void SteadyStateTransferAllocatesOnlyTheDeliveredPayloads()
    {
        var a = new SctpAssociation(new SctpAssociationOptions { Random = new Random(1), HeartbeatIntervalMs = null });
        var b = new SctpAssociation(new SctpAssociationOptions { Random = new Random(2), HeartbeatIntervalMs = null });
        var buffer = new byte[1500];
        long now = 0;
        var payload = new byte[1000];
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
        Transfer(2000, 1000); // warm up pools and rings
        Transfer(2000, 1); // and the 1-byte path

        var before = GC.GetAllocatedBytesForCurrentThread();
        received = 0;
        Transfer(10_000, 1000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(10_000_000, received);

        // Each delivered message is one byte[] (1000 bytes + ~24 header); allow a little for events.
        var perMessageOverhead = (allocated - received) / 10_000.0;
        Assert.True(perMessageOverhead < 64, $"{perMessageOverhead:F1} bytes allocated per message beyond its payload");
    }
}
