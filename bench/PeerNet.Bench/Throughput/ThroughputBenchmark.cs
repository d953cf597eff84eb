using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using PeerNet.Bench.DataChannels;
using PeerNet.Hub;
using static PeerNet.Bench.BenchTools;

namespace PeerNet.Bench.Throughput;

/// <summary>
/// Data-channel throughput (issue 6, deliverable 5): one-way bulk transfer in 64 KiB messages on one
/// reliable ordered channel, side by side in one run — PeerNet↔PeerNet, PeerNet→Chromium,
/// Chromium→PeerNet, Chromium↔Chromium, aiortc↔aiortc, aiortc→Chromium — on loopback and over a 50 ms RTT
/// delay line. Every peer is a process (or, for Chromium, a browser) of its own; per peer: MB/s, CPU
/// seconds per GiB of every process of the peer (/proc), peak RSS. Runs in a network namespace of its own.
/// </summary>
public static class ThroughputBenchmark
{
    public const string Usage = """
        usage: PeerNet.Bench throughput [options]   (root: it makes its own network namespace)
          --bytes SIZE            bytes per PeerNet↔PeerNet run (default 1G)
          --reference-bytes SIZE  bytes per run with Chromium or aiortc on either end (default 256M)
          --chunk SIZE            message size (default 64K)
          --hwm SIZE              senders send while bufferedAmount <= this (default 1M; RtcDataChannel.SendAsync's)
          --pairs LIST            of peernet-peernet,peernet-chromium,chromium-peernet,chromium-chromium,
                                  aiortc-aiortc,aiortc-chromium (default all; sender first)
          --rtt LIST              round-trip times in ms; 0 = plain loopback (default 0,50)
          --repeat N              runs per pair and RTT; the median by MB/s is reported (default 1)
          --out FILE              also write the markdown report there
        """;

    internal static readonly (string Name, PeerKind Sender, PeerKind Receiver)[] AllPairs =
    [
        ("peernet-peernet", PeerKind.PeerNet, PeerKind.PeerNet),
        ("peernet-chromium", PeerKind.PeerNet, PeerKind.Chromium),
        ("chromium-peernet", PeerKind.Chromium, PeerKind.PeerNet),
        ("chromium-chromium", PeerKind.Chromium, PeerKind.Chromium),
        ("aiortc-aiortc", PeerKind.Aiortc, PeerKind.Aiortc),
        ("aiortc-chromium", PeerKind.Aiortc, PeerKind.Chromium),
    ];

