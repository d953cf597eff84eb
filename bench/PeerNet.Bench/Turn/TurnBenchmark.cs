using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using PeerNet.Bench.Signaling;
using static PeerNet.Bench.BenchTools;

namespace PeerNet.Bench.Turn;

/// <summary>
/// PeerNet's STUN/TURN server (<c>peernet turn</c>) against coturn's <c>turnserver</c>, configured
/// alike, on the same machine in the same run: Binding responses per second, and ChannelData relay
/// throughput with 1, 10 and 100 allocations and 100- and 1200-byte payloads. Each server runs as a
/// child pinned to one core (taskset), fresh for each case; the load generator is pinned to the
/// other core; the server's CPU time comes from /proc/&lt;pid&gt;/stat, so µs per request or relayed
/// packet exclude the generator.
/// </summary>
public static class TurnBenchmark
{
    private const string Realm = "peernet";
    private const string Password = "secret";

    public const string Usage = """
        usage: PeerNet.Bench turn [options]
          --servers LIST        coturn, peernet (default both); peernet-inline also sets
                                DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 (peernet turn sets it itself now)
          --cases LIST          stun, relay (default both)
          --allocations LIST    allocations per relay case (default 1,10,100)
          --payloads LIST       ChannelData payload bytes (default 100,1200)
          --duration S          measured seconds per case and server (default 5)
          --warmup S            seconds of load before measuring (default 2)
          --inflight N          relay: datagrams in flight in all, split over the allocations, at least 1 each (default 64)
          --stun-sockets N      STUN: client sockets (default 4)
          --stun-window N       STUN: requests in flight per socket (default 32)
          --server-cpu C        core the server is pinned to (default 0)
          --load-cpu C          core the load generator is pinned to (default 1)
          --repeat N            runs per case and server, alternating servers; the fastest is reported (default 1)
          --nice N              nice value for the benchmark and the servers (root: negative shields from other load)
          --out FILE            also write the markdown report there
          --no-build            do not build src/PeerNet.Cli first
          --server-env K=V      extra environment for the PeerNet servers (repeatable; e.g. DOTNET_PerfMapEnabled=1 to profile)
        """;

    private sealed class Options
    {
        public List<string> Servers = ["coturn", "peernet"];
        public List<string> Cases = ["stun", "relay"];
        public List<int> Allocations = [1, 10, 100];
        public List<int> Payloads = [100, 1200];
        public TimeSpan Duration = TimeSpan.FromSeconds(5);
        public TimeSpan Warmup = TimeSpan.FromSeconds(2);
        public int Inflight = 64;
        public int StunSockets = 4;
        public int StunWindow = 32;
        public int ServerCpu;
        public int LoadCpu = 1;
        public int Repeat = 1;
        public int? Nice;
        public string? Out;
        public bool Build = true;
        public Dictionary<string, string> ServerEnv = [];
    }

    private sealed record Result(string Case, string Server, Measurement M, string Unit);

    public static async Task<int> RunAsync(string[] args)
    {
        Options o;
        try { o = Parse(args); }
        catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        Native.CheckPlatform();
        if (Environment.ProcessorCount < 2 && o.ServerCpu != o.LoadCpu)
            Console.Error.WriteLine("warning: fewer than 2 cores; server and load share one");
        Console.CancelKeyPress += (_, _) => ServerProcess.KillAll();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ServerProcess.KillAll();
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => ServerProcess.KillAll());

        string repo = FindRepoRoot();
        string cliBin = Path.Combine(repo, "src", "PeerNet.Cli", "bin", "Release", "net10.0");
        if (o.Build && o.Servers.Any(s => s.StartsWith("peernet", StringComparison.Ordinal)))
        {
            Say("building src/PeerNet.Cli (Release) ...");
            await RunToolAsync("dotnet", ["build", Path.Combine(repo, "src", "PeerNet.Cli", "PeerNet.Cli.csproj"), "-c", "Release", "-nologo", "-v", "q", "-clp:ErrorsOnly"], repo, TimeSpan.FromMinutes(10));
        }
        string cliDll = new[] { "peernet.dll", "PeerNet.Cli.dll" }.Select(f => Path.Combine(cliBin, f)).FirstOrDefault(File.Exists) ?? "";
        if (cliDll == "" && o.Servers.Any(s => s.StartsWith("peernet", StringComparison.Ordinal)))
            throw new FileNotFoundException($"PeerNet.Cli is not built in {cliBin}");

        if (o.Nice is { } nice) _ = Libc.setpriority(Libc.PRIO_PROCESS, 0, nice);   // the servers inherit it
        Native.PinThisProcess(o.LoadCpu);

        string work = Directory.CreateTempSubdirectory("peernet-turnbench-").FullName;
        string machine = await DescribeMachineAsync(o);
        Say(machine);

