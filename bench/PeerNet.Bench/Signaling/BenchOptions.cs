using System.Globalization;

namespace PeerNet.Bench.Signaling;

public sealed class BenchOptions
{
    public IReadOnlyList<int> Clients { get; set; } = [1_000, 10_000, 50_000];
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(20);
    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(3);
    /// <summary>Quiet time after all clients connected, before the RSS reading and the load
    /// (longer to inspect the server with dotnet-gcdump and the like).</summary>
    public TimeSpan Settle { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Aggregate signals per second; null: as fast as the window allows (closed loop).</summary>
    public double? Rate { get; set; }
    /// <summary>Signals a client may have sent and not yet seen arrive.</summary>
    public int Window { get; set; } = 1;
    public int RoomSize { get; set; } = 10;
    public int ConnectConcurrency { get; set; } = 200;
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(20);
    public IReadOnlyList<string> Servers { get; set; } = ["peernet", "peerjs"];
    public bool Build { get; set; } = true;
    /// <summary>Runs per server and N (alternating servers); the run least disturbed by other
    /// processes on the machine is reported.</summary>
    public int Repeat { get; set; } = 1;
    public string? OutFile { get; set; }
    /// <summary>Scheduling priority (nice value) for the benchmark and the servers it starts;
    /// null leaves it alone. Negative values (root) shield the run from other load on the machine.</summary>
    public int? Nice { get; set; }
    /// <summary>Extra environment variables for the PeerNet hub (experiments: GC settings, perf maps).</summary>
    public Dictionary<string, string> HubEnvironment { get; } = [];

    public const string Usage = """
        usage: PeerNet.Bench signaling [options]
          --clients LIST        concurrent clients per run, comma-separated (default 1000,10000,50000)
          --duration S          measured seconds per server and N (default 20)
          --warmup S            seconds of load before measuring (default 3)
          --settle S            idle seconds after connecting, before the memory reading (default 2)
          --rate R              aggregate signals/s; default: as fast as possible, closed loop
          --window W            outstanding signals per client (default 1; with --rate: 100)
          --room-size K         clients per room; each signals the next one in its room (default 10)
          --connect-concurrency C   connections being opened at once (default 200)
          --connect-timeout S   per connection (default 15)
          --heartbeat S         seconds between a client's heartbeats (default 20)
          --servers LIST        peernet,peerjs (default both, run one after the other)
          --repeat K            run each server K times per N, alternating; report the run with the least
                                CPU used by other processes (default 1)
          --no-build            do not build src/PeerNet.Cli first
          --out FILE            also append the result tables (Markdown) to FILE
          --nice N              run the benchmark and both servers at nice value N (-20..19; negative
                                needs root): fewer disturbances from other work on a shared machine
          --hub-env K=V         an extra environment variable for the hub process (repeatable)
        """;

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        bool windowSet = false;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{a} needs a value");
            double Num() => double.Parse(Next(), CultureInfo.InvariantCulture);
            switch (a)
            {
                case "--clients":
                    o.Clients = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => int.Parse(s.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture))];
                    break;
                case "--duration": o.Duration = TimeSpan.FromSeconds(Num()); break;
                case "--warmup": o.Warmup = TimeSpan.FromSeconds(Num()); break;
                case "--settle": o.Settle = TimeSpan.FromSeconds(Num()); break;
                case "--rate": o.Rate = Num(); break;
                case "--window": o.Window = (int)Num(); windowSet = true; break;
                case "--room-size": o.RoomSize = (int)Num(); break;
                case "--connect-concurrency": o.ConnectConcurrency = (int)Num(); break;
                case "--connect-timeout": o.ConnectTimeout = TimeSpan.FromSeconds(Num()); break;
                case "--heartbeat": o.Heartbeat = TimeSpan.FromSeconds(Num()); break;
                case "--servers":
                    o.Servers = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => s.ToLowerInvariant())];
                    break;
                case "--no-build": o.Build = false; break;
                case "--repeat": o.Repeat = (int)Num(); break;
                case "--out": o.OutFile = Next(); break;
                case "--nice": o.Nice = (int)Num(); break;
                case "--hub-env":
                    string kv = Next();
                    int eq = kv.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0) throw new ArgumentException("--hub-env needs KEY=VALUE");
                    o.HubEnvironment[kv[..eq]] = kv[(eq + 1)..];
                    break;
                default: throw new ArgumentException($"unknown option {a}");
            }
        }
        if (o.Rate is not null && !windowSet) o.Window = 100;
        if (o.Clients.Count == 0 || o.Clients.Any(n => n < 2 || n > 500_000)) throw new ArgumentException("--clients: 2..500000 each");
        if (o.Duration <= TimeSpan.Zero || o.Duration > TimeSpan.FromMinutes(30)) throw new ArgumentException("--duration: 0..1800 s");
        if (o.Settle < TimeSpan.Zero || o.Settle > TimeSpan.FromMinutes(10)) throw new ArgumentException("--settle: 0..600 s");
        if (o.Warmup < TimeSpan.Zero || o.Warmup > TimeSpan.FromMinutes(5)) throw new ArgumentException("--warmup: 0..300 s");
        if (o.Rate is <= 0 or > 10_000_000) throw new ArgumentException("--rate: 0..10000000");
        if (o.Window is < 1 or > 10_000) throw new ArgumentException("--window: 1..10000");
        if (o.RoomSize is < 2 or > 1000) throw new ArgumentException("--room-size: 2..1000");
        if (o.ConnectConcurrency is < 1 or > 5000) throw new ArgumentException("--connect-concurrency: 1..5000");
        if (o.Nice is < -20 or > 19) throw new ArgumentException("--nice: -20..19");
        if (o.Repeat is < 1 or > 9) throw new ArgumentException("--repeat: 1..9");
        if (o.Heartbeat < TimeSpan.FromSeconds(1)) throw new ArgumentException("--heartbeat: at least 1 s");
        foreach (string s in o.Servers)
            if (s is not ("peernet" or "peerjs")) throw new ArgumentException($"--servers: unknown server {s}");
        return o;
    }
}
