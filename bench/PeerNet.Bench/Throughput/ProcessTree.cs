using System.Globalization;

namespace PeerNet.Bench.Throughput;

/// <summary>
/// Every process of one peer, read from /proc: the root processes (the peer's own, or a Chromium
/// browser's) and all their descendants (Chromium's zygote, renderer, GPU and network-service/utility
/// processes). CPU is utime+stime of each, RSS the sum of VmRSS — both re-read each time, so a process
/// started later (a renderer) is counted from then on.
/// </summary>
internal sealed class ProcessTree(Func<IReadOnlyCollection<int>> roots)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux
    private readonly Dictionary<int, double> _lastCpu = [];
    private double _exitedCpu;

    /// <summary>The pids now: the roots and their descendants.</summary>
    public IReadOnlyList<int> Pids()
    {
        var rootSet = roots();
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (ReadStat(pid) is not { } stat) continue;
            if (!children.TryGetValue(stat.Parent, out var list)) children[stat.Parent] = list = [];
            list.Add(pid);
        }
        var result = new List<int>();
        var queue = new Queue<int>(rootSet);
        var seen = new HashSet<int>();
        while (queue.TryDequeue(out var pid))
        {
            if (!seen.Add(pid)) continue;
            result.Add(pid);
            if (children.TryGetValue(pid, out var list)) foreach (var child in list) queue.Enqueue(child);
        }
        return result;
    }

    /// <summary>
    /// CPU seconds (user + system) the tree has used so far. A process that exits between two readings keeps
    /// what it had at the last one (so read often enough, e.g. with every RSS sample).
    /// </summary>
    public double CpuSeconds()
    {
        lock (_lastCpu) return ReadCpuSeconds();
    }

    private double ReadCpuSeconds()
    {
        var now = new Dictionary<int, double>();
        foreach (var pid in Pids())
            if (ReadStat(pid) is { } stat) now[pid] = stat.CpuSeconds;
        foreach (var (pid, cpu) in _lastCpu)
            if (!now.ContainsKey(pid)) _exitedCpu += cpu;
        _lastCpu.Clear();
        foreach (var (pid, cpu) in now) _lastCpu[pid] = cpu;
        return _exitedCpu + now.Values.Sum();
    }

    /// <summary>Sum of VmRSS over the tree, bytes.</summary>
    public long RssBytes()
    {
        long total = 0;
        foreach (var pid in Pids())
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                    total += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                    break;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        return total;
    }

    /// <summary>How many processes, by name (comm), e.g. "chromium ×5".</summary>
    public string Describe()
    {
        var names = new List<string>();
        foreach (var pid in Pids())
        {
            try
            {
                names.Add(File.ReadAllText($"/proc/{pid}/comm").Trim());
            }
            catch (IOException)
            {
            }
        }
        return string.Join(", ", names.GroupBy(n => n).Select(g => g.Count() == 1 ? g.Key : $"{g.Key} ×{g.Count()}"));
    }

    /// <summary>Pids whose command line contains <paramref name="marker"/> (how a Chromium browser is found).</summary>
    public static IReadOnlyCollection<int> WithCommandLine(string marker)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                if (File.ReadAllText($"/proc/{pid}/cmdline").Contains(marker, StringComparison.Ordinal)) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    private static (int Parent, double CpuSeconds)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // pid (comm) state ppid ... field 14 utime, 15 stime; comm may hold spaces and parentheses.
        var close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 13) return null;
        var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (parent, ticks / TicksPerSecond);
    }
}