    /// <summary>One transfer: time from the sender's first send to the receiver's last byte, CPU and peak RSS per side.</summary>
    internal sealed record Run(string Pair, int RttMs, long Bytes, double Seconds, double SenderCpu, double ReceiverCpu,
        long SenderPeakRss, long ReceiverPeakRss, double LoadAverage, long Errors, long UdpDrops, string SenderProcesses, string ReceiverProcesses)
    {
        public double MBps => Bytes / 1e6 / Seconds;
        public double Gib => Bytes / (double)(1L << 30);
        public double SenderCpuPerGib => SenderCpu / Gib;
        public double ReceiverCpuPerGib => ReceiverCpu / Gib;
        public double CpuPerGib => (SenderCpu + ReceiverCpu) / Gib;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        long bytes = 1L << 30, referenceBytes = 256L << 20, hwm = 1 << 20;
        var chunk = 64 << 10;
        var pairs = AllPairs.Select(p => p.Name).ToList();
        List<int> rtts = [0, 50];
        var repeat = 1;
        string? outFile = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--bytes": bytes = BenchTools.ParseSize(args[++i]); break;
                    case "--reference-bytes": referenceBytes = BenchTools.ParseSize(args[++i]); break;
                    case "--chunk": chunk = (int)BenchTools.ParseSize(args[++i]); break;
                    case "--hwm": hwm = BenchTools.ParseSize(args[++i]); break;
                    case "--pairs": pairs = [.. args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries)]; break;
                    case "--rtt": rtts = [.. args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                    case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--out": outFile = args[++i]; break;
                    case "--no-build": break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (pairs.Any(p => AllPairs.All(a => a.Name != p))) throw new ArgumentException($"--pairs takes {string.Join(",", AllPairs.Select(a => a.Name))}");
            if (chunk < 8) throw new ArgumentException("--chunk must be at least 8 bytes");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (!DataChannelBenchmark.IsLoopbackOnly()) return await DataChannelBenchmark.RerunInNamespaceAsync(args);

        var machine = await MachineAsync();
        Console.WriteLine($"data-channel throughput: {FormatSize(chunk)} messages, reliable ordered, sender while bufferedAmount <= {FormatSize(hwm)}; "
            + $"PeerNet↔PeerNet {FormatSize(bytes)}, others {FormatSize(referenceBytes)}; RTT {string.Join(", ", rtts)} ms; {machine}");

        var dataDir = Directory.CreateTempSubdirectory("peernet-bench-hub-").FullName;
        var runs = new List<Run>();
        try
        {
            await using var hub = await HubServer.StartAsync(new HubOptions { Bind = "127.0.0.1", Port = 0, Http = true, DataDir = dataDir }, CancellationToken.None, _ => { });
            using var playwright = await Playwright.CreateAsync();
            var page = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "throughput.html"));
            foreach (var rtt in rtts)
            {
                DelayedNetwork? network = rtt > 0 ? await DelayedNetwork.CreateAsync(rtt) : null;
                try
                {
                    var address = network is null ? "127.0.0.1" : DelayedNetwork.PeerAddress;
                    Console.WriteLine(network is null ? "loopback (127.0.0.1):"
                        : $"{rtt} ms RTT ({address} through a TUN delay line of {rtt / 2} ms each way; a datagram to itself takes {await DelayedNetwork.MeasureOneWayMsAsync():F1} ms):");
                    for (var r = 0; r < repeat; r++)
                    {
                        foreach (var (name, sender, receiver) in AllPairs.Where(p => pairs.Contains(p.Name)))
                        {
                            var n = sender == PeerKind.PeerNet && receiver == PeerKind.PeerNet ? bytes : referenceBytes;
                            var run = await RunPairAsync(name, sender, receiver, rtt, n, chunk, hwm, address, hub, playwright, page);
                            runs.Add(run);
                            Console.WriteLine($"  {Label(name),-22} {run.MBps,7:F1} MB/s  {run.Seconds,6:F1} s  CPU/GiB sender {run.SenderCpuPerGib,6:F2} s + receiver {run.ReceiverCpuPerGib,6:F2} s"
                                + $"  peak RSS {run.SenderPeakRss >> 20} + {run.ReceiverPeakRss >> 20} MiB  load {run.LoadAverage:F1}{(run.Errors > 0 ? $"  {run.Errors} BAD MESSAGES" : "")}"
                                + $"  UDP receive-buffer drops {run.UdpDrops}");
                        }
                    }
                }
                finally
                {
                    if (network is not null) await network.DisposeAsync();
                }
            }
        }
        finally
        {
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
        }

        var report = Report(runs, rtts, chunk, hwm, repeat);
        Console.WriteLine();
        Console.WriteLine(machine);
        Console.Write(report);
        if (outFile is not null) await File.WriteAllTextAsync(outFile, machine + "\n\n" + report);
        return runs.Any(r => r.Errors > 0) ? 1 : 0;
    }

    private static async Task<Run> RunPairAsync(string name, PeerKind senderKind, PeerKind receiverKind, int rtt, long bytes, int chunk, long hwm,
        string address, HubServer hub, IPlaywright playwright, string page)
    {
        var room = "tp-" + Guid.NewGuid().ToString("N")[..8];
        PeerSpec Spec(string role) => new(role, hub.Url, hub.SignalingUrl, room, bytes, chunk, hwm, address);
        var load = LoadAverage();
        await using var receiver = await BenchPeer.StartAsync(receiverKind, Spec("receive"), playwright, page);
        await using var sender = await BenchPeer.StartAsync(senderKind, Spec("send"), playwright, page);
        await sender.WaitEventAsync("open", TimeSpan.FromSeconds(60));
        await receiver.WaitEventAsync("open", TimeSpan.FromSeconds(60));
        // Let the setup's work (JIT, handshakes, the page's load) settle before the meters start.
        await Task.Delay(1000);

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
                sender.Tree.CpuSeconds();
                receiver.Tree.CpuSeconds();
                try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var drops0 = UdpReceiveBufferErrors() + DelayedNetwork.TunDrops();
        await sender.GoAsync();
        // At least 1 MB/s, or something is wrong.
        var done = await receiver.WaitEventAsync("done", TimeSpan.FromSeconds(120 + bytes / 1e6));
        var senderCpu = sender.Tree.CpuSeconds() - senderCpu0;
        var receiverCpu = receiver.Tree.CpuSeconds() - receiverCpu0;
        var drops = UdpReceiveBufferErrors() + DelayedNetwork.TunDrops() - drops0;
        await stop.CancelAsync();
        await sampler;
        var sent = await sender.WaitEventAsync("sent", TimeSpan.FromSeconds(30));
        if (await sender.SctpCountersAsync() is { } senderCounters) Console.WriteLine($"    PeerNet sender SCTP: {senderCounters}");
        if (await receiver.SctpCountersAsync() is { } receiverCounters) Console.WriteLine($"    PeerNet receiver SCTP: {receiverCounters}");
        var seconds = (done.GetProperty("lastByteMs").GetDouble() - sent.GetProperty("firstSendMs").GetDouble()) / 1000;
        var received = done.GetProperty("bytes").GetInt64();
        var errors = done.GetProperty("errors").GetInt64() + (received == bytes ? 0 : 1);
        return new Run(name, rtt, bytes, seconds, senderCpu, receiverCpu, senderPeak, receiverPeak, load, errors, drops,
            sender.Tree.Describe(), receiver.Tree.Describe());
    }

    private static string Report(List<Run> runs, List<int> rtts, int chunk, long hwm, int repeat)
    {
        var text = new StringBuilder();
        foreach (var rtt in rtts)
        {
            var medians = AllPairs
                .Select(p => runs.Where(r => r.Pair == p.Name && r.RttMs == rtt).OrderBy(r => r.MBps).ToList())
                .Where(list => list.Count > 0)
                .Select(list => list[list.Count / 2])
                .ToList();
            if (medians.Count == 0) continue;
            text.AppendLine(CultureInfo.InvariantCulture, $"#### {(rtt == 0 ? "Loopback" : $"{rtt} ms RTT")} ({FormatSize(chunk)} messages, bufferedAmount ≤ {FormatSize(hwm)}{(repeat > 1 ? $", median of {repeat}" : "")})");
            text.AppendLine();
            text.AppendLine("| pair (sender → receiver) | sent | MB/s | CPU s/GiB sender + receiver = total | peak RSS sender / receiver, MiB | datagrams dropped | load avg |");
            text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var r in medians)
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {Label(r.Pair)} | {FormatSize(r.Bytes)} | {r.MBps:F1} | {r.SenderCpuPerGib:F2} + {r.ReceiverCpuPerGib:F2} = **{r.CpuPerGib:F2}** | {r.SenderPeakRss / 1048576.0:F0} / {r.ReceiverPeakRss / 1048576.0:F0} | {r.UdpDrops} | {r.LoadAverage:F1} |{(r.Errors > 0 ? $" {r.Errors} bad messages!" : "")}"));
            }
            text.AppendLine();
            Run? Find(string pair) => medians.FirstOrDefault(r => r.Pair == pair);
            var ours = Find("peernet-peernet");
            var chromium = Find("chromium-chromium");
            var aiortc = Find("aiortc-aiortc");
            void Target(string what, double value, string op, double target)
            {
                var met = op == "≥" ? value >= target : value <= target;
                text.AppendLine(CultureInfo.InvariantCulture, $"| {what} | {value:F2}× | {op} {target:0.##}× | {(met ? "met" : "**not met**")} |");
            }
            text.AppendLine("| target (issue 6) | measured | target | |");
            text.AppendLine("|---|---:|---:|---|");
            if (ours is not null && chromium is not null)
            {
                Target("PeerNet↔PeerNet MB/s ÷ Chromium↔Chromium", ours.MBps / chromium.MBps, "≥", 5);
                Target("PeerNet↔PeerNet CPU s/GiB ÷ Chromium↔Chromium", ours.CpuPerGib / chromium.CpuPerGib, "≤", 0.25);
            }
            if (ours is not null && aiortc is not null)
                Target("PeerNet↔PeerNet MB/s ÷ aiortc↔aiortc", ours.MBps / aiortc.MBps, "≥", 4);
            if (Find("peernet-chromium") is { } toChromium && Find("aiortc-chromium") is { } aiortcToChromium)
                Target("PeerNet→Chromium MB/s ÷ aiortc→Chromium", toChromium.MBps / aiortcToChromium.MBps, "≥", 1);
            text.AppendLine();
        }
        var processes = runs.FirstOrDefault(r => r.SenderProcesses.Contains("chromium", StringComparison.Ordinal))?.SenderProcesses
            ?? runs.FirstOrDefault(r => r.ReceiverProcesses.Contains("chromium", StringComparison.Ordinal))?.ReceiverProcesses;
        if (processes is not null) text.AppendLine(CultureInfo.InvariantCulture, $"A Chromium peer's processes (all counted): {processes}.");
        return text.ToString();
    }

    internal static string Label(string pair) => pair switch
    {
        "peernet-peernet" => "PeerNet ↔ PeerNet",
        "peernet-chromium" => "PeerNet → Chromium",
        "chromium-peernet" => "Chromium → PeerNet",
        "chromium-chromium" => "Chromium ↔ Chromium",
        "aiortc-aiortc" => "aiortc ↔ aiortc",
        "aiortc-chromium" => "aiortc → Chromium",
        _ => pair,
    };

    /// <summary>UDP datagrams dropped because a socket's receive buffer was full (this namespace's /proc/net/snmp).</summary>
    private static long UdpReceiveBufferErrors()
    {
        var lines = File.ReadAllLines("/proc/net/snmp").Where(l => l.StartsWith("Udp:", StringComparison.Ordinal)).ToArray();
        if (lines.Length != 2) return 0;
        var index = Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "RcvbufErrors");
        return index > 0 ? long.Parse(lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[index], CultureInfo.InvariantCulture) : 0;
    }

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
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
        var aiortc = (await CaptureAsync("/usr/bin/python3", ["-c", "import aiortc, aioice; print('aiortc', aiortc.__version__, 'aioice', aioice.__version__)"])).Trim();
        return $"{Environment.ProcessorCount} cores ({model}), {Environment.OSVersion}, .NET {Environment.Version}, {chromium}, {aiortc}";
    }


    private static string FormatSize(long bytes) => bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB"
        : bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : bytes >= 1 << 10 ? $"{bytes >> 10} KiB" : $"{bytes} B";
}
