using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PeerNet.Bench.Signaling;

/// <summary>
/// A signaling server under test, run as a child process so that its memory (VmRSS/VmHWM) and CPU
/// time can be read from /proc without the load generator's own counted in. Its output goes to a
/// log file, never to a pipe that could fill up and stall it.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly List<ServerProcess> s_live = [];
    private readonly Process _process;
    private readonly StreamWriter _log;

    /// <summary>Kills every server still running (the benchmark was interrupted).</summary>
    public static void KillAll()
    {
        lock (s_live)
        {
            foreach (var s in s_live)
            {
                try { s._process.Kill(entireProcessTree: true); }
                catch (InvalidOperationException) { }
            }
        }
    }

    private ServerProcess(Process process, StreamWriter log, string logPath)
    {
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public int Pid => _process.Id;
    public string LogPath { get; }
    public bool HasExited => _process.HasExited;

    public static ServerProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        // Nothing of the load generator's own runtime tuning may leak into the server under test.
        foreach (string k in psi.Environment.Keys.ToList())
            if (k.StartsWith("DOTNET_", StringComparison.Ordinal) && k != "DOTNET_ROOT") psi.Environment.Remove(k);
        foreach (var (k, v) in environment) psi.Environment[k] = v;

        var log = new StreamWriter(logPath) { AutoFlush = true };
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        if (!p.Start()) throw new InvalidOperationException($"could not start {fileName}");
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var server = new ServerProcess(p, log, logPath);
        lock (s_live) s_live.Add(server);
        return server;
    }

    /// <summary>Polls <paramref name="url"/> (loopback) until it answers 200 with a body containing
    /// <paramref name="expect"/>, the process exits, or the timeout passes.</summary>
    public async Task WaitReadyAsync(Uri url, string expect, TimeSpan timeout)
    {
        if (!IPAddress.IsLoopback(IPAddress.Parse(url.Host))) throw new ArgumentException("loopback only");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        string last = "no answer";
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"server exited with code {_process.ExitCode} before it was ready; see {LogPath}");
            try
            {
                using var response = await http.GetAsync(url).ConfigureAwait(false);
                string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                if (response.IsSuccessStatusCode && body.Contains(expect, StringComparison.Ordinal)) return;
                last = $"{(int)response.StatusCode} {body}";
            }
            catch (HttpRequestException e) { last = e.Message; }
            catch (TaskCanceledException) { last = "timeout"; }
            await Task.Delay(200).ConfigureAwait(false);
        }
        throw new TimeoutException($"server not ready after {timeout.TotalSeconds} s ({last}); see {LogPath}");
    }

    /// <summary>Resident set size and its peak (VmHWM), in bytes, and the thread count.</summary>
    public ProcMemory ReadMemory() => ProcMemory.Read(Pid);

    /// <summary>User + system CPU time consumed so far.</summary>
    public TimeSpan ReadCpuTime() => ProcCpu.Read(Pid);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = Libc.kill(_process.Id, Libc.SIGTERM);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
            }
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        lock (s_live) s_live.Remove(this);
        _process.Dispose();
        lock (_log) _log.Dispose();
    }

    public static int FreeLoopbackPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

public readonly record struct ProcMemory(long RssBytes, long HwmBytes, int Threads)
{
    public static ProcMemory Read(int pid)
    {
        long rss = 0, hwm = 0;
        int threads = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kb(line);
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
        }
        return new ProcMemory(rss, hwm, threads);

        static long Kb(string line) =>
            1024 * long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
    }
}

public static class ProcCpu
{
    private static readonly long TicksPerSecond = Libc.sysconf(Libc._SC_CLK_TCK) is > 0 and var t ? t : 100;

    public static TimeSpan Read(int pid)
    {
        var (user, system) = ReadSplit(pid);
        return user + system;
    }

    /// <summary>Context switches (voluntary + involuntary) of all threads of a process so far.</summary>
    public static long ReadContextSwitches(int pid)
    {
        long total = 0;
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)
                        || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        total += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
            }
            catch (IOException) { }   // a thread that just ended
        }
        return total;
    }

    /// <summary>CPU time all cores of the machine spent busy (not idle, not waiting for I/O).</summary>
    public static TimeSpan ReadMachineBusy()
    {
        string cpu = File.ReadLines("/proc/stat").First();   // cpu user nice system idle iowait irq softirq steal ...
        long[] f = [.. cpu.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture))];
        long busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
        return TimeSpan.FromSeconds((double)busy / TicksPerSecond);
    }

    /// <summary>User and system (kernel) CPU time of a process; "self" for this one.</summary>
    public static (TimeSpan User, TimeSpan System) ReadSplit(int pid) => ReadSplit(pid.ToString(CultureInfo.InvariantCulture));

    public static (TimeSpan User, TimeSpan System) ReadSplit(string pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
        string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (TimeSpan.FromSeconds((double)long.Parse(f[11], CultureInfo.InvariantCulture) / TicksPerSecond),
                TimeSpan.FromSeconds((double)long.Parse(f[12], CultureInfo.InvariantCulture) / TicksPerSecond));
    }
}

internal static partial class Libc
{
    public const int SIGTERM = 15;
    public const int RLIMIT_NOFILE = 7;
    public const int _SC_CLK_TCK = 2;

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long sysconf(int name);

    public const int PRIO_PROCESS = 0;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setpriority(int which, uint who, int prio);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setrlimit(int resource, in RLimit limit);
}
