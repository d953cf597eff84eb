using PeerNet.Sharing.Swarm;
using PeerNet.Sharing.Wire;
using PeerNet.Tests.Sharing.Wire;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sharing.Swarm;

public class SwarmSimulationTests(ITestOutputHelper output)
{
    private static void AssertDelivered(SwarmSimulation sim, SimNode node)
    {
        Assert.True(node.Scheduler.IsComplete, $"{node.Id} has {node.PiecesStored}/{sim.Content.PieceCount} pieces");
        for (var i = 0; i < sim.Content.PieceCount; i++)
        {
            Assert.True(node.StoreCount[i] <= 1, $"{node.Id} stored piece {i} {node.StoreCount[i]} times");
            Assert.Equal(sim.Content.Pieces[i], node.Data[i]);
        }
    }

    private static bool AllComplete(IEnumerable<SimNode> nodes) => nodes.All(n => n.Scheduler.IsComplete);

    [Fact]
    public void OneSeederOneDownloader()
    {
        var sim = new SwarmSimulation(TestContent.Create(10, 300, 16_384, 5_000), seed: 1);
        sim.AddNode("seed", seeder: true);
        var d = sim.AddNode("d", seeder: false);
        sim.Connect("seed", "d", bytesPerMs: 2_000, latencyMs: 20);
        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 60_000));
        AssertDelivered(sim, d);
        Assert.Empty(d.Reports);
        Assert.True(d.Scheduler.GetPipelineDepth("seed") > 2, "the pipeline should grow past its start");
        output.WriteLine($"done at {sim.Now:F0} ms (ideal {sim.Content.Pieces.Sum(p => p.Length) / 2_000.0:F0} ms), depth {d.Scheduler.GetPipelineDepth("seed")}, {sim.Steps} steps");
    }

    [Fact]
    public void DownloadersTradeWithEachOther()
    {
        var sim = new SwarmSimulation(TestContent.Create(11, 240, 16_384), seed: 2);
        sim.AddNode("seed", seeder: true, uploadBytesPerMs: 500);
        var downloaders = Enumerable.Range(0, 3).Select(i => sim.AddNode($"d{i}", seeder: false, uploadBytesPerMs: 500)).ToList();
        foreach (var d in downloaders)
        {
            sim.Connect("seed", d.Id, 0, 15);
        }

        sim.Connect("d0", "d1", 0, 10);
        sim.Connect("d1", "d2", 0, 10);
        sim.Connect("d0", "d2", 0, 10);
        Assert.True(sim.Run(() => AllComplete(downloaders), maxTimeMs: 120_000));
        var size = sim.Content.Pieces.Sum(p => (long)p.Length);
        foreach (var d in downloaders)
        {
            AssertDelivered(sim, d);
            var toPeers = d.UploadedTo.Where(kv => kv.Key != "seed").Sum(kv => kv.Value);
            output.WriteLine($"{d.Id}: done at {d.CompletedAt:F0} ms, uploaded {toPeers} bytes to other downloaders: {string.Join(", ", d.UploadedTo.Select(kv => $"{kv.Key}={kv.Value}"))}");
            Assert.True(toPeers > size / 10, $"{d.Id} uploaded only {toPeers} bytes to other downloaders");
        }

        // Without trading the seeder would upload the item three times.
        var seeder = sim.Nodes["seed"];
        output.WriteLine(string.Join(", ", seeder.UploadedTo.Select(kv => $"{kv.Key}={kv.Value}")));
        output.WriteLine($"seeder uploaded {seeder.PieceBytesUploaded} bytes = {seeder.PieceBytesUploaded / (double)size:F2}× the item");
        Assert.True(seeder.PieceBytesUploaded < 2.2 * size);
    }

    private static double DownloadTime(int seeders, int seed, ITestOutputHelper output)
    {
        var sim = new SwarmSimulation(TestContent.Create(12, 512, 32_768), seed);
        var d = sim.AddNode("d", seeder: false);
        for (var i = 0; i < seeders; i++)
        {
            sim.AddNode($"s{i}", seeder: true);
            sim.Connect($"s{i}", "d", bytesPerMs: 1_000, latencyMs: 25); // 1 MB/s each
        }

        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 200_000));
        AssertDelivered(sim, d);
        output.WriteLine($"{seeders} seeder(s): {d.CompletedAt:F0} ms; endgame requests {d.Scheduler.Statistics.EndgameRequests}, duplicates {d.Scheduler.Statistics.DuplicatePieces}, {sim.Steps} steps");
        return d.CompletedAt!.Value;
    }

    [Fact]
    public void FourEqualSeedersAreAtLeastThreeAndAHalfTimesFasterThanOne()
    {
        var one = DownloadTime(1, 3, output);
        var two = DownloadTime(2, 3, output);
        var four = DownloadTime(4, 3, output);
        output.WriteLine($"speed-up: 2 seeders {one / two:F2}×, 4 seeders {one / four:F2}×");
        Assert.True(one / two >= 1.8, $"2 seeders: {one / two:F2}×");
        Assert.True(one / four >= 3.5, $"4 seeders: {one / four:F2}×");
    }

    [Fact]
    public void TheOriginalSeederLeavesAndTheOthersComplete()
    {
        var sim = new SwarmSimulation(TestContent.Create(13, 200, 16_384), seed: 4);
        var seeder = sim.AddNode("seed", seeder: true, uploadBytesPerMs: 600);
        var downloaders = Enumerable.Range(0, 3).Select(i => sim.AddNode($"d{i}", seeder: false, uploadBytesPerMs: 120)).ToList();
        foreach (var d in downloaders)
        {
            sim.Connect("seed", d.Id, 0, 20);
        }

        sim.Connect("d0", "d1", 0, 10);
        sim.Connect("d1", "d2", 0, 10);
        sim.Connect("d0", "d2", 0, 10);

        // The seeder leaves as soon as the downloaders together hold every piece.
        bool UnionComplete() => Enumerable.Range(0, sim.Content.PieceCount).All(p => downloaders.Any(d => d.StoreCount[p] > 0));
        Assert.True(sim.Run(UnionComplete, maxTimeMs: 120_000));
        Assert.All(downloaders, d => Assert.False(d.Scheduler.IsComplete));
        output.WriteLine($"seeder leaves at {sim.Now:F0} ms; downloaders hold {string.Join(", ", downloaders.Select(d => d.PiecesStored))} pieces");
        sim.RemoveNode("seed");
        Assert.True(sim.Run(() => AllComplete(downloaders), maxTimeMs: 240_000));
        Assert.All(downloaders, d => AssertDelivered(sim, d));
        Assert.True(seeder.PieceBytesUploaded < 1.5 * sim.Content.Pieces.Sum(p => (long)p.Length));
    }

    [Fact]
    public void ACorruptPeerIsDroppedAndReportedAndTheDownloadCompletes()
    {
        var sim = new SwarmSimulation(TestContent.Create(14, 150, 16_384), seed: 5);
        sim.AddNode("honest", seeder: true);
        sim.AddNode("evil", seeder: true, behaviour: NodeBehaviour.Corrupt);
        var d = sim.AddNode("d", seeder: false);
        sim.Connect("evil", "d", 2_000, 5); // the faster one: it will be asked first
        sim.Connect("honest", "d", 500, 20);
        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 120_000));
        AssertDelivered(sim, d);
        var report = Assert.Single(d.Reports);
        Assert.Equal(("evil", SwarmPeerReason.CorruptPiece), (report.PeerId, report.Reason));
        Assert.Contains(d.Closes, e => e.PeerId == "evil" && e.Reason == SwarmPeerReason.CorruptPiece);
        Assert.Equal(1, d.Scheduler.Statistics.CorruptPieces);
        Assert.DoesNotContain("evil", d.Scheduler.PeerIds);

        // The evil peer heard why.
        Assert.Contains(sim.Nodes["evil"].Closes, e => e.PeerId == "d" && e.Reason == SwarmPeerReason.PeerError && e.Text!.Contains("error 3"));
    }

    [Fact]
    public void APeerWithABadInfoBlockIsReportedAndAnotherIsAsked()
    {
        var content = TestContent.Create(18, 50, 8_192);
        var sim = new SwarmSimulation(content, seed: 9);
        var badInfo = content.Info.ToArray();
        badInfo[^1] ^= 1;
        sim.AddNode("liar", seeder: true, info: badInfo);
        sim.AddNode("honest", seeder: true);
        var d = sim.AddNode("d", seeder: false);
        sim.Connect("liar", "d", 1_000, 5);
        sim.Connect("honest", "d", 1_000, 30, at: 100);
        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 60_000));
        AssertDelivered(sim, d);
        var report = Assert.Single(d.Reports);
        Assert.Equal(("liar", SwarmPeerReason.BadInfo), (report.PeerId, report.Reason));
        Assert.Equal(["honest"], d.Scheduler.PeerIds);
    }

    [Theory]
    [InlineData(0)] // never answers: 30 s rule
    [InlineData(6)] // answers a few, then stops: 4× its usual time
    public void AStallingPeerIsCancelledAndDropped(int serveFirst)
    {
        var sim = new SwarmSimulation(TestContent.Create(15, 400, 16_384), seed: 6);
        sim.AddNode("honest", seeder: true);
        var staller = sim.AddNode("staller", seeder: true, behaviour: NodeBehaviour.Stall);
        staller.ServeBeforeStall = serveFirst;
        var d = sim.AddNode("d", seeder: false);
        sim.Connect("staller", "d", 2_000, 5);
        sim.Connect("honest", "d", 40, 20); // slow: the download takes ~160 s, past three 30 s stalls
        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 400_000));
        AssertDelivered(sim, d);
        var closed = Assert.Single(d.Closes, e => e.PeerId == "staller");
        Assert.Equal(SwarmPeerReason.Stalled, closed.Reason);
        Assert.True(d.Scheduler.Statistics.Stalls >= 3);
        Assert.Equal(SwarmPeerReason.Stalled, closed.Reason);
        output.WriteLine($"done at {d.CompletedAt:F0} ms, stalls {d.Scheduler.Statistics.Stalls}");
    }

    [Fact]
    public void EndgameDuplicatesTheTailAndCancelsTheLosers()
    {
        var sim = new SwarmSimulation(TestContent.Create(16, 120, 16_384), seed: 7);
        sim.AddNode("fast", seeder: true);
        sim.AddNode("slow", seeder: true);
        var d = sim.AddNode("d", seeder: false);
        sim.Connect("fast", "d", 2_000, 10);
        sim.Connect("slow", "d", 40, 10); // 0.4 s per piece
        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 200_000));
        AssertDelivered(sim, d);
        var stats = d.Scheduler.Statistics;
        output.WriteLine($"done at {d.CompletedAt:F0} ms; endgame requests {stats.EndgameRequests}, cancels {stats.EndgameCancels}, duplicates {stats.DuplicatePieces}");
        Assert.True(stats.EndgameRequests > 0);
        Assert.True(stats.EndgameCancels > 0);

        // Without endgame the last pieces would wait for the slow peer (≥ 0.8 s for its pipeline of two).
        var size = sim.Content.Pieces.Sum(p => (long)p.Length);
        Assert.True(d.CompletedAt < (size / 2_040.0) + 400, $"{d.CompletedAt} ms");
    }

    [Fact]
    public void SequentialModeDeliversPiecesNearThePlayheadFirst()
    {
        var sim = new SwarmSimulation(TestContent.Create(17, 400, 16_384), seed: 8);
        sim.AddNode("s0", seeder: true);
        sim.AddNode("s1", seeder: true);
        var d = sim.AddNode("d", seeder: false);
        var playhead = 150;
        sim.OnEvent = (node, e) =>
        {
            if (node != d)
            {
                return;
            }

            if (e.Kind == SwarmEventKind.InfoVerified)
            {
                node.Scheduler.SetPriorityWindow(playhead, 24, (long)sim.Now);
            }
            else if (e.Kind == SwarmEventKind.PieceVerified && e.Piece == playhead)
            {
                // Playback moves on once the piece under the playhead is there.
                while (playhead < sim.Content.PieceCount && (playhead == e.Piece || node.StoreCount[playhead] > 0))
                {
                    playhead++;
                }

                node.Scheduler.SetPriorityWindow(playhead, 24, (long)sim.Now);
            }
        };
        sim.Connect("s0", "d", 1_000, 20);
        sim.Connect("s1", "d", 1_000, 30);
        Assert.True(sim.Run(() => d.Scheduler.IsComplete, maxTimeMs: 100_000));
        AssertDelivered(sim, d);

        // The first 200 pieces delivered are (nearly all) 150 … 349, and roughly in order.
        var first = d.StoreOrder.Take(200).ToList();
        var inRange = first.Count(p => p is >= 150 and < 350);
        output.WriteLine($"first 20 delivered: {string.Join(",", first.Take(20))}; {inRange}/200 in 150…349");
        Assert.True(inRange >= 195, $"{inRange}/200 in the playing range");
        var displacement = first.Select((p, i) => Math.Abs(p - (150 + i))).Max();
        Assert.True(displacement <= 24, $"a piece arrived {displacement} places from its turn");
    }

    [Fact]
    public void RandomSwarmsDeliverEveryPieceExactlyOnce()
    {
        // PEERNET_SWARM_SEEDS=first:count runs other seeds (e.g. a soak of thousands).
        var range = Environment.GetEnvironmentVariable("PEERNET_SWARM_SEEDS")?.Split(':').Select(int.Parse).ToArray() ?? [0, 100];
        var totalSteps = 0L;
        for (var seed = range[0]; seed < range[0] + range[1]; seed++)
        {
            var (sim, downloaders, description) = RandomSwarm(seed);
            var pieceCount = sim.Content.PieceCount;
            var done = sim.Run(() => AllComplete(downloaders), maxTimeMs: 600_000);
            totalSteps += sim.Steps;
            Assert.True(done, $"seed {seed} ({description}): stuck at {sim.Now:F0} ms with {string.Join(", ", downloaders.Select(d => $"{d.Id} {d.PiecesStored}/{pieceCount}"))}");
            foreach (var d in downloaders)
            {
                AssertDelivered(sim, d);
                Assert.All(d.Reports, r => Assert.Equal("evil", r.PeerId));
                Assert.All(d.Closes, c => Assert.True(c.PeerId is "evil" or "stall" || c.Reason == SwarmPeerReason.Closed, $"seed {seed} ({description}): {d.Id} {c}"));
            }
        }

        output.WriteLine($"{totalSteps} simulation steps");
    }

    /// <summary>A random swarm: 1–2 seeders, 1–5 downloaders, sometimes a corrupt seeder, a staller and a leaver; random sizes, rates, latencies, options.</summary>
    internal static (SwarmSimulation Sim, List<SimNode> Downloaders, string Description) RandomSwarm(int seed)
    {
        var random = new Random(seed * 7919);
        var pieceCount = random.Next(4) == 0 ? random.Next(1, 4) : random.Next(4, 120);
        var pieceLength = random.Next(3) == 0 ? random.Next(70_000, 140_000) : random.Next(200, 20_000);
        var content = TestContent.Create(seed, pieceCount, pieceLength, random.Next(2) == 0 ? random.Next(1, pieceLength + 1) : null,
            infoLength: random.Next(100, 140_000));
        var options = new SwarmOptions
        {
            UploadSlots = random.Next(2, 9),
            InitialPipelineDepth = random.Next(1, 4),
            MaxPipelineDepth = random.Next(4, 64),
            StallTimeoutMs = 30_000,
            Session = new ShareWireSessionOptions { MaxRequests = random.Next(1, 40), BlockLength = random.Next(1_000, 65_001), ReadAhead = random.Next(1, 4) },
        };
        var sim = new SwarmSimulation(content, seed);
        var seeders = random.Next(1, 3);
        var downloaderCount = random.Next(1, 6);
        var nodes = new List<SimNode>();
        for (var i = 0; i < seeders; i++)
        {
            nodes.Add(sim.AddNode($"s{i}", seeder: true, options, uploadBytesPerMs: random.Next(2) == 0 ? 0 : random.Next(100, 3_000)));
        }

        for (var i = 0; i < downloaderCount; i++)
        {
            nodes.Add(sim.AddNode($"d{i}", seeder: false, options, uploadBytesPerMs: random.Next(2) == 0 ? 0 : random.Next(100, 3_000)));
        }

        // Sometimes a corrupt seeder, a staller, or a downloader that leaves midway joins too.
        if (random.Next(4) == 0)
        {
            nodes.Add(sim.AddNode("evil", seeder: true, options, behaviour: NodeBehaviour.Corrupt));
        }

        if (random.Next(4) == 0)
        {
            var staller = sim.AddNode("stall", seeder: true, options, behaviour: NodeBehaviour.Stall);
            staller.ServeBeforeStall = random.Next(0, 5);
            nodes.Add(staller);
        }

        if (random.Next(4) == 0)
        {
            nodes.Add(sim.AddNode("leaver", seeder: false, options));
            sim.Schedule(random.Next(100, 5_000), () => sim.RemoveNode("leaver"));
        }

        var downloaders = nodes.Where(n => n.Id.StartsWith('d')).ToList();
        foreach (var d in downloaders)
        {
            if (random.Next(3) == 0)
            {
                d.Scheduler.GetType(); // keep the shape: some downloaders stream from a random playhead
                var from = random.Next(pieceCount);
                sim.OnEvent += (node, e) =>
                {
                    if (node == d && e.Kind == SwarmEventKind.InfoVerified)
                    {
                        node.Scheduler.SetPriorityWindow(from, random.Next(1, 10), (long)sim.Now);
                    }
                };
            }
        }

        // Every downloader reaches the first seeder; other links at random, at random times.
        for (var a = 0; a < nodes.Count; a++)
        {
            for (var b = a + 1; b < nodes.Count; b++)
            {
                var mustLink = nodes[a].Id == "s0" && nodes[b].Id.StartsWith('d');
                if (mustLink || random.Next(3) != 0)
                {
                    sim.Connect(nodes[a].Id, nodes[b].Id, random.Next(2) == 0 ? 0 : random.Next(50, 5_000), random.Next(1, 80), at: random.Next(0, 2_000));
                }
            }
        }

        var description = $"{pieceCount}×{pieceLength} B, {string.Join(" ", nodes.Select(n => $"{n.Id}↑{n.UploadBytesPerMs}"))}, slots {options.UploadSlots}, maxRequests {options.Session.MaxRequests}";
        return (sim, downloaders, description);
    }
}
