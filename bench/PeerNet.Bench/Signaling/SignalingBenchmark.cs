using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using static PeerNet.Bench.BenchTools;

namespace PeerNet.Bench.Signaling;

/// <summary>
/// `signaling`: the PeerNet hub and the PeerJS server, one after the other, each as a child
/// process on a free loopback port, under the same load from the same N WebSocket clients; one
/// table per N with the ratio PeerNet/PeerJS.
/// </summary>
public static class SignalingBenchmark
{
    private const string PeerJsVersion = "1.0.2";   // pinned in peerjs-server/package.json
    private static int s_nextSourceHost = 1;        // 127.0.0.2 upward; each run takes fresh ones

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        if (args.Any(a => a is "--help" or "-h"))
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        BenchOptions options;
        try { options = BenchOptions.Parse(args); }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }

        // Interrupted (Ctrl+C, SIGTERM): no server may outlive the benchmark.
        using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupted);
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupted);

        void Say(string s) => Console.WriteLine(s);
        using var tuning = new SystemTuning(Say);
        s_tuning = tuning;
        if (options.Nice is { } nice)
        {
            // On Linux the nice value is per thread: set it on every thread there is; threads and
            // processes started later inherit it from the thread that starts them.
            // With sched_autogroup the scheduler first shares the CPU between sessions, whatever the
            // threads' nice values: the benchmark's session (its servers included) gets the same nice.
            tuning.SetAutogroupNice(nice);
            foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                if (uint.TryParse(Path.GetFileName(task), out uint tid) && Libc.setpriority(Libc.PRIO_PROCESS, tid, nice) != 0)
                {
                    Console.WriteLine($"warning: could not set nice {nice} (errno {Marshal.GetLastPInvokeError()})");
                    break;
                }
            }
        }

        string repo = FindRepoRoot();
        string peerJsDir = Path.Combine(repo, "bench", "PeerNet.Bench", "peerjs-server");
        string hubBin = Path.Combine(repo, "src", "PeerNet.Cli", "bin", "Release", "net10.0");
        string hubDll = "";
        var report = new StringBuilder();

        tuning.Prepare(options.Clients.Max(), options.ConnectConcurrency);

        if (options.Servers.Contains("peernet"))
        {
            if (options.Build)
            {
                Say("building src/PeerNet.Cli (Release) ...");
                await RunToolAsync("dotnet", ["build", Path.Combine(repo, "src", "PeerNet.Cli", "PeerNet.Cli.csproj"),
                    "-c", "Release", "-nologo", "-v", "q", "-clp:ErrorsOnly"], repo, TimeSpan.FromMinutes(10)).ConfigureAwait(false);
            }
            // The CLI's assembly is peernet.dll (AssemblyName) or, while it keeps the project's name, PeerNet.Cli.dll.
            hubDll = new[] { "peernet.dll", "PeerNet.Cli.dll" }.Select(f => Path.Combine(hubBin, f)).FirstOrDefault(File.Exists)
                ?? throw new FileNotFoundException($"the hub is not built: no peernet.dll in {hubBin}");
        }
        if (options.Servers.Contains("peerjs"))
        {
            string installed = Path.Combine(peerJsDir, "node_modules", "peer", "package.json");
            if (!File.Exists(installed) || !File.ReadAllText(installed).Contains($"\"version\": \"{PeerJsVersion}\"", StringComparison.Ordinal))
            {
                Say($"installing the PeerJS server (npm ci, peer@{PeerJsVersion}) ...");
                await RunToolAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], peerJsDir, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
            }
        }

        string machine = await DescribeMachineAsync(peerJsDir).ConfigureAwait(false);
        Say(machine);
        report.AppendLine(machine).AppendLine();
        string pattern = DescribePattern(options) + (options.Nice is { } n2 ? $" Benchmark and servers at nice {n2}." : "");
        Say(pattern);
        report.AppendLine(pattern).AppendLine();

        var all = new List<RunResult>();
        foreach (int n in options.Clients)
        {
            if (n > tuning.MaxClients)
            {
                string skip = $"### {n:N0} clients\n\nNot run: {n:N0} connections need {n:N0} file descriptors in the server process " +
                    $"(and as many in the load generator), but the open-file limit here is {tuning.OpenFileLimit:N0} and cannot be raised " +
                    $"(no CAP_SYS_RESOURCE). At most {tuning.MaxClients:N0} clients per run on this machine; raise the hard limit " +
                    $"(`ulimit -Hn 200000` as a privileged root, or LimitNOFILE= in a unit) to run it.";
                Say(skip);
                report.AppendLine(skip).AppendLine();
                continue;
            }
            var runs = options.Servers.ToDictionary(s => s, _ => new List<RunResult>());
            for (int k = 0; k < options.Repeat; k++)
            {
                // Alternate the order (A B, B A, ...) so neither server always runs first.
                var order = k % 2 == 0 ? options.Servers : options.Servers.Reverse().ToList();
                foreach (string server in order)
                {
                    Say($"--- {server}, {n} clients" + (options.Repeat > 1 ? $", run {k + 1}/{options.Repeat}" : "") + " ---");
                    runs[server].Add(await RunOneAsync(server, n, options, repo, hubDll, peerJsDir, tuning, Say).ConfigureAwait(false));
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                }
            }
            var results = new List<RunResult>();
            foreach (string server in options.Servers)
            {
                // This machine may be shared: report the run least disturbed by other processes.
                var quietest = runs[server].OrderBy(r => r.Failure is null ? 0 : 1).ThenBy(r => r.OtherCpuCores).First();
                quietest.AllRates = string.Join(", ", runs[server].Select(r =>
                    string.Create(CultureInfo.InvariantCulture, $"{r.MessagesPerSecond:N0}/s (other CPU {r.OtherCpuCores:F2})")));
                quietest.Runs = runs[server].Count;
                results.Add(quietest);
                all.Add(quietest);
            }
            string table = Table(n, results);
            Say(table);
            report.AppendLine(table).AppendLine();
        }

        string summary = Summary(all);
        Say(summary);
        report.AppendLine(summary);
        if (options.OutFile is { } outFile) await File.AppendAllTextAsync(outFile, report.ToString()).ConfigureAwait(false);
        return 0;
    }

    private static SystemTuning? s_tuning;

    private static void Interrupted(PosixSignalContext context)
    {
        ServerProcess.KillAll();
        s_tuning?.Dispose();
        context.Cancel = false;
    }

    private static async Task<RunResult> RunOneAsync(string server, int n, BenchOptions options, string repo,
        string hubDll, string peerJsDir, SystemTuning tuning, Action<string> say)
    {
        int port = ServerProcess.FreeLoopbackPort();
        var dataDir = Directory.CreateTempSubdirectory("peernet-bench-");
        string log = Path.Combine(dataDir.FullName, server + ".log");
        ServerProcess process;
        SignalingProtocol protocol;
        if (server == "peernet")
        {
            protocol = new PeerNetProtocol();
            process = ServerProcess.Start("dotnet",
                [hubDll, "serve", "--http", "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", dataDir.FullName],
                repo,
                new Dictionary<string, string>
                {
                    ["PEERNET_Signaling__MessagesPerSecond"] = "100000",
                    ["PEERNET_Signaling__Burst"] = "100000",
                    ["PEERNET_Signaling__PeersPerRoom"] = "1000",
                    ["PEERNET_Signaling__IdleTimeout"] = "00:10:00",
                }.Concat(options.HubEnvironment).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value),
                log);
        }
        else
        {
            protocol = new PeerJsProtocol();
            process = ServerProcess.Start("node", ["server.mjs", port.ToString(CultureInfo.InvariantCulture)], peerJsDir,
                new Dictionary<string, string>(), log);
        }

        var result = new RunResult { Server = protocol.Name, Clients = n, Log = log };
        await using (process.ConfigureAwait(false))
        {
            var ready = server == "peernet"
                ? (Url: new Uri($"http://127.0.0.1:{port}/healthz"), Expect: "ok")
                : (Url: new Uri($"http://127.0.0.1:{port}/"), Expect: "PeerJS Server");
            try
            {
                await process.WaitReadyAsync(ready.Url, ready.Expect, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                result.Failure = e.Message;
                say($"  FAILED: {e.Message}");
                return result;
            }
            await Task.Delay(1000).ConfigureAwait(false);
            result.RssIdle = process.ReadMemory().RssBytes;

            int firstHost = s_nextSourceHost;
            s_nextSourceHost += (n + tuning.PerSourceAddress - 1) / tuning.PerSourceAddress;
            var gen = new LoadGenerator(protocol, new IPEndPoint(IPAddress.Loopback, port),
                i => tuning.SourceAddress(firstHost, i), n, options);

            using var stop = new CancellationTokenSource();
            var heartbeats = gen.HeartbeatLoopAsync(stop.Token);
            var pacer = Task.CompletedTask;
            try
            {
                var clock = Stopwatch.StartNew();
                using (var connectDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(120 + n / 100)))
                    await gen.ConnectAllAsync(k => say($"  {k} connected ({clock.Elapsed.TotalSeconds:F1} s)"), connectDeadline.Token).ConfigureAwait(false);
                result.ConnectSeconds = clock.Elapsed.TotalSeconds;
                result.Connected = gen.Connected;
                say($"  {gen.Connected}/{n} connected in {result.ConnectSeconds:F1} s" +
                    (gen.ConnectFailures.Count > 0 ? "; failures: " + Describe(gen.ConnectFailures) : ""));
                result.ConnectFailures = Describe(gen.ConnectFailures);

                await Task.Delay(options.Settle).ConfigureAwait(false);
                var connected = process.ReadMemory();
                result.RssConnected = connected.RssBytes;
                result.ServerThreads = connected.Threads;

                pacer = gen.StartSending(stop.Token);
                await Task.Delay(options.Warmup).ConfigureAwait(false);

                var machineCpu0 = ProcCpu.ReadMachineBusy();
                var serverCpu0 = ProcCpu.ReadSplit(process.Pid);
                long switches0 = ProcCpu.ReadContextSwitches(process.Pid);
                var genCpu0 = ProcCpu.ReadSplit("self");
                gen.StartMeasuring();
                var measured = Stopwatch.StartNew();
                long maxRss = 0;
                while (measured.Elapsed < options.Duration && !process.HasExited)
                {
                    var left = options.Duration - measured.Elapsed;
                    await Task.Delay(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                    if (!process.HasExited) maxRss = Math.Max(maxRss, process.ReadMemory().RssBytes);
                }
                gen.StopMeasuring();
                double seconds = measured.Elapsed.TotalSeconds;
                if (process.HasExited) throw new InvalidOperationException($"{protocol.Name} exited during the run; see {log}");
                var machineCpu1 = ProcCpu.ReadMachineBusy();
                var serverCpu1 = ProcCpu.ReadSplit(process.Pid);
                long switches1 = ProcCpu.ReadContextSwitches(process.Pid);
                var genCpu1 = ProcCpu.ReadSplit("self");
                var serverCpu = serverCpu1.User + serverCpu1.System - serverCpu0.User - serverCpu0.System;
                var genCpu = genCpu1.User + genCpu1.System - genCpu0.User - genCpu0.System;
                result.ServerSystemShare = (serverCpu1.System - serverCpu0.System) / serverCpu;
                result.GeneratorSystemShare = (genCpu1.System - genCpu0.System) / genCpu;

                long routed = gen.ReceivedMeasured;
                result.MessagesPerSecond = routed / seconds;
                result.P50Ms = gen.Latency.Quantile(0.50) / 1000;
                result.P99Ms = gen.Latency.Quantile(0.99) / 1000;
                result.P999Ms = gen.Latency.Quantile(0.999) / 1000;
                result.MaxMs = gen.Latency.Max / 1000.0;
                result.ServerCpuCores = serverCpu.TotalSeconds / seconds;
                result.ServerCpuMicrosPerMessage = routed > 0 ? serverCpu.TotalMicroseconds / routed : double.NaN;
                result.ServerSwitchesPerMessage = routed > 0 ? (double)(switches1 - switches0) / routed : double.NaN;
                result.GeneratorCpuCores = genCpu.TotalSeconds / seconds;
                // Whatever else ran on the machine meanwhile (other processes, softirq work not charged to either).
                result.OtherCpuCores = Math.Max(0, ((machineCpu1 - machineCpu0) - serverCpu - genCpu).TotalSeconds / seconds);
                result.ClientsReceiving = gen.ClientsReceiving;
                result.RssMaxDuringLoad = maxRss;

                await gen.DrainAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                var end = process.ReadMemory();
                result.RssEnd = end.RssBytes;
                result.Hwm = end.HwmBytes;
                result.Held = gen.Held;
                result.Drops = gen.Drops;
                result.DropReasons = Describe(gen.DropReasons);
                result.Sent = gen.Sent;
                result.Received = gen.Received;
                result.Errors = gen.Errors;
                result.ErrorCodes = Describe(gen.ErrorCodes);
                result.Misrouted = gen.Misrouted;
                result.Lost = gen.Outstanding;
                result.Skipped = gen.Skipped;
                say($"  {result.MessagesPerSecond:N0} msg/s, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, " +
                    $"{result.ServerCpuMicrosPerMessage:F1} µs server CPU/signal, RSS {Mib(result.RssEnd):F0} MiB (peak {Mib(result.Hwm):F0}), held {result.Held}/{n}, server CPU {result.ServerCpuCores:F2} cores ({result.ServerSystemShare:P0} kernel), " +
                    $"generator CPU {result.GeneratorCpuCores:F2} cores ({result.GeneratorSystemShare:P0} kernel), " +
                    $"other CPU {result.OtherCpuCores:F2} cores" +
                    (result.Drops > 0 ? $"; drops: {result.DropReasons}" : "") +
                    (result.Errors > 0 ? $"; errors: {result.ErrorCodes}" : ""));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                result.Failure = e.Message;
                say($"  FAILED: {e.Message}");
            }
            finally
            {
                gen.Sending = false;
                await stop.CancelAsync().ConfigureAwait(false);
                await heartbeats.ConfigureAwait(false);
                await pacer.ConfigureAwait(false);
                gen.AbortAll();
            }
        }
        try { dataDir.Delete(recursive: true); } catch (IOException) { }
        return result;
    }

    private static string Table(int n, List<RunResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"### {n:N0} clients").AppendLine();
        var peerNet = results.FirstOrDefault(r => r.Server == "PeerNet");
        var peerJs = results.FirstOrDefault(r => r.Server == "PeerJS");
        var cols = results.Select(r => r.Server).ToList();
        bool ratio = peerNet is not null && peerJs is not null;
        sb.Append("| metric | ").Append(string.Join(" | ", cols)).Append(ratio ? " | PeerNet/PeerJS |" : " |").AppendLine();
        sb.Append("|---|").Append(string.Concat(cols.Select(_ => "---:|"))).Append(ratio ? "---:|" : "").AppendLine();

        void Row(string name, Func<RunResult, double> value, string format, bool withRatio = false)
        {
            sb.Append("| ").Append(name).Append(" | ");
            sb.Append(string.Join(" | ", results.Select(r => r.Failure is null || value(r) != 0 ? Fmt(value(r), format) : "failed")));
            if (ratio) sb.Append(" | ").Append(withRatio ? Fmt(value(peerNet!) / value(peerJs!), "F2") + "×" : "");
            sb.AppendLine(" |");
        }
        sb.Append("| connections held at end / opened | ")
          .Append(string.Join(" | ", results.Select(r => $"{r.Held:N0} / {r.Connected:N0}")))
          .Append(ratio ? " | |" : " |").AppendLine();
        Row("connect + join time (s)", r => r.ConnectSeconds, "F1");
        Row("signals routed per second", r => r.MessagesPerSecond, "N0", true);
        Row("latency p50 (ms)", r => r.P50Ms, "F2", true);
        Row("latency p99 (ms)", r => r.P99Ms, "F2", true);
        Row("latency p99.9 (ms)", r => r.P999Ms, "F2");
        Row("latency max (ms)", r => r.MaxMs, "F1");
        Row("server RSS idle (MiB)", r => Mib(r.RssIdle), "N0");
        Row("server RSS, all connected (MiB)", r => Mib(r.RssConnected), "N0", true);
        Row("server RSS at end of load (MiB)", r => Mib(r.RssEnd), "N0", true);
        Row("server peak RSS, VmHWM (MiB)", r => Mib(r.Hwm), "N0", true);
        Row("RSS per connection (KiB)", r => (r.RssConnected - r.RssIdle) / 1024.0 / Math.Max(1, r.Connected), "F1", true);
        Row("server CPU under load (cores)", r => r.ServerCpuCores, "F2");
        Row("server CPU per signal (µs)", r => r.ServerCpuMicrosPerMessage, "F1", true);
        Row("server context switches per signal", r => r.ServerSwitchesPerMessage, "F2", true);
        Row("server threads", r => r.ServerThreads, "N0");
        Row("load generator CPU (cores)", r => r.GeneratorCpuCores, "F2");
        Row("other CPU on the machine (cores)", r => r.OtherCpuCores, "F2");
        sb.Append("| errors / misrouted / lost / drops | ")
          .Append(string.Join(" | ", results.Select(r => $"{r.Errors} / {r.Misrouted} / {r.Lost} / {r.Drops}")))
          .Append(ratio ? " | |" : " |").AppendLine();
        foreach (var r in results.Where(r => r.OtherCpuCores > 0.2))
            sb.AppendLine().Append(CultureInfo.InvariantCulture,
                $"Warning: other processes used {r.OtherCpuCores:F2} cores of the machine during the {r.Server} run; its figures are lower than a quiet machine gives.").AppendLine();
        if (results.Any(r => r.Runs > 1))
            sb.AppendLine().Append("Reported: the run with the least CPU used by other processes; all runs: ")
              .AppendJoin("; ", results.Select(r => $"{r.Server} {r.AllRates}")).AppendLine();
        foreach (var r in results.Where(r => r.Failure is not null || r.ConnectFailures.Length > 0 || r.ErrorCodes.Length > 0 || r.DropReasons.Length > 0))
            sb.AppendLine().Append(CultureInfo.InvariantCulture,
                $"{r.Server}: {r.Failure} connect failures: [{r.ConnectFailures}] errors: [{r.ErrorCodes}] drops: [{r.DropReasons}] (log {r.Log})");
        return sb.ToString();
    }

    private static string Summary(List<RunResult> all)
    {
        var sb = new StringBuilder();
        sb.AppendLine("### Summary").AppendLine();
        sb.AppendLine("| clients | server | held | signals/s | p50 ms | p99 ms | RSS end MiB | peak RSS MiB | server CPU cores |");
        sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in all)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Clients:N0} | {r.Server} | {r.Held:N0} | {r.MessagesPerSecond:N0} | {r.P50Ms:F2} | {r.P99Ms:F2} | {Mib(r.RssEnd):N0} | {Mib(r.Hwm):N0} | {r.ServerCpuCores:F2} |");
        var pairs = all.GroupBy(r => r.Clients)
            .Select(g => (N: g.Key, Net: g.FirstOrDefault(r => r.Server == "PeerNet"), Js: g.FirstOrDefault(r => r.Server == "PeerJS")))
            .Where(p => p.Net is not null && p.Js is not null).ToList();
        if (pairs.Count > 0)
        {
            sb.AppendLine().AppendLine("| clients | signals/s PeerNet/PeerJS | p99 PeerNet/PeerJS | peak RSS PeerNet/PeerJS |");
            sb.AppendLine("|---:|---:|---:|---:|");
            foreach (var (n, net, js) in pairs)
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {n:N0} | {net!.MessagesPerSecond / js!.MessagesPerSecond:F2}× | {net.P99Ms / js.P99Ms:F2}× | {(double)net.Hwm / js.Hwm:F2}× |");
        }
        sb.AppendLine().AppendLine("Targets:");
        var big = all.Where(r => r.Server == "PeerNet").OrderByDescending(r => r.Clients).FirstOrDefault();
        if (big is not null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"- {big.Clients:N0} concurrent peers held by PeerNet: {(big.Held == big.Clients ? "MET" : "MISSED")} ({big.Held:N0}/{big.Clients:N0})");
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"- hub peak memory under 2 GiB at {big.Clients:N0}: {(big.Hwm > 0 && big.Hwm < 2L << 30 ? "MET" : "MISSED")} ({Mib(big.Hwm):N0} MiB)");
        }
        foreach (var (n, net, js) in pairs)
        {
            double x = net!.MessagesPerSecond / js!.MessagesPerSecond;
            bool met = x >= 2 && net.P99Ms <= js.P99Ms;
            double other = Math.Max(net.OtherCpuCores, js.OtherCpuCores);
            sb.Append(CultureInfo.InvariantCulture,
                $"- {n:N0} clients, ≥ 2× PeerJS signals/s at no worse p99: {(met ? "MET" : "MISSED")} ({x:F2}×, p99 {net.P99Ms:F2} vs {js.P99Ms:F2} ms)");
            if (other > 0.2)
                sb.Append(CultureInfo.InvariantCulture,
                    $" — unreliable: other processes used up to {other:F2} cores during these runs (try --nice -10 --repeat 2)");
            sb.AppendLine();
        }
        return sb.ToString();
    }

    private static string DescribePattern(BenchOptions o) =>
        $"Load: rooms of {o.RoomSize}; each client signals the next member of its room (a ring), " +
        (o.Rate is { } r
            ? $"{r:N0} signals/s in aggregate (at most {o.Window} outstanding per client)"
            : $"as fast as possible, closed loop, {o.Window} outstanding signal(s) per client") +
        $"; ~200-byte candidate-like payload; heartbeat every {o.Heartbeat.TotalSeconds:F0} s; " +
        $"{o.Warmup.TotalSeconds:F0} s warm-up, {o.Duration.TotalSeconds:F0} s measured; " +
        $"connections opened {o.ConnectConcurrency} at a time.";

    private static async Task<string> DescribeMachineAsync(string peerJsDir)
    {
        string os = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?[12..].Trim('"') ?? "Linux";
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        long memKb = long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        string node = (await CaptureAsync("node", ["--version"]).ConfigureAwait(false)).Trim();
        string peer = "?";
        string pkg = Path.Combine(peerJsDir, "node_modules", "peer", "package.json");
        if (File.Exists(pkg))
            peer = JsonDocument.Parse(File.ReadAllText(pkg)).RootElement.GetProperty("version").GetString() ?? "?";
        return $"Machine: {Environment.ProcessorCount} cores ({cpu}), {memKb / 1024.0 / 1024:F1} GiB, {os} (kernel {kernel}); " +
               $"{RuntimeInformation.FrameworkDescription}; Node {node}; PeerJS server (npm peer) {peer}.";
    }

    private static string Describe(IReadOnlyDictionary<string, long> counts) =>
        string.Join("; ", counts.OrderByDescending(kv => kv.Value).Take(5).Select(kv => $"{kv.Value}× {kv.Key}"));

    private static double Mib(long bytes) => bytes / 1024.0 / 1024.0;

    private static string Fmt(double v, string format) =>
        double.IsNaN(v) || double.IsInfinity(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);
}

