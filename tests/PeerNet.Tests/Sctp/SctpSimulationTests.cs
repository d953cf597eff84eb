using System.Diagnostics;
using PeerNet.Sctp;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sctp;

/// <summary>
/// Deterministic simulation: thousands of seeded runs of two associations over lossy, reordering,
/// duplicating, delaying, rate-limited virtual paths with mixed channels. Every run checks that
/// reliable messages arrive once and byte-exact, ordered streams in order, partial-reliability
/// limits hold on the wire, both sides drain (nothing left queued or in flight) within a bound of
/// virtual time, and a graceful shutdown completes. A failure names its scenario and seed.
/// </summary>
public class SctpSimulationTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, (SimulationScenario Scenario, int Seeds)> Scenarios = new()
    {
        ["clean"] = (new SimulationScenario { Name = "clean", Network = new() { DelayMs = 10 }, LargeMessageChance = 0.1 }, 250),
        ["loss1"] = (new SimulationScenario { Name = "loss1", Network = new() { Loss = 0.01, DelayMs = 20, JitterMs = 10, Reorder = true }, LargeMessageChance = 0.1 }, 300),
        ["loss5"] = (new SimulationScenario { Name = "loss5", Network = new() { Loss = 0.05, Duplication = 0.02, DelayMs = 0, JitterMs = 300, Reorder = true }, LargeMessageChance = 0.05 }, 300),
        ["loss20"] = (new SimulationScenario { Name = "loss20", Network = new() { Loss = 0.20, Duplication = 0.05, DelayMs = 30, JitterMs = 20, Reorder = true } }, 200),
        ["bursts"] = (new SimulationScenario { Name = "bursts", Network = new() { Loss = 0.005, BurstStart = 0.02, BurstEnd = 0.25, DelayMs = 50, JitterMs = 5 }, LargeMessageChance = 0.1 }, 250),
        ["window4k"] = (new SimulationScenario { Name = "window4k", Network = new() { Loss = 0.02, DelayMs = 25, JitterMs = 25, Reorder = true }, ReceiveWindow = 4096, ReadIntervalMs = 20, ReadBudgetBytes = 3000, LargeMessageChance = 0.05 }, 200),
        ["window1mtu"] = (new SimulationScenario { Name = "window1mtu", Network = new() { Loss = 0.01, DelayMs = 15, Duplication = 0.02 }, ReceiveWindow = 1500, ReadIntervalMs = 10, ReadBudgetBytes = 1500 }, 150),
        ["bandwidth"] = (new SimulationScenario { Name = "bandwidth", Network = new() { BytesPerSecond = 125_000, QueueBytes = 24_000, DelayMs = 40, Loss = 0.005 }, LargeMessageChance = 0.1 }, 200),
        ["delay300"] = (new SimulationScenario { Name = "delay300", Network = new() { Loss = 0.03, Duplication = 0.05, DelayMs = 150, JitterMs = 150, Reorder = true }, LargeMessageChance = 0.05 }, 150),
    };

    /// <summary>Every scenario with DATA, and again with I-DATA (RFC 8260) negotiated on both sides.</summary>
    public static TheoryData<string, bool> ScenarioNames
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (var name in Scenarios.Keys)
            {
                data.Add(name, false);
                data.Add(name, true);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void EverySeedDeliversAndDrains(string name, bool interleaving)
    {
        var (scenario, seeds) = Scenarios[name];
        scenario = scenario with { Interleaving = interleaving };
        var watch = Stopwatch.StartNew();
        long packets = 0, virtualMs = 0, timeouts = 0, fastRetransmits = 0, abandoned = 0;
        for (var seed = 1; seed <= seeds; seed++)
        {
            var sim = new SctpSimulation(scenario, seed);
            sim.Connect();
            sim.GenerateWorkload();
            sim.RunToCompletion();
            packets += sim.PacketsSent;
            virtualMs += sim.Now - sim.ConnectedAt;
            timeouts += sim.A.Statistics.RetransmissionTimeouts + sim.B.Statistics.RetransmissionTimeouts;
            fastRetransmits += sim.A.Statistics.FastRetransmits + sim.B.Statistics.FastRetransmits;
            abandoned += sim.A.Statistics.MessagesAbandoned + sim.B.Statistics.MessagesAbandoned;
        }

        output.WriteLine($"{scenario}: {seeds} seeds in {watch.ElapsedMilliseconds} ms wall, {packets} packets, mean {virtualMs / seeds} ms virtual per seed, {timeouts} T3 expiries, {fastRetransmits} fast retransmits, {abandoned} messages abandoned");
    }

    /// <summary>User data in a full DATA chunk at the default MTU (1191, padded to 1188).</summary>
    private const int Segment = 1188 - SctpPacket.HeaderLength - DataChunk.HeaderLength;

    /// <summary>
    /// Without loss, slow start from 10 MTUs grows by one MTU per SACK and the peer SACKs every
    /// second packet (§6.2, §7.2.1): ×1.5 per round trip. The transfer needs k round trips with
    /// 10·(1.5^k − 1)/0.5 ≥ packets, plus one for the last data to arrive.
    /// </summary>
    [Fact]
    public void LosslessBulkTransferTakesTheSlowStartRoundTrips()
    {
        const int total = 1 << 20;
        const int rtt = 100;
        var sim = new SctpSimulation(new SimulationScenario { Name = "lossless", Network = new() { DelayMs = rtt / 2 } }, 1);
        sim.Connect();
        sim.AddBulk(total, 16 * 1024);
        var start = sim.Now;
        Assert.True(sim.RunUntil(() => sim.BytesDeliveredToB == total, 60_000));
        var packets = Math.Ceiling((double)total / Segment);
        var roundTrips = Math.Ceiling(Math.Log((packets * 0.5 / 10) + 1) / Math.Log(1.5)) + 1;
        output.WriteLine($"1 MiB at {rtt} ms RTT: {sim.Now - start} ms, bound {roundTrips * rtt} ms");
        Assert.InRange(sim.Now - start, (roundTrips - 2) * rtt, roundTrips * rtt);
        Assert.Equal(0, sim.A.Statistics.DataChunksRetransmitted);
    }

    /// <summary>
    /// Under random loss p, an AIMD sender that halves once per loss event and grows one segment per
    /// round trip averages sqrt(3/2)/sqrt(p) segments per RTT (Mathis et al., 1997): 8.7 at 2 %. The
    /// mean over seeds must keep that pace. And losses must be repaired by fast retransmit: T3 is
    /// only needed when a retransmission is lost again (about packets·p² per run, since a chunk is
    /// fast-retransmitted once) or when one of the last three segments is lost (fewer than three
    /// SACKs can report it, about 3p per run); twice that plus a small slack bounds the expiries.
    /// A sender that recovers by T3 has ~packets·p of them. 256 KiB at 400 ms RTT is the case once
    /// measured at about 16 s.
    /// </summary>
    [Theory]
    [InlineData(1 << 20, 100, 0.02)]
    [InlineData(256 << 10, 400, 0.02)]
    [InlineData(1 << 20, 50, 0.05)]
    public void BulkTransferUnderRandomLossKeepsTheAimdPace(int total, int rtt, double loss)
    {
        const int seeds = 16;
        double sum = 0;
        long timeouts = 0;
        for (var seed = 1; seed <= seeds; seed++)
        {
            var sim = new SctpSimulation(new SimulationScenario { Name = "bulk", Network = new() { DelayMs = rtt / 2, Loss = loss } }, seed);
            sim.Connect();
            sim.AddBulk(total, 16 * 1024);
            var start = sim.Now;
            Assert.True(sim.RunUntil(() => sim.BytesDeliveredToB == total, 600_000), $"seed {seed}");
            sum += sim.Now - start;
            timeouts += sim.A.Statistics.RetransmissionTimeouts;
        }

        var segmentsPerRtt = Math.Sqrt(1.5) / Math.Sqrt(loss);
        var mathisMs = total / (Segment * segmentsPerRtt) * rtt;
        var mean = sum / seeds;
        output.WriteLine($"{total} bytes, RTT {rtt} ms, loss {loss:P0}: mean {mean:F0} ms, AIMD pace {mathisMs:F0} ms, {timeouts} T3 expiries in {seeds} runs");
        Assert.True(mean <= mathisMs, $"mean {mean:F0} ms, AIMD pace {mathisMs:F0} ms");
        var packets = Math.Ceiling((double)total / Segment);
        var expectedTimeouts = seeds * ((packets * loss * loss) + (3 * loss));
        Assert.True(timeouts <= (2 * expectedTimeouts) + 3, $"{timeouts} T3 expiries, expected about {expectedTimeouts:F1}");
    }
}
