using PeerNet.Sharing.Swarm;
using PeerNet.Tests.Sharing.Wire;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sharing.Swarm;

/// <summary><see cref="SwarmScheduler.MaxUploadBytesPerSecond"/> in the simulated swarm: links are unlimited, only the cap limits.</summary>
public class UploadCapSimulationTests(ITestOutputHelper output)
{
    /// <summary>The pieces a node let go (PieceNeeded), with when: what its cap governs.</summary>
    private static List<(double At, string Peer, long Bytes)> RecordReleases(SwarmSimulation sim, string nodeId)
    {
        var releases = new List<(double, string, long)>();
        sim.OnEvent += (node, e) =>
        {
            if (node.Id == nodeId && e.Kind == SwarmEventKind.PieceNeeded)
            {
                releases.Add((sim.Now, e.PeerId!, sim.Content.GetSealedPieceLength(e.Piece)));
            }
        };
        return releases;
    }

    private static void AssertWithinCap(List<(double At, string Peer, long Bytes)> releases, long rate, long burst)
    {
        for (var i = 0; i < releases.Count; i++)
        {
            long sum = 0;
            for (var j = i; j < releases.Count; j++)
            {
                sum += releases[j].Bytes;
                var window = releases[j].At - releases[i].At;
                Assert.True(sum <= (rate * window / 1_000) + burst + 1, $"{sum} bytes let go in {window} ms at a cap of {rate} B/s (burst {burst})");
            }
        }
    }

    [Fact]
    public void ACappedSeederServesAllItsPeersTogetherAtItsRate()
    {
        const long rate = 1_000_000; // 1,000 bytes per ms
        var sim = new SwarmSimulation(TestContent.Create(21, 120, 16_384), seed: 21);
        var seeder = sim.AddNode("seed", seeder: true);
        seeder.Scheduler.MaxUploadBytesPerSecond = rate;
        var releases = RecordReleases(sim, "seed");
        var downloaders = Enumerable.Range(0, 3).Select(i => sim.AddNode($"d{i}", seeder: false)).ToList();
        foreach (var d in downloaders)
        {
            sim.Connect("seed", d.Id, bytesPerMs: 0, latencyMs: 10);
        }

        Assert.True(sim.Run(() => downloaders.All(d => d.Scheduler.IsComplete), maxTimeMs: 60_000));
        var total = 3 * sim.Content.Pieces.Sum(p => (long)p.Length);
        var ideal = total * 1_000.0 / rate;
        output.WriteLine($"done at {sim.Now:F0} ms for {total} bytes (at the cap: {ideal:F0} ms); finished at {string.Join(", ", downloaders.Select(d => $"{d.CompletedAt:F0}"))} ms");

        // At most the cap (plus the 100 ms burst) over every window, and not much less over the whole.
        AssertWithinCap(releases, rate, burst: 100_000);
        Assert.InRange(sim.Now, ideal - 100, ideal * 1.1);
        Assert.Equal(total, seeder.PieceBytesUploaded);
        Assert.All(downloaders, d => Assert.Empty(d.Reports));

        // The peers share it: none is starved until the others are done.
        Assert.All(downloaders, d => Assert.True(d.CompletedAt > ideal * 0.8, $"{d.Id} done at {d.CompletedAt:F0} ms"));
    }

    private double DownloadTime(int seeders, long rate)
    {
        var sim = new SwarmSimulation(TestContent.Create(22, 256, 32_768), seed: 22);
        var d = sim.AddNode("d", seeder: false);
        for (var i = 0; i < seeders; i++)
        {
            sim.AddNode($"s{i}", seeder: true).Scheduler.MaxUploadBytesPerSecond = rate;
            sim.Connect($"s{i}", "d", bytesPerMs: 0, latencyMs: 5);
        }

        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 200_000));
        Assert.Empty(d.Reports);
        output.WriteLine($"{seeders} seeder(s) capped at {rate} B/s: {d.CompletedAt:F0} ms; endgame requests {d.Scheduler.Statistics.EndgameRequests}, "
            + $"duplicates {d.Scheduler.Statistics.DuplicatePieces}, stalls {d.Scheduler.Statistics.Stalls}");
        return d.CompletedAt!.Value;
    }

    [Fact]
    public void FourCappedSeedersAreAtLeastThreeAndAHalfTimesFasterThanOne()
    {
        var one = DownloadTime(1, 1_000_000);
        var two = DownloadTime(2, 1_000_000);
        var four = DownloadTime(4, 1_000_000);
        output.WriteLine($"speed-up: 2 seeders {one / two:F2}×, 4 seeders {one / four:F2}×");
        Assert.True(one / two >= 1.8, $"2 seeders: {one / two:F2}×");
        Assert.True(one / four >= 3.5, $"4 seeders: {one / four:F2}×");
    }

    [Fact]
    public void APeerThatLeavesTakesItsWaitingPiecesWithIt()
    {
        var sim = new SwarmSimulation(TestContent.Create(23, 100, 16_384), seed: 23);
        var seeder = sim.AddNode("seed", seeder: true);
        seeder.Scheduler.MaxUploadBytesPerSecond = 200_000;
        var releases = RecordReleases(sim, "seed");
        var stays = sim.AddNode("stays", seeder: false);
        sim.AddNode("leaves", seeder: false);
        sim.Connect("seed", "stays", 0, 10);
        sim.Connect("seed", "leaves", 0, 10);
        Assert.True(sim.Run(() => stays.PiecesStored >= 10, maxTimeMs: 60_000));
        Assert.True(seeder.Scheduler.UploadsWaiting > 0, "with two peers asking, pieces should wait for the cap");

        sim.RemoveNode("leaves");
        var gone = sim.Now + 10;
        Assert.True(sim.Run(() => stays.Scheduler.IsComplete, maxTimeMs: 60_000));
        Assert.DoesNotContain(releases, r => r.Peer == "leaves" && r.At > gone);
        Assert.Equal(0, seeder.Scheduler.UploadsWaiting);
    }

    [Fact]
    public void LiftingTheCapLetsEveryWaitingPieceGo()
    {
        var sim = new SwarmSimulation(TestContent.Create(24, 64, 16_384), seed: 24);
        var seeder = sim.AddNode("seed", seeder: true);
        seeder.Scheduler.MaxUploadBytesPerSecond = 50_000;
        var d = sim.AddNode("d", seeder: false);
        sim.Connect("seed", "d", 0, 10);
        Assert.True(sim.Run(() => d.PiecesStored >= 5, maxTimeMs: 60_000));
        var cappedAt = sim.Now;
        Assert.False(d.Scheduler.IsComplete);

        seeder.Scheduler.MaxUploadBytesPerSecond = null;
        seeder.Step();
        Assert.Equal(0, seeder.Scheduler.UploadsWaiting);
        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 60_000));
        Assert.True(sim.Now - cappedAt < 500, $"{sim.Now - cappedAt:F0} ms for the rest without the cap");
    }

    [Fact]
    public void ACapBelowOneByteASecondIsRefused()
    {
        var scheduler = new SwarmScheduler(new byte[32]);
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.MaxUploadBytesPerSecond = 0);
        scheduler.MaxUploadBytesPerSecond = 1;
        Assert.Equal(1, scheduler.MaxUploadBytesPerSecond);
    }
}