        var results = new List<Result>();
        var cases = new List<(string Name, string Unit, Func<IPEndPoint, int, Measurement> Run)>();
        if (o.Cases.Contains("stun"))
            cases.Add(("STUN Binding", "responses/s", (ep, pid) => LoadGenerator.RunStun(ep, o.StunSockets, o.StunWindow, o.Warmup, o.Duration, pid)));
        if (o.Cases.Contains("relay"))
        {
            foreach (int payload in o.Payloads)
                foreach (int allocations in o.Allocations)
                {
                    int window = Math.Max(1, o.Inflight / allocations);
                    cases.Add(($"relay {payload} B × {allocations} alloc", "packets/s", (ep, pid) =>
                    {
                        var all = LoadGenerator.Allocate(ep, allocations, Users(allocations));
                        try { return LoadGenerator.RunRelay(all, payload, window, o.Warmup, o.Duration, pid); }
                        finally { foreach (var a in all) { a.Client.Dispose(); a.Sink.Dispose(); } }
                    }));
                }
        }

        foreach (var c in cases)
        {
            foreach (string server in o.Servers)
            {
                Result? best = null;
                for (int rep = 0; rep < o.Repeat; rep++)
                {
                    var m = await RunOneAsync(server, c.Run, o, cliDll, work, Users(100));
                    Say($"  {c.Name,-26} {server,-15} {Fmt(m.OpsPerSecond, "N0"),10} {c.Unit}  {Fmt(m.MegabytesPerSecond, "F1"),7} MB/s  " +
                        $"server {m.ServerCores:F2} cores {Fmt(m.ServerMicrosPerOp, "F2")} µs/op (sys {m.ServerSystemShare:P0})  " +
                        $"gen {m.GeneratorCores:F2}  other {m.OtherCores:F2}  err {m.Errors} refill {m.Refills}");
                    if (best is null || m.OpsPerSecond > best.M.OpsPerSecond) best = new Result(c.Name, server, m, c.Unit);
                }
                results.Add(best!);
            }
        }

