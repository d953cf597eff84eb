using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using PeerNet.Bench.DataChannels;
using PeerNet.Hub;
using PeerNet.Rtc;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using PeerNet.Signaling;

namespace PeerNet.Bench.Sharing;

/// <summary>
/// <c>swarm</c> (issue 7, deliverable 6): one item (random bytes, one file) downloaded by one native
/// downloader from 1, then 2, then 4 native seeders, each capped at the same upload rate
/// (<see cref="ShareSwarmOptions.MaxUploadBytesPerSecond"/>), all through a hub on loopback. A swarm
/// that pulls from every seeder at once finishes N× faster with N seeders: the target is ≥ 3.5× with 4.
/// Every peer is a <see cref="ShareSwarm"/> in this process with its own hub connection, its own
/// ICE/DTLS/SCTP connections and (seeders) its own token bucket; the first seeder serves from the
/// original file as <c>peernet share</c> does (<see cref="PlainPieceSource"/>), the others from pins
/// (<see cref="SealedStore"/>), as <c>peernet pin</c> does. Runs in a loopback-only network namespace
/// of its own (the peers gather ICE candidates).
/// </summary>
public static class SwarmBenchmark
{
    public const string Usage = """
        usage: PeerNet.Bench swarm [options]   (root: it makes its own network namespace)
          --size SIZE      the item: one file of this many random bytes (default 64M)
          --rate RATE      each seeder's upload cap, bytes/s: 4MB = 4,000,000, 4M or 4MiB = 4 MiB (default 4MB)
          --seeders LIST   seeder counts, one case each; the first is the baseline (default 1,2,4)
          --repeat N       runs per case, the order of the cases alternating; the median time is reported (default 1)
          --out FILE       also write the markdown report there
          --initial-depth N  the downloader's requests per seeder to start with (SwarmOptions.InitialPipelineDepth; default the library's)
        """;

    /// <summary>One download: its time (from joining the hub to the last piece stored), what each seeder uploaded, CPU of the whole process.</summary>
    private sealed record Run(int Seeders, double Seconds, double SetupSeconds, double TailSeconds, long Bytes, long[] Uploaded, double CpuSeconds, double Load)
    {
        public double MBps => Bytes / 1e6 / Seconds;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        long size = 64L << 20, rate = 4_000_000;
        List<int> seeders = [1, 2, 4];
        var repeat = 1;
        int? initialDepth = null;
        string? outFile = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--size": size = BenchTools.ParseSize(args[++i]); break;
                    case "--rate": rate = ParseRate(args[++i]); break;
                    case "--seeders": seeders = [.. args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                    case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--out": outFile = args[++i]; break;
                    case "--initial-depth": initialDepth = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--no-build": break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (size < 1 || rate < 1024 || repeat < 1 || seeders.Count == 0 || seeders.Any(n => n is < 1 or > 16))
                throw new ArgumentException("--size ≥ 1, --rate ≥ 1K, --repeat ≥ 1, --seeders 1 … 16");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException or OverflowException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (!DataChannelBenchmark.IsLoopbackOnly()) return await DataChannelBenchmark.RerunInNamespaceAsync(args);

        var machine = Machine();
        Console.WriteLine($"swarm download: {FormatSize(size)} from {string.Join(", ", seeders)} seeder(s), each capped at {rate / 1e6:0.###} MB/s; {machine}");
        var work = Directory.CreateTempSubdirectory("peernet-bench-swarm-").FullName;
        var runs = new List<Run>();
        var uncapped = new List<Run>();
        try
        {
            await using var hub = await HubServer.StartAsync(new HubOptions { Bind = "127.0.0.1", Port = 0, Http = true, DataDir = Path.Combine(work, "hub"), Turn = { Enabled = false } },
                CancellationToken.None, _ => { });

            // The item, sealed once; the sharer's source and the pins all serve the same content id.
            var file = Path.Combine(work, "item", "random.bin");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await WriteRandomFileAsync(file, size);
            var expected = await HashFileAsync(file);
            var item = await ItemSealer.SealAsync(ItemSource.FromFile(file));
            Console.WriteLine($"item {item.Id}: {item.Info.Layout}");
            using var plain = new PlainPieceSource(item);
            var sources = new List<ISealedPieceSource> { plain };
            try
            {
                for (var i = 1; i < seeders.Max(); i++) sources.Add(await PinAsync(plain, Path.Combine(work, $"pin{i}")));

                // Warm-up (JIT, pools), not reported.
                var warmUp = await DownloadAsync(hub, item, sources, 1, null, initialDepth, expected, Path.Combine(work, "warm-up"));
                Console.WriteLine($"  warm-up, 1 seeder, no cap: {Describe(warmUp)}");
                for (var r = 0; r < repeat; r++)
                {
                    // The ceiling of this path on this machine now: one seeder, no cap.
                    var free = await DownloadAsync(hub, item, sources, 1, null, initialDepth, expected, Path.Combine(work, $"run{r}-free"));
                    uncapped.Add(free);
                    Console.WriteLine($"  run {r + 1}: 1 seeder, no cap: {Describe(free)}");
                    // Alternate the order of the cases, so drift on the shared machine hits all alike.
                    foreach (var n in r % 2 == 0 ? seeders : Enumerable.Reverse(seeders))
                    {
                        var run = await DownloadAsync(hub, item, sources, n, rate, initialDepth, expected, Path.Combine(work, $"run{r}-{n}"));
                        runs.Add(run);
                        Console.WriteLine($"  run {r + 1}: {n} seeder(s): {Describe(run)}");
                    }
                }
            }
            finally
            {
                foreach (var source in sources.Skip(1)) await ((SealedStore)source).DisposeAsync();
            }
        }
        catch (Exception e) when (e is TimeoutException or InvalidDataException or SharingException or SignalingException)
        {
            Console.Error.WriteLine($"swarm benchmark failed: {e.Message}");
            return 1;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }

        var report = Report(runs, seeders, rate, size, repeat, uncapped.OrderBy(r => r.Seconds).ElementAt((repeat - 1) / 2));
        Console.WriteLine();
        Console.WriteLine(machine);
        Console.Write(report);
        if (outFile is not null) await File.WriteAllTextAsync(outFile, machine + "\n\n" + report);
        return 0;
    }

