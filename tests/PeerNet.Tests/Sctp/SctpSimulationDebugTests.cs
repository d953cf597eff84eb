using PeerNet.Sctp;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sctp;

public class SctpSimulationDebugTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1 << 20, 50, 0.02)]
    [InlineData(256 << 10, 200, 0.02)]
    [InlineData(1 << 20, 50, 0.0)]
    public void Measure(int total, int oneWay, double loss)
    {
        var times = new List<long>();
        long t3 = 0, fr = 0;
        for (var seed = 1; seed <= 20; seed++)
        {
            var scenario = new SimulationScenario { Name = "bulk", Network = new() { Loss = loss, DelayMs = oneWay } };
            var sim = new SctpSimulation(scenario, seed);
            sim.Connect();
            sim.AddBulk(total, 16 * 1024);
            var start = sim.Now;
            Assert.True(sim.RunUntil(() => sim.BytesDeliveredToB == total, 600_000));
            times.Add(sim.Now - start);
            t3 += sim.A.Statistics.RetransmissionTimeouts;
            fr += sim.A.Statistics.FastRetransmits;
        }

        times.Sort();
        output.WriteLine($"{total} bytes, RTT {2 * oneWay}, loss {loss}: median {times[10]} ms, min {times[0]}, max {times[^1]}; T3 {t3}, FR {fr} over 20 seeds");
    }
}