public sealed class RunResult
{
    public string Server { get; set; } = "";
    public int Clients { get; set; }
    public string Log { get; set; } = "";
    public string? Failure { get; set; }
    public int Connected { get; set; }
    public int Held { get; set; }
    public int Drops { get; set; }
    public string DropReasons { get; set; } = "";
    public string ConnectFailures { get; set; } = "";
    public double ConnectSeconds { get; set; }
    public double MessagesPerSecond { get; set; }
    public double P50Ms { get; set; } = double.NaN;
    public double P99Ms { get; set; } = double.NaN;
    public double P999Ms { get; set; } = double.NaN;
    public double MaxMs { get; set; } = double.NaN;
    public long RssIdle { get; set; }
    public long RssConnected { get; set; }
    public long RssMaxDuringLoad { get; set; }
    public long RssEnd { get; set; }
    public long Hwm { get; set; }
    public int ServerThreads { get; set; }
    public double ServerCpuCores { get; set; }
    public double ServerCpuMicrosPerMessage { get; set; } = double.NaN;
    public double ServerSwitchesPerMessage { get; set; } = double.NaN;
    public double GeneratorCpuCores { get; set; }
    public double OtherCpuCores { get; set; }
    public int Runs { get; set; } = 1;
    public string AllRates { get; set; } = "";
    public double ServerSystemShare { get; set; }
    public double GeneratorSystemShare { get; set; }
    public int ClientsReceiving { get; set; }
    public long Sent { get; set; }
    public long Received { get; set; }
    public long Errors { get; set; }
    public string ErrorCodes { get; set; } = "";
    public int Misrouted { get; set; }
    public long Lost { get; set; }
    public long Skipped { get; set; }
}