    /// <summary>One download from the first <paramref name="count"/> sources, each a seeder capped at <paramref name="rate"/>.</summary>
    private static async Task<Run> DownloadAsync(HubServer hub, SealedItem item, List<ISealedPieceSource> sources, int count, long? rate, int? initialDepth, byte[] expected, string directory)
    {
        var configuration = new RtcConfiguration { IncludeLoopbackCandidates = true, AllowedLocalAddresses = [IPAddress.Loopback] };
        var seederOptions = new ShareSwarmOptions { Configuration = configuration, UseHubIceServers = false, MaxUploadBytesPerSecond = rate };
        var downloaderOptions = new ShareSwarmOptions
        {
            Configuration = configuration,
            UseHubIceServers = false,
            Swarm = initialDepth is { } depth ? new PeerNet.Sharing.Swarm.SwarmOptions { InitialPipelineDepth = depth } : new(),
        };
        var clients = new List<SignalingClient>();
        var swarms = new List<ShareSwarm>();
        var load = LoadAverage();
        try
        {
            for (var i = 0; i < count; i++)
                swarms.Add(await ShareSwarm.StartAsync(await ConnectAsync(hub, clients), sources[i], seederOptions));

            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var downloader = await ShareSwarm.StartAsync(await ConnectAsync(hub, clients), item.Id,
                async (info, token) => await DownloadStore.OpenAsync(directory, info, item.Key, token), downloaderOptions);
            swarms.Add(downloader);

            // When 90 % was stored (to the next progress report, 250 ms): how long the tail took.
            var ninetyAt = double.NaN;
            downloader.ProgressChanged += (_, p) =>
            {
                if (double.IsNaN(ninetyAt) && p.TotalBytes > 0 && p.BytesStored >= 0.9 * p.TotalBytes) ninetyAt = clock.Elapsed.TotalSeconds;
            };
            var limit = TimeSpan.FromSeconds(60 + (3.0 * item.Info.Layout.PayloadLength / (rate ?? 50_000_000) / count));
            await downloader.InfoKnown.WaitAsync(limit);
            var setup = clock.Elapsed.TotalSeconds;
            await downloader.Completion.WaitAsync(limit);
            var seconds = clock.Elapsed.TotalSeconds;
            var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;

            // The seeders' counters are published on their next tick.
            await Task.Delay(400);
            var uploaded = swarms.Take(count).Select(s => s.Progress.BytesUploaded).ToArray();
            await downloader.DisposeAsync();
            if (downloader.Source is IAsyncDisposable store) await store.DisposeAsync();
            var got = await HashFileAsync(Path.Combine(directory, "random.bin"));
            if (!got.AsSpan().SequenceEqual(expected)) throw new InvalidDataException("the downloaded file differs from the original");
            return new Run(count, seconds, setup, seconds - ninetyAt, item.Info.Layout.PayloadLength, uploaded, cpuSeconds, load);
        }
        finally
        {
            foreach (var swarm in swarms) await swarm.DisposeAsync();
            foreach (var client in clients) await client.DisposeAsync();
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<SignalingClient> ConnectAsync(HubServer hub, List<SignalingClient> clients)
    {
        var client = new SignalingClient(new SignalingClientOptions { Url = hub.SignalingUrl });
        clients.Add(client);
        await client.ConnectAsync();
        return client;
    }

    /// <summary>A complete pin of the item in <paramref name="directory"/>, as <c>peernet pin</c> keeps one.</summary>
    private static async Task<SealedStore> PinAsync(PlainPieceSource source, string directory)
    {
        var store = await SealedStore.OpenAsync(directory, source.Info);
        var buffer = new byte[source.Info.Layout.SealedPieceStride];
        var proof = new byte[MerkleTree.MaxProofHashes * MerkleTree.HashLength];
        for (var i = 0; i < source.Info.PieceCount; i++)
        {
            var n = await source.ReadSealedPieceAsync(i, buffer);
            if (!source.TryGetProof(i, proof, out var proofLength)) throw new InvalidDataException($"no proof of piece {i}");
            await store.StorePieceAsync(i, buffer.AsMemory(0, n), proof.AsMemory(0, proofLength));
        }
        return store;
    }

    private static async Task WriteRandomFileAsync(string path, long size)
    {
        var random = new Random(20261125);
        var buffer = new byte[1 << 20];
        await using var stream = File.Create(path);
        for (var left = size; left > 0; left -= buffer.Length)
        {
            random.NextBytes(buffer);
            await stream.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)));
        }
    }