        string report = Report(machine, o, results);
        Console.WriteLine();
        Console.WriteLine(report);
        if (o.Out is not null) await File.WriteAllTextAsync(o.Out, report);
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        return 0;
    }

    /// <summary>Static long-term users for both servers: PeerNet allows 32 allocations per user by
    /// default (coturn: no per-user limit), so 100 allocations spread over 4 users.</summary>
    private static List<(string, string)> Users(int allocations) =>
        [.. Enumerable.Range(1, Math.Max(1, (allocations + 24) / 25)).Select(i => ($"bench{i}", Password))];

    private static async Task<Measurement> RunOneAsync(string server, Func<IPEndPoint, int, Measurement> run, Options o,
        string cliDll, string work, List<(string User, string Password)> users)
    {
        int port = FreeUdpPort();
        string dir = Path.Combine(work, $"{server}-{port}");
        Directory.CreateDirectory(dir);
        var env = new Dictionary<string, string>();
        List<string> argv = ["-c", o.ServerCpu.ToString(CultureInfo.InvariantCulture)];
        if (server == "coturn")
        {
            int minPort = 50_000 + (port % 10) * 1_000;
            argv.AddRange(["turnserver", "-n", "--listening-ip=127.0.0.1", $"--listening-port={port}", "--relay-ip=127.0.0.1",
                $"--min-port={minPort}", $"--max-port={minPort + 999}", "--lt-cred-mech", $"--realm={Realm}",
                "--allow-loopback-peers", "--no-multicast-peers", "--no-cli", "--no-tls", "--no-dtls", "--relay-threads=1",
                "--log-file=stdout", $"--pidfile={Path.Combine(dir, "turnserver.pid")}", $"--userdb={Path.Combine(dir, "turndb")}"]);
            argv.AddRange(users.Select(u => $"--user={u.User}:{u.Password}"));
        }
        else
        {
            if (server == "peernet-inline") env["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
            else if (server != "peernet") throw new ArgumentException($"unknown server {server}");
            foreach (var (k, v) in o.ServerEnv) env[k] = v;
            argv.AddRange(["dotnet", cliDll, "turn", "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
                "--realm", Realm, "--allow-peer", "127.0.0.0/8", "--relay-address", "127.0.0.1", "--data-dir", dir]);
            foreach (var u in users) argv.AddRange(["--user", $"{u.User}:{u.Password}"]);
        }

        await using var process = ServerProcess.Start("taskset", argv, dir, env, Path.Combine(dir, "server.log"));
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var ready = Stopwatch.StartNew();
        while (!TurnClient.Probe(endPoint, TimeSpan.FromMilliseconds(200)))
        {
            if (process.HasExited) throw new InvalidOperationException($"{server} exited before answering; see {process.LogPath}");
            if (ready.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException($"{server} did not answer STUN in 20 s; see {process.LogPath}");
            await Task.Delay(100);
        }
        // The hot loop runs on a thread of its own (pinned like the rest of this process).
        return await Task.Factory.StartNew(() => run(endPoint, process.Pid), TaskCreationOptions.LongRunning);
    }

    private static string Report(string machine, Options o, List<Result> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine(machine).AppendLine();
        sb.AppendLine($"Each case: a fresh server pinned to core {o.ServerCpu} (`taskset`), the load generator on core {o.LoadCpu}; " +
            $"{o.Warmup.TotalSeconds:0.#} s warm-up, then {o.Duration.TotalSeconds:0.#} s measured. STUN: {o.StunSockets} sockets × {o.StunWindow} " +
            $"Binding requests in flight. Relay: ChannelData client → server → UDP echo peer → server → client, {o.Inflight} datagrams " +
            "in flight in all (at least 1 per allocation); a relayed packet is one datagram the server forwarded, either direction; " +
            "MB/s counts payload bytes relayed. Server CPU is utime+stime of the server process from /proc.").AppendLine();
        sb.AppendLine("| case | server | rate | MB/s | server CPU (cores) | server µs CPU / op | of which kernel | generator CPU | other load | lost/errors |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var m = r.M;
            sb.AppendLine($"| {r.Case} | {r.Server} | {Fmt(m.OpsPerSecond, "N0")} {r.Unit} | {(r.Unit == "packets/s" ? Fmt(m.MegabytesPerSecond, "F1") : "–")} | " +
                $"{m.ServerCores:F2} | {Fmt(m.ServerMicrosPerOp, "F2")} | {m.ServerSystemShare:P0} | {m.GeneratorCores:F2} | {m.OtherCores:F2} | {m.Refills}/{m.Errors} |");
        }
        var ours = results.Select(r => r.Server).Distinct().Where(s => s != "coturn").ToList();
        if (results.Any(r => r.Server == "coturn") && ours.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Ratios, ours / coturn (rate: higher is better; µs CPU per op: lower is better):").AppendLine();
            sb.Append("| case |");
            foreach (string s in ours) sb.Append($" {s} rate | {s} µs/op |");
            sb.AppendLine();
            sb.Append("|---|");
            foreach (string _ in ours) sb.Append("---:|---:|");
            sb.AppendLine();
            foreach (var g in results.GroupBy(r => r.Case))
            {
                var coturn = g.FirstOrDefault(r => r.Server == "coturn");
                if (coturn is null) continue;
                sb.Append($"| {g.Key} |");
                foreach (string s in ours)
                {
                    var r = g.FirstOrDefault(x => x.Server == s);
                    sb.Append(r is null ? " – | – |" : $" {Fmt(r.M.OpsPerSecond / coturn.M.OpsPerSecond, "F2")}× | {Fmt(r.M.ServerMicrosPerOp / coturn.M.ServerMicrosPerOp, "F2")}× |");
                }
                sb.AppendLine();
            }
        }
        return sb.ToString();
    }

    private static async Task<string> DescribeMachineAsync(Options o)
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        string coturn = (await CaptureAsync("turnserver", ["--version"])).Trim();
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        return $"Machine: {cpu}, {Environment.ProcessorCount} cores, Linux {kernel}, .NET {Environment.Version}, coturn {coturn}" +
            (o.Nice is { } n ? $"; benchmark and servers at nice {n}" : "") + ".";
    }

    private static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => args[++i];
            List<int> Ints() => [.. Next().Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
            TimeSpan Seconds() => TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
            switch (args[i])
            {
                case "--servers": o.Servers = [.. Next().Split(',')]; break;
                case "--cases": o.Cases = [.. Next().Split(',')]; break;
                case "--allocations": o.Allocations = Ints(); break;
                case "--payloads": o.Payloads = Ints(); break;
                case "--duration": o.Duration = Seconds(); break;
                case "--warmup": o.Warmup = Seconds(); break;
                case "--inflight": o.Inflight = Ints()[0]; break;
                case "--stun-sockets": o.StunSockets = Ints()[0]; break;
                case "--stun-window": o.StunWindow = Ints()[0]; break;
                case "--server-cpu": o.ServerCpu = Ints()[0]; break;
                case "--load-cpu": o.LoadCpu = Ints()[0]; break;
                case "--repeat": o.Repeat = Ints()[0]; break;
                case "--nice": o.Nice = Ints()[0]; break;
                case "--out": o.Out = Next(); break;
                case "--no-build": o.Build = false; break;
                case "--server-env":
                    string kv = Next();
                    int eq = kv.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0) throw new ArgumentException("--server-env takes K=V");
                    o.ServerEnv[kv[..eq]] = kv[(eq + 1)..];
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (o.Duration > TimeSpan.FromMinutes(10) || o.Warmup > TimeSpan.FromMinutes(10)) throw new ArgumentException("at most 10 minutes per phase");
        if (o.Allocations.Any(a => a is < 1 or > 1000)) throw new ArgumentException("allocations: 1..1000");
        if (o.Payloads.Any(p => p is < 1 or > 1400)) throw new ArgumentException("payloads: 1..1400 bytes");
        return o;
    }

    private static int FreeUdpPort()
    {
        // A port free for both UDP and TCP (both servers listen on both).
        for (int attempt = 0; attempt < 20; attempt++)
        {
            int port = ServerProcess.FreeLoopbackPort();
            try
            {
                using var u = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
                u.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (System.Net.Sockets.SocketException) { }
        }
        throw new InvalidOperationException("no free loopback port");
    }

    private static void Say(string s) => Console.Error.WriteLine(s);

    private static string Fmt(double v, string format) =>
        double.IsNaN(v) || double.IsInfinity(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);
}
