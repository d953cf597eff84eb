using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using PeerNet.Bench.DataChannels;
using static PeerNet.Bench.BenchTools;

namespace PeerNet.Bench.Connections;

/// <summary>
/// How many data channels one server process holds on one UDP port, and what each costs: a PeerNet server
/// (this program in server mode: <see cref="PeerNet.Ice.IceUdpMux"/> + RtcPeerConnection) and, as the
/// reference in the same run, aiortc 1.4 (one UDP socket per connection; it has no shared-port mode), each
/// in a process of its own, under the same client (this process). Runs in a loopback-only network namespace
/// of its own.
/// </summary>
public static class ConnectionsBenchmark
{
    public const string Usage = """
        usage: PeerNet.Bench connections [options]   (root: it makes its own loopback-only network namespace)
          --count N             connections each server holds (default 1000)
          --concurrency N       handshakes in flight at a time (default 24)
          --rounds K            echo rounds; each round every channel echoes one message (default 20)
          --size BYTES          echo message size (default 64)
          --servers LIST        peernet,aiortc (default both)
          --reference-count N   connections asked of aiortc (default: --count)
          --open-timeout SEC    time limit to open them, per server (default 600)
          --out FILE            also write the markdown report there
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        int count = 1000, concurrency = 24, rounds = 20, size = 64;
        int? referenceCount = null;
        var openTimeout = TimeSpan.FromSeconds(600);
        string[] servers = ["peernet", "aiortc"];
        string? outFile = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--count": count = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--concurrency": concurrency = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--size": size = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--servers": servers = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                    case "--reference-count": referenceCount = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--open-timeout": openTimeout = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                    case "--out": outFile = args[++i]; break;
                    case "--no-build": break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            if (servers.Any(s => s is not ("peernet" or "aiortc"))) throw new ArgumentException("--servers takes peernet and/or aiortc");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (!DataChannelBenchmark.IsLoopbackOnly()) return await DataChannelBenchmark.RerunInNamespaceAsync(args);

        var limit = GetFileLimit();
        var (nproc, model) = MachineInfo();
        var machine = $"{nproc} cores ({model}), {Environment.OSVersion}, .NET {Environment.Version}, RLIMIT_NOFILE {limit}";
        Console.WriteLine($"connections on one UDP port: {count} data channels per server, {concurrency} handshakes at a time, {rounds} echo rounds of {size} B; {machine}");
        if (limit > 0 && limit < (2 * count) + 200)
            Console.WriteLine($"warning: RLIMIT_NOFILE {limit} may be too small for {count} client sockets plus the server's");

        var results = new List<ConnectionResult>();
        foreach (var name in servers)
        {
            var n = name == "aiortc" ? referenceCount ?? count : count;
            results.Add(await RunServerAsync(name, n, concurrency, rounds, size, openTimeout));
        }

        var report = Report(results, rounds, size, concurrency);
        Console.WriteLine();
        Console.WriteLine(machine);
        Console.Write(report);
        if (outFile is not null) await File.WriteAllTextAsync(outFile, machine + "\n\n" + report);
        return 0;
    }

    /// <summary>Hidden mode: this program as the PeerNet server process.</summary>
    public static Task<int> RunServerModeAsync() => ConnectionServer.RunAsync();

    private static async Task<ConnectionResult> RunServerAsync(string name, int count, int concurrency, int rounds, int size, TimeSpan openTimeout)
    {
        ProcessStartInfo info;
        if (name == "peernet")
        {
            var self = Environment.ProcessPath!;
            info = new ProcessStartInfo(self);
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
            info.ArgumentList.Add("connections-server");
            // The server runs as a user's would: socket completions on the thread pool (the client keeps its inline ones).
            info.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
        }
        else
        {
            info = new ProcessStartInfo("/usr/bin/python3");
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "aiortc_server.py"));
        }
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start the {name} server");
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        try
        {
            var first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60))
                ?? throw new InvalidOperationException($"the {name} server exited: {errors}");
            var parts = first.Split(' ');
            if (parts[0] != "listening") throw new InvalidOperationException($"the {name} server said: {first}\n{errors}");
            var endPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(parts[1], CultureInfo.InvariantCulture));
            _ = process.StandardOutput.ReadToEndAsync();
            var load = new ConnectionLoad(endPoint, process.Id, line => Console.WriteLine("  " + line));
            var result = await load.RunAsync(name == "peernet" ? "PeerNet" : "aiortc", count, concurrency, rounds, size, openTimeout, hasManagedHeap: name == "peernet");
            await load.QuitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return result;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string text;
            lock (errors) text = errors.ToString();
            throw new InvalidOperationException($"{name}: {e.Message}\nserver stderr:\n{text}", e);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    private static string Report(List<ConnectionResult> results, int rounds, int size, int concurrency)
    {
        var peernet = results.FirstOrDefault(r => r.Server == "PeerNet");
        var aiortc = results.FirstOrDefault(r => r.Server == "aiortc");
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| | {string.Join(" | ", results.Select(r => r.Server == "PeerNet" ? "PeerNet (IceUdpMux)" : "aiortc 1.4 (reference)"))} |{(peernet is not null && aiortc is not null ? " PeerNet vs aiortc |" : "")}");
        text.AppendLine("|---|" + string.Concat(results.Select(_ => "---:|")) + (peernet is not null && aiortc is not null ? "---:|" : ""));

        // The last column is PeerNet ÷ aiortc; each row says which way is better.
        void Row(string label, Func<ConnectionResult, string> value, Func<ConnectionResult, double>? ratioOf = null)
        {
            var line = new StringBuilder($"| {label} | {string.Join(" | ", results.Select(value))} |");
            if (peernet is not null && aiortc is not null)
            {
                var (p, a) = ratioOf is null ? (0, 0) : (ratioOf(peernet), ratioOf(aiortc));
                line.Append(a == 0 || p == 0 ? " |" : string.Create(CultureInfo.InvariantCulture, $" {p / a:F2}× |"));
            }
            text.AppendLine(line.ToString());
        }

        string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        Row("connections asked / open (data channel open)", r => $"{r.Asked} / {r.Opened}{(r.Failed > 0 ? $" ({r.Failed} failed)" : "")}{(r.OpeningTimedOut ? " (time limit)" : "")}");
        Row("UDP sockets the server holds", r => r.UdpPorts.ToString(CultureInfo.InvariantCulture));
        Row($"time to open all ({concurrency} at a time), s", r => F(r.OpenSeconds, "F1"));
        Row("handshakes per second (higher is better)", r => F(r.HandshakesPerSecond, "F0"), r => r.HandshakesPerSecond);
        Row("server CPU per handshake, ms (lower is better)", r => F(r.ServerCpuMsPerHandshake, "F1"), r => r.ServerCpuMsPerHandshake);
        Row("managed heap per idle connection, KiB", r => r.HasManagedHeap ? F(r.ManagedPerConnection / 1024, "F1") : "–");
        Row("RSS per idle connection, KiB (lower is better)", r => F(r.RssPerConnection / 1024, "F1"), r => r.RssPerConnection);
        Row("server RSS at rest before / with all open, MiB", r => $"{F(r.BaselineRss / 1048576.0, "F0")} / {F(r.IdleRss / 1048576.0, "F0")}");
        Row("server threads with all open", r => r.IdleThreads.ToString(CultureInfo.InvariantCulture));
        Row($"echo messages/s, {rounds} rounds over all channels, {size} B (higher is better)", r => F(r.EchoesPerSecond, "F0"), r => r.EchoesPerSecond);
        Row("echo RTT p50 / p99, ms", r => $"{F(r.RttP50Ms, "F1")} / {F(r.RttP99Ms, "F1")}", r => r.RttP50Ms);
        Row("server CPU per 1000 echoes, ms (lower is better)", r => F(r.ServerCpuMsPer1000Echoes, "F0"), r => r.ServerCpuMsPer1000Echoes);
        Row("echoes lost / not byte-for-byte", r => $"{r.Lost} / {r.Mismatched}");
        Row("close all, ms", r => F(r.CloseMs, "F0"), r => r.CloseMs);
        Row("server RSS after closing all, MiB", r => F(r.AfterCloseRss / 1048576.0, "F0"));
        return text.ToString();
    }

    private static long GetFileLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(fields[3], CultureInfo.InvariantCulture); // soft limit
                }
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    private static (int Cores, string Model) MachineInfo()
    {
        var model = "unknown CPU";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? model;
        }
        catch (IOException)
        {
        }
        return (Environment.ProcessorCount, model);
    }
}
