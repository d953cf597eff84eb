using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using PeerNet.Bench.DataChannels;
using PeerNet.Bench.Throughput;
using PeerNet.Hub;
using static PeerNet.Bench.BenchTools;

namespace PeerNet.Bench.BrowserSharing;

/// <summary>
/// Sharing browser to browser (issue 7, deliverable 6): the same file of random bytes shared from
/// one headless Chromium and downloaded by another, through PeerNet's web app (a PeerNet hub on
/// loopback serves it and signals; sharing protocol v1: AES-256-GCM sealed pieces, Merkle proofs,
/// OPFS) and through WebTorrent (its browser bundle; npm bittorrent-tracker's WebSocket tracker on
/// loopback; BitTorrent pieces with SHA-1 checks), alternating in one run on one machine. Timed:
/// from the downloading page's navigation start to every piece verified and stored. Runs in a
/// loopback-only network namespace of its own, because browsers gather ICE candidates.
/// </summary>
public static class BrowserSharingBenchmark
{
    public const string Usage = """
        usage: PeerNet.Bench sharing-browser [options]   (root: it makes its own network namespace)
          --size SIZE     bytes of the shared file (default 64M)
          --repeat N      runs per case, alternating PeerNet and WebTorrent; medians reported (default 3)
          --cases LIST    of peernet,webtorrent,channel (default all). channel: the ceiling, the same bytes
                          one way over one bare Chromium↔Chromium data channel in PeerNet's block size
                          (32 KiB messages, sender while bufferedAmount <= 1 MiB), no protocol, no storage
          --out FILE      also write the markdown report there
          --profile DIR   also record both pages' main-thread JavaScript CPU profiles (Chrome DevTools
                          .cpuprofile) from the downloader's 'info known' to 'complete', into DIR
          --no-build      do not install the npm packages (WebTorrent, bittorrent-tracker): they must be
                          in the cache already (the run inside the namespace, which has no registry, says so)
        """;

    internal enum Case
    {
        PeerNet,
        WebTorrent,
        Channel,
    }

    /// <summary>The web app's wire block (wire.js BLOCK_SIZE) and send high-water mark (room.js HIGH_WATER).</summary>
    private const int ChannelChunk = 32 << 10;
    private const long ChannelHighWater = 1 << 20;

    /// <summary>One download: what the downloading page reported, and the browsers' CPU over it.</summary>
    internal sealed record Run(Case Case, int Index, long Bytes, double PrepareSeconds, double ConnectedSeconds, double InfoSeconds,
        double CompleteSeconds, double CheckedSeconds, double SenderCpu, double ReceiverCpu, long SenderPeakRss, long ReceiverPeakRss,
        long PieceSize, string Store, bool Identical, double LoadAverage, long UdpDrops)
    {
        public double MBps => Bytes / 1e6 / CompleteSeconds;
        public double TransferMBps => Bytes / 1e6 / (CompleteSeconds - InfoSeconds);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        long size = 64L << 20;
        var repeat = 3;
        var cases = new List<Case> { Case.PeerNet, Case.WebTorrent, Case.Channel };
        string? outFile = null;
        string? profileDir = null;
        var install = true;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--size": size = ParseSize(args[++i]); break;
                    case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--cases":
                        cases = [.. args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => c switch
                        {
                            "peernet" => Case.PeerNet,
                            "webtorrent" => Case.WebTorrent,
                            "channel" => Case.Channel,
                            _ => throw new ArgumentException($"unknown case {c}"),
                        })];
                        break;
                    case "--out": outFile = Path.GetFullPath(args[++i]); break;
                    case "--profile": profileDir = Directory.CreateDirectory(args[++i]).FullName; break;
                    case "--no-build": install = false; break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (size < 1) throw new ArgumentException("--size must be at least 1 byte");
            if (repeat < 1) throw new ArgumentException("--repeat must be at least 1");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var repo = FindRepoRoot();
        // The registry is out of reach inside the namespace: install first, out here.
        if (install && cases.Contains(Case.WebTorrent)) await WebTorrentServer.InstallAsync(repo, Console.WriteLine);
        if (!DataChannelBenchmark.IsLoopbackOnly()) return await DataChannelBenchmark.RerunInNamespaceAsync(args);
        if (cases.Contains(Case.WebTorrent) && !WebTorrentServer.IsInstalled(repo))
        {
            Console.Error.WriteLine($"WebTorrent is not installed in {WebTorrentServer.CacheDirectory()}: run without --no-build (outside a network namespace) once");
            return 2;
        }

