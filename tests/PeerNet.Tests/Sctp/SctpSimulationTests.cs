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

    public static TheoryData<string> ScenarioNames => [.. Scenarios.Keys];

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void EverySeedDeliversAndDrains(string name)
    {
        var (scenario, seeds) = Scenarios[name];
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

        output.WriteLine($"{name}: {seeds} seeds in {watch.ElapsedMilliseconds} ms wall, {packets} packets, mean {virtualMs / seeds} ms virtual per seed, {timeouts} T3 expiries, {fastRetransmits} fast retransmits, {abandoned} messages abandoned");
    }
}
