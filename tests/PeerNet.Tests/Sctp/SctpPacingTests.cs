using PeerNet.Sctp;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sctp;

/// <summary>Pacing of new DATA over the round trip (<see cref="SctpAssociationOptions.Pacing"/>).</summary>
public sealed class SctpPacingTests(ITestOutputHelper output)
{
    private const int Mtu = 1191;

    private static SimulatedLink Connected(int delayMs, bool pacing)
    {
        var link = new SimulatedLink(7, new SctpAssociationOptions { Pacing = pacing }) { DelayMs = delayMs };
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 30_000));
        return link;
    }

    /// <summary>The most DATA packets A sent within one virtual millisecond, after the first round trip.</summary>
    private static (int LargestBurst, long Elapsed) Transfer(SimulatedLink link, int bytes)
    {
        var perMs = new Dictionary<long, int>();
        var start = link.Now;
        link.Filter = (toB, packet) =>
        {
            // Byte 12 is the first chunk's type: 0 = DATA.
            if (toB && packet.Length > 12 && packet[12] == 0 && link.A.SmoothedRoundTripTimeMs is not null)
            {
                perMs[link.Now] = perMs.GetValueOrDefault(link.Now) + 1;
            }

            return true;
        };
        for (var offset = 0; offset < bytes; offset += 64 * 1024)
        {
            link.A.Send(1, 53, new byte[Math.Min(64 * 1024, bytes - offset)], SctpSendOptions.Default, link.Now);
        }

        long Received() => link.EventsB.Where(e => e.Kind == SctpEventKind.MessageReceived).Sum(e => (long)e.Payload!.Length);
        Assert.True(link.RunUntil(() => Received() == bytes, 120_000));
        return (perMs.Count == 0 ? 0 : perMs.Values.Max(), link.Now - start);
    }

    [Fact]
    public void AWindowLeavesSpreadOverTheRoundTripNotInOneBurst()
    {
        var paced = Transfer(Connected(delayMs: 25, pacing: true), 8 << 20);
        var unpaced = Transfer(Connected(delayMs: 25, pacing: false), 8 << 20);

        // Without pacing a SACK that opens the window releases it at once; with pacing no millisecond
        // carries more than the burst allowance (10 packets, or 2 ms of the rate when that is more:
        // at most 2 × cwnd ÷ RTT × 2 ms, i.e. 4 % of a window at 50 ms).
        output.WriteLine($"largest burst paced {paced.LargestBurst}, unpaced {unpaced.LargestBurst}; {paced.Elapsed} vs {unpaced.Elapsed} ms");
        Assert.True(unpaced.LargestBurst > 40, $"unpaced burst {unpaced.LargestBurst}");
        Assert.True(paced.LargestBurst <= Math.Max(10, unpaced.LargestBurst / 4), $"paced burst {paced.LargestBurst}, unpaced {unpaced.LargestBurst}");

        // And it costs (almost) no time: the window still grows as fast.
        Assert.True(paced.Elapsed <= unpaced.Elapsed * 1.15, $"paced {paced.Elapsed} ms, unpaced {unpaced.Elapsed} ms");
    }

    [Fact]
    public void ShortRoundTripsAreNotPaced()
    {
        // 1 ms each way: below PacingMinRttMs (4), so the same bursts with pacing on or off.
        var paced = Transfer(Connected(delayMs: 1, pacing: true), 4 << 20);
        var unpaced = Transfer(Connected(delayMs: 1, pacing: false), 4 << 20);
        Assert.Equal(unpaced.LargestBurst, paced.LargestBurst);
        Assert.Equal(unpaced.Elapsed, paced.Elapsed);
    }

    [Fact]
    public void PacingNeverStallsTheSenderUnderLoss()
    {
        var link = Connected(delayMs: 40, pacing: true);
        link.Loss = 0.03;
        var (_, elapsed) = Transfer(link, 2 << 20);
        Assert.True(elapsed < 120_000);
        Assert.False(link.A.PollTimeout() is { } t && t < link.Now, "a timer is overdue");
    }
}
