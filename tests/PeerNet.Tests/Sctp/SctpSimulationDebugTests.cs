using PeerNet.Sctp;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sctp;

public class SctpSimulationDebugTests(ITestOutputHelper output)
{
    [Fact]
    public void Replay()
    {
        var scenario = new SimulationScenario { Name = "bursts", Network = new() { Loss = 0.005, BurstStart = 0.02, BurstEnd = 0.25, DelayMs = 50, JitterMs = 5 }, LargeMessageChance = 0.1 };
        var sim = new SctpSimulation(scenario, 10);
        sim.Trace = line => output.WriteLine(line);
        sim.Connect();
        sim.GenerateWorkload();
        sim.RunToCompletion();
    }
}