        var machine = await MachineAsync();
        Console.WriteLine($"sharing browser → browser: {FormatSize(size)} of random bytes, {repeat} run(s) per case; {machine}");

        var work = Directory.CreateTempSubdirectory("peernet-bench-sharing-").FullName;
        var runs = new List<Run>();
        try
        {
            var file = Path.Combine(work, $"random-{FormatSize(size).Replace(" ", "", StringComparison.Ordinal)}.bin");
            var sha256 = WriteRandomFile(file, size);
            // The hub serves the repository's web app as it is now (no stale copy in an output folder).
            var webRoot = Path.Combine(repo, "src", "PeerNet.Hub", "wwwroot");
            await using var hub = await HubServer.StartAsync(new HubOptions
            {
                Bind = "127.0.0.1",
                Port = 0,
                Http = true,
                DataDir = Directory.CreateDirectory(Path.Combine(work, "hub")).FullName,
                WebRoot = Directory.Exists(webRoot) ? webRoot : null,
            }, CancellationToken.None, _ => { });
            await using var webTorrent = cases.Contains(Case.WebTorrent) ? await WebTorrentServer.StartAsync(repo) : null;
            using var playwright = await Playwright.CreateAsync();
            var probe = await File.ReadAllTextAsync(Path.Combine(repo, "bench", "PeerNet.Bench", "BrowserSharing", "peernet-probe.js"));
            for (var r = 0; r < repeat; r++)
            {
                // Alternate which case goes first, so neither always runs on a cooler (or warmer) machine.
                var order = r % 2 == 0 ? cases : Enumerable.Reverse(cases).ToList();
                foreach (var c in order)
                {
                    var run = c switch
                    {
                        Case.PeerNet => await RunPeerNetAsync(playwright, hub.Url, probe, file, size, sha256, r, profileDir),
                        Case.WebTorrent => await RunWebTorrentAsync(playwright, webTorrent!.Url, file, size, sha256, r, profileDir),
                        _ => await RunChannelAsync(playwright, hub, size, r),
                    };
                    runs.Add(run);
                    Console.WriteLine(Describe(run));
                }
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }

        var report = Report(runs, size, repeat, machine);
        Console.WriteLine();
        Console.Write(report);
        if (outFile is not null) await File.WriteAllTextAsync(outFile, report);
        return runs.All(r => r.Identical) ? 0 : 1;
    }

    /// <summary>PeerNet: page A shares through the web app's file input; page B opens the link.</summary>
    private static async Task<Run> RunPeerNetAsync(IPlaywright playwright, Uri hub, string probe, string file, long size, string sha256, int index, string? profileDir)
    {
        await using var sender = await BrowserSide.LaunchAsync(playwright, "PeerNet sender");
        await sender.Page.GotoAsync(hub.ToString());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await sender.Page.GetByTestId("file-input").SetInputFilesAsync(file);
        var field = sender.Page.GetByTestId("share-link");
        await sender.Page.WaitForFunctionAsync("() => (document.querySelector('[data-testid=share-link]')?.value ?? '').includes('#k=')",
            null, new PageWaitForFunctionOptions { Timeout = (float)TimeSpan.FromSeconds(60 + size / 20e6).TotalMilliseconds, PollingInterval = 20 });
        var prepare = clock.Elapsed.TotalSeconds;
        var link = await field.InputValueAsync();

        await using var receiver = await BrowserSide.LaunchAsync(playwright, "PeerNet receiver");
        await receiver.Page.AddInitScriptAsync(probe);
        // The web app's default piece size up to 4 GiB (docs/sharing.md §2).
        var pieceSize = size <= 4L << 30 ? 256L << 10 : 0;
        return await MeasureAsync(Case.PeerNet, index, sender, receiver, link, size, sha256, prepare, pieceSize, profileDir);
    }