    private static async Task<byte[]> HashFileAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        return await SHA256.HashDataAsync(stream);
    }

    /// <summary>"4MB" = 4,000,000, "4M" or "4MiB" = 4 MiB, "500K", "250KB"; bytes per second.</summary>
    internal static long ParseRate(string text)
    {
        var s = text.Trim().ToUpperInvariant();
        if (s.EndsWith("/S", StringComparison.Ordinal)) s = s[..^2];
        (string Suffix, long Multiplier)[] units = [("KIB", 1L << 10), ("MIB", 1L << 20), ("GIB", 1L << 30), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30), ("B", 1)];
        foreach (var (suffix, multiplier) in units)
        {
            if (s.EndsWith(suffix, StringComparison.Ordinal))
                return (long)(decimal.Parse(s[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture) * multiplier);
        }
        return long.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    private static string Describe(Run r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Seconds,6:F2} s  {r.MBps,6:F2} MB/s  (joined and info block in {r.SetupSeconds:F2} s, last 10 % in {r.TailSeconds:F2} s)  uploaded {string.Join(" / ", r.Uploaded.Select(b => FormatMiB(b)))} MiB  CPU {r.CpuSeconds:F1} s  load {r.Load:F1}");

    private static string Report(List<Run> runs, List<int> seeders, long rate, long size, int repeat, Run uncapped)
    {
        var medians = seeders.Select(n => runs.Where(r => r.Seeders == n).OrderBy(r => r.Seconds).ElementAt((repeat - 1) / 2)).ToList();
        var baseline = medians[0];
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"#### {FormatSize(size)}, each seeder capped at {rate / 1e6:0.###} MB/s{(repeat > 1 ? $", median of {repeat}" : "")}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"| seeders | download time (s) | MB/s | speed-up vs {baseline.Seeders} seeder(s) | of the caps' sum | joined + info block (s) | last 10 % (s) | uploaded by each seeder (MiB) | CPU s (all peers) | load avg |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
        foreach (var m in medians)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {m.Seeders} | {m.Seconds:F2} | {m.MBps:F2} | {baseline.Seconds / m.Seconds:F2}× | {m.MBps * 1e6 / (rate * m.Seeders):P0} | {m.SetupSeconds:F2} | {m.TailSeconds:F2} | {string.Join(" / ", m.Uploaded.Select(FormatMiB))} | {m.CpuSeconds:F1} | {m.Load:F1} |"));
        }
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| 1, no cap | {uncapped.Seconds:F2} | {uncapped.MBps:F2} | | | {uncapped.SetupSeconds:F2} | {uncapped.TailSeconds:F2} | {FormatMiB(uncapped.Uploaded[0])} | {uncapped.CpuSeconds:F1} | {uncapped.Load:F1} |"));
        text.AppendLine();
        if (baseline.Seeders == 1 && medians.FirstOrDefault(m => m.Seeders == 4) is { } four)
        {
            var speedup = baseline.Seconds / four.Seconds;
            text.AppendLine("| target (issue 7) | measured | target | |");
            text.AppendLine("|---|---:|---:|---|");
            text.AppendLine(CultureInfo.InvariantCulture, $"| 4 capped seeders vs 1: download time ratio | {speedup:F2}× | ≥ 3.5× | {(speedup >= 3.5 ? "met" : "**not met**")} |");
        }
        return text.ToString();
    }

    private static string FormatMiB(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    private static string FormatSize(long bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : bytes >= 1 << 10 ? $"{bytes >> 10} KiB" : $"{bytes} B";

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private static string Machine()
    {
        var model = "unknown CPU";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? model;
        }
        catch (IOException)
        {
        }
        return $"{Environment.ProcessorCount} cores ({model}), {Environment.OSVersion}, .NET {Environment.Version}";
    }
}