    /// <summary>WebTorrent: page A seeds the file picked in its input; page B adds the magnet link.</summary>
    private static async Task<Run> RunWebTorrentAsync(IPlaywright playwright, Uri server, string file, long size, string sha256, int index, string? profileDir)
    {
        await using var seeder = await BrowserSide.LaunchAsync(playwright, "WebTorrent seeder");
        await seeder.Page.GotoAsync(new Uri(server, "?role=seed").ToString());
        await seeder.WaitEventAsync("ready", TimeSpan.FromSeconds(30));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await seeder.Page.Locator("#files").SetInputFilesAsync(file);
        var seeding = await seeder.WaitEventAsync("seeding", TimeSpan.FromSeconds(60 + size / 10e6));
        var prepare = clock.Elapsed.TotalSeconds;
        var magnet = seeding.GetProperty("magnet").GetString()!;

        await using var downloader = await BrowserSide.LaunchAsync(playwright, "WebTorrent downloader");
        var url = new Uri(server, "?role=get&magnet=" + Uri.EscapeDataString(magnet)).ToString();
        return await MeasureAsync(Case.WebTorrent, index, seeder, downloader, url, size, sha256, prepare, seeding.GetProperty("pieceLength").GetInt64(), profileDir);
    }

    /// <summary>
    /// The ceiling: the throughput benchmark's Chromium pair (its page, its browsers) sending the same
    /// number of bytes one way in PeerNet's block size; timed from the first send to the last byte.
    /// </summary>
    private static async Task<Run> RunChannelAsync(IPlaywright playwright, HubServer hub, long size, int index)
    {
        var page = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "throughput.html"));
        var room = "sb-" + Guid.NewGuid().ToString("N")[..8];
        PeerSpec Spec(string role) => new(role, hub.Url, hub.SignalingUrl, room, size, ChannelChunk, ChannelHighWater, "127.0.0.1");
        await using var receiver = await BenchPeer.StartAsync(PeerKind.Chromium, Spec("receive"), playwright, page);
        await using var sender = await BenchPeer.StartAsync(PeerKind.Chromium, Spec("send"), playwright, page);
        await sender.WaitEventAsync("open", TimeSpan.FromSeconds(60));
        await receiver.WaitEventAsync("open", TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        var load = LoadAverage();
        var senderCpu0 = sender.Tree.CpuSeconds();
        var receiverCpu0 = receiver.Tree.CpuSeconds();
        long senderPeak = sender.Tree.RssBytes(), receiverPeak = receiver.Tree.RssBytes();
        var threads0 = (Sender: BrowserThreads.Snapshot(sender.Tree), Receiver: BrowserThreads.Snapshot(receiver.Tree));
        var window = System.Diagnostics.Stopwatch.StartNew();
        var drops0 = UdpReceiveBufferErrors();
        await sender.GoAsync();
        var done = await receiver.WaitEventAsync("done", TimeSpan.FromSeconds(60 + size / 1e6));
        var senderCpu = sender.Tree.CpuSeconds() - senderCpu0;
        var receiverCpu = receiver.Tree.CpuSeconds() - receiverCpu0;
        var threads1 = (Sender: BrowserThreads.Snapshot(sender.Tree), Receiver: BrowserThreads.Snapshot(receiver.Tree));
        var drops = UdpReceiveBufferErrors() - drops0;
        window.Stop();
        Console.WriteLine($"  channel sender threads: {BrowserThreads.Top(threads0.Sender, threads1.Sender, window.Elapsed.TotalSeconds)}");
        Console.WriteLine($"  channel receiver threads: {BrowserThreads.Top(threads0.Receiver, threads1.Receiver, window.Elapsed.TotalSeconds)}");
        senderPeak = Math.Max(senderPeak, sender.Tree.RssBytes());
        receiverPeak = Math.Max(receiverPeak, receiver.Tree.RssBytes());
        var sent = await sender.WaitEventAsync("sent", TimeSpan.FromSeconds(30));
        var seconds = (done.GetProperty("lastByteMs").GetDouble() - sent.GetProperty("firstSendMs").GetDouble()) / 1000;
        var ok = done.GetProperty("bytes").GetInt64() == size && done.GetProperty("errors").GetInt64() == 0;
        return new Run(Case.Channel, index, size, 0, 0, 0, seconds, double.NaN, senderCpu, receiverCpu, senderPeak, receiverPeak,
            ChannelChunk, "none (counted, checked, dropped)", ok, load, drops);
    }

    /// <summary>Opens <paramref name="url"/> in the receiver and meters both browsers until it reports 'complete'.</summary>
    private static async Task<Run> MeasureAsync(Case c, int index, BrowserSide sender, BrowserSide receiver, string url, long size, string sha256,
        double prepare, long pieceSize, string? profileDir)
    {
        // Let the sender's work (sealing, hashing, storing) and the receiver's start-up settle first.
        await Task.Delay(1000);
        var load = LoadAverage();
        var senderCpu0 = sender.Tree.CpuSeconds();
        var receiverCpu0 = receiver.Tree.CpuSeconds();
        long senderPeak = sender.Tree.RssBytes(), receiverPeak = receiver.Tree.RssBytes();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                senderPeak = Math.Max(senderPeak, sender.Tree.RssBytes());
                receiverPeak = Math.Max(receiverPeak, receiver.Tree.RssBytes());
                // Also keeps the CPU of processes that exit meanwhile (ProcessTree.CpuSeconds).
                sender.Tree.CpuSeconds();
                receiver.Tree.CpuSeconds();
                try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        JsonElement complete;
        double senderCpu, receiverCpu;
        var window = new System.Diagnostics.Stopwatch();
        (Dictionary<string, double> Sender, Dictionary<string, double> Receiver) threads0, threads1;
        long drops0, drops;
        try
        {
            threads0 = (BrowserThreads.Snapshot(sender.Tree), BrowserThreads.Snapshot(receiver.Tree));
            drops0 = UdpReceiveBufferErrors();
            window.Start();
            await receiver.Page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
            // At least 1 MB/s, or something is wrong.
            var timeout = TimeSpan.FromSeconds(60 + size / 1e6);
            Profiler? profiler = null;
            if (profileDir is not null)
            {
                // From 'info' on: the downloading page's first navigation may change its renderer.
                await receiver.WaitEventAsync("info", timeout);
                profiler = await Profiler.StartAsync(sender.Page, receiver.Page);
            }
            complete = await receiver.WaitEventAsync("complete", timeout);
            senderCpu = sender.Tree.CpuSeconds() - senderCpu0;
            receiverCpu = receiver.Tree.CpuSeconds() - receiverCpu0;
            threads1 = (BrowserThreads.Snapshot(sender.Tree), BrowserThreads.Snapshot(receiver.Tree));
            drops = UdpReceiveBufferErrors() - drops0;
            window.Stop();
            if (profiler is not null)
                await profiler.StopAsync(Path.Combine(profileDir!, $"{c.ToString().ToLowerInvariant()}-{index + 1}-sender.cpuprofile"),
                    Path.Combine(profileDir!, $"{c.ToString().ToLowerInvariant()}-{index + 1}-receiver.cpuprofile"));
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
        }
        var check = await receiver.WaitEventAsync("checked", TimeSpan.FromSeconds(60 + size / 10e6));
        var got = check.GetProperty("sha256").GetString() ?? "";
        if (!string.Equals(got, sha256, StringComparison.OrdinalIgnoreCase))
            Console.WriteLine($"  {c}: THE DOWNLOAD DIFFERS: SHA-256 {got}, expected {sha256}");
        Console.WriteLine($"  {sender.Who} threads: {BrowserThreads.Top(threads0.Sender, threads1.Sender, window.Elapsed.TotalSeconds)}");
        Console.WriteLine($"  {receiver.Who} threads: {BrowserThreads.Top(threads0.Receiver, threads1.Receiver, window.Elapsed.TotalSeconds)}");
        if (await WaitOptionalAsync(receiver, "storage") is { } storage)
            Console.WriteLine($"  {receiver.Who}: the origin's storage holds {storage.GetProperty("usage").GetInt64() / 1048576.0:F1} MiB after the download (OPFS counts in it)");
        foreach (var e in receiver.Events())
        {
            var name = e.GetProperty("event").GetString() ?? "";
            if (name.StartsWith("warning", StringComparison.Ordinal)) Console.WriteLine($"  {receiver.Who} {name}: {e.GetProperty("message")}");
        }
        double Ms(string name) => receiver.Event(name) is { } e ? e.GetProperty("ms").GetDouble() / 1000 : double.NaN;
        var store = complete.TryGetProperty("store", out var s) ? s.GetString() ?? "" : "";
        return new Run(c, index, size, prepare, Ms("connected"), Ms("info"), complete.GetProperty("ms").GetDouble() / 1000,
            check.GetProperty("ms").GetDouble() / 1000, senderCpu, receiverCpu, senderPeak, receiverPeak, pieceSize, store,
            string.Equals(got, sha256, StringComparison.OrdinalIgnoreCase), load, drops);
    }

    /// <summary>The V8 sampling profiler of two pages' main threads, through the DevTools protocol.</summary>
    private sealed class Profiler(ICDPSession sender, ICDPSession receiver)
    {
        public static async Task<Profiler> StartAsync(IPage sender, IPage receiver)
        {
            var profiler = new Profiler(await sender.Context.NewCDPSessionAsync(sender), await receiver.Context.NewCDPSessionAsync(receiver));
            foreach (var session in new[] { profiler._sender, profiler._receiver })
            {
                await session.SendAsync("Profiler.enable");
                await session.SendAsync("Profiler.setSamplingInterval", new Dictionary<string, object> { ["interval"] = 200 });
                await session.SendAsync("Profiler.start");
            }
            return profiler;
        }

        private readonly ICDPSession _sender = sender;
        private readonly ICDPSession _receiver = receiver;

        public async Task StopAsync(string senderFile, string receiverFile)
        {
            foreach (var (session, file) in new[] { (_sender, senderFile), (_receiver, receiverFile) })
            {
                var result = await session.SendAsync("Profiler.stop");
                if (result is { } r) await File.WriteAllTextAsync(file, r.GetProperty("profile").GetRawText());
                await session.DetachAsync();
            }
        }
    }

    private static async Task<JsonElement?> WaitOptionalAsync(BrowserSide side, string name)
    {
        try
        {
            return await side.WaitEventAsync(name, TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>UDP datagrams dropped because a socket's receive buffer was full (this namespace's /proc/net/snmp RcvbufErrors).</summary>
    private static long UdpReceiveBufferErrors()
    {
        var lines = File.ReadAllLines("/proc/net/snmp").Where(l => l.StartsWith("Udp:", StringComparison.Ordinal)).ToArray();
        if (lines.Length != 2) return 0;
        var index = Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "RcvbufErrors");
        return index > 0 ? long.Parse(lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[index], CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>The 1-minute load average: the machine is shared, and a busy one slows both cases.</summary>
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

    private static string Label(Case c) => c switch
    {
        Case.PeerNet => "PeerNet web app",
        Case.WebTorrent => $"WebTorrent {WebTorrentServer.WebTorrentVersion}",
        _ => "bare data channel",
    };

    private static string Describe(Run r) => r.Case == Case.Channel
        ? string.Create(CultureInfo.InvariantCulture, $"  #{r.Index + 1} {Label(r.Case),-22} {r.CompleteSeconds,6:F2} s  {r.MBps,6:F1} MB/s  (first send to last byte)  CPU sender {r.SenderCpu:F2} s + receiver {r.ReceiverCpu:F2} s  "
            + $"peak RSS {r.SenderPeakRss >> 20} + {r.ReceiverPeakRss >> 20} MiB  UDP drops {r.UdpDrops}  load {r.LoadAverage:F1}{(r.Identical ? "" : "  BAD BYTES")}")
        : string.Create(CultureInfo.InvariantCulture, $"  #{r.Index + 1} {Label(r.Case),-22} {r.CompleteSeconds,6:F2} s  {r.MBps,6:F1} MB/s  (connected {r.ConnectedSeconds:F2} s, info {r.InfoSeconds:F2} s, "
            + $"then {r.TransferMBps:F1} MB/s; checked {r.CheckedSeconds:F2} s)  CPU sender {r.SenderCpu:F2} s + receiver {r.ReceiverCpu:F2} s  peak RSS {r.SenderPeakRss >> 20} + {r.ReceiverPeakRss >> 20} MiB  "
            + $"sender ready in {r.PrepareSeconds:F2} s  store: {r.Store}  UDP drops {r.UdpDrops}  load {r.LoadAverage:F1}{(r.Identical ? "" : "  DIFFERENT BYTES")}");

    private static string Report(List<Run> runs, long size, int repeat, string machine)
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(machine).AppendLine();
        text.AppendLine(inv, $"#### {FormatSize(size)}, one sender → one downloader, loopback{(repeat > 1 ? $" (median of {repeat} by time)" : "")}");
        text.AppendLine();
        text.AppendLine("| case | time to complete, s | MB/s | connected / info known at, s | MB/s after info | app's SHA-256 shown at, s | CPU s sender + receiver | peak RSS sender / receiver, MiB | UDP datagrams dropped | piece (message) size | downloader's store |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        var medians = new Dictionary<Case, Run>();
        foreach (var c in new[] { Case.PeerNet, Case.WebTorrent, Case.Channel })
        {
            var list = runs.Where(r => r.Case == c).OrderBy(r => r.CompleteSeconds).ToList();
            if (list.Count == 0) continue;
            var m = medians[c] = list[list.Count / 2];
            var app = c != Case.Channel;
            text.AppendLine(string.Create(inv,
                $"| {Label(c)} | {m.CompleteSeconds:F2}{(app ? "" : " ¹")} | **{m.MBps:F1}** | {(app ? $"{m.ConnectedSeconds:F2} / {m.InfoSeconds:F2}" : "—")} | {(app ? m.TransferMBps.ToString("F1", inv) : "—")} "
                + $"| {(c == Case.PeerNet ? m.CheckedSeconds.ToString("F2", inv) : "—")} "
                + $"| {m.SenderCpu:F2} + {m.ReceiverCpu:F2} = {m.SenderCpu + m.ReceiverCpu:F2} | {m.SenderPeakRss / 1048576.0:F0} / {m.ReceiverPeakRss / 1048576.0:F0} | {m.UdpDrops} "
                + $"| {FormatSize(m.PieceSize)}{(app ? "" : " messages")} | {m.Store} |{(list.All(r => r.Identical) ? "" : " **bytes differed!**")}"));
        }
        text.AppendLine();
        if (medians.TryGetValue(Case.PeerNet, out var p) && medians.TryGetValue(Case.WebTorrent, out var w))
        {
            text.AppendLine(string.Create(inv,
                $"PeerNet ÷ WebTorrent: MB/s **{p.MBps / w.MBps:F2}×** (time {p.CompleteSeconds / w.CompleteSeconds:F2}×), "
                + $"CPU s of both browsers {(p.SenderCpu + p.ReceiverCpu) / (w.SenderCpu + w.ReceiverCpu):F2}×."));
        }
        if (medians.TryGetValue(Case.Channel, out var ch))
        {
            foreach (var c in new[] { Case.PeerNet, Case.WebTorrent })
                if (medians.TryGetValue(c, out var m))
                    text.AppendLine(string.Create(inv, $"{Label(c)} after info ÷ bare data channel: {m.TransferMBps / ch.MBps:F2}×."));
            text.AppendLine();
            text.AppendLine("¹ bare data channel: from the first send to the last byte, no setup; the same bytes one way in 32 KiB messages.");
        }
        text.AppendLine();
        text.AppendLine("Every run, in the order run:");
        text.AppendLine();
        text.AppendLine("| # | case | time to complete, s | MB/s | MB/s after info | CPU s sender + receiver | UDP datagrams dropped | load avg | same bytes |");
        text.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in runs)
        {
            text.AppendLine(string.Create(inv,
                $"| {r.Index + 1} | {Label(r.Case)} | {r.CompleteSeconds:F2} | {r.MBps:F1} | {(r.Case == Case.Channel ? "—" : r.TransferMBps.ToString("F1", inv))} "
                + $"| {r.SenderCpu:F2} + {r.ReceiverCpu:F2} | {r.UdpDrops} | {r.LoadAverage:F1} | {(r.Identical ? "yes" : "**no**")} |"));
        }
        return text.ToString();
    }

    /// <summary>Writes <paramref name="size"/> random bytes (a fixed seed: the same file every run) and returns their SHA-256, hex.</summary>
    private static string WriteRandomFile(string path, long size)
    {
        var random = new Random(7);
        var buffer = new byte[1 << 20];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var stream = File.Create(path))
        {
            for (long done = 0; done < size; done += buffer.Length)
            {
                var n = (int)Math.Min(buffer.Length, size - done);
                random.NextBytes(buffer.AsSpan(0, n));
                stream.Write(buffer, 0, n);
                hash.AppendData(buffer, 0, n);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static async Task<string> MachineAsync()
    {
        var model = "unknown CPU";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? model;
        }
        catch (IOException)
        {
        }
        var chromium = (await CaptureAsync("/usr/bin/chromium", ["--version"])).Trim();
        var node = (await CaptureAsync("node", ["--version"])).Trim();
        return $"{Environment.ProcessorCount} cores ({model}), {Environment.OSVersion}, .NET {Environment.Version}, {chromium}, "
            + $"Node {node} (tracker), WebTorrent {WebTorrentServer.WebTorrentVersion}, bittorrent-tracker {WebTorrentServer.TrackerVersion}";
    }

    private static string FormatSize(long bytes) => bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB"
        : bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB" : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? $"{bytes >> 10} KiB" : $"{bytes} B";
}
