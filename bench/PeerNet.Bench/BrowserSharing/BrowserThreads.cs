using System.Globalization;
using PeerNet.Bench.Throughput;

namespace PeerNet.Bench.BrowserSharing;

/// <summary>
/// CPU seconds per thread of a browser's processes, from /proc/PID/task/TID/stat, grouped by the
/// process's type (--type=renderer, gpu-process, utility …; none = the browser process) and the
/// thread's name (Chromium names its threads: CrRendererMain, WebRTC_Network, DedicatedWorker …).
/// Two snapshots give what each thread did in between: where a browser spends a transfer.
/// </summary>
internal static class BrowserThreads
{
    /// <summary>(process type / thread name) → CPU seconds so far, summed over threads of the same name.</summary>
    public static Dictionary<string, double> Snapshot(ProcessTree tree)
    {
        var result = new Dictionary<string, double>();
        foreach (var pid in tree.Pids())
        {
            string type;
            try
            {
                // Chromium rewrites its children's command lines (NUL-separated or one string with spaces).
                var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', ' ');
                type = cmdline.FirstOrDefault(a => a.StartsWith("--type=", StringComparison.Ordinal))?["--type=".Length..] ?? "browser";
                var sub = cmdline.FirstOrDefault(a => a.StartsWith("--utility-sub-type=", StringComparison.Ordinal));
                if (sub is not null) type += ":" + sub["--utility-sub-type=".Length..].Split('.')[0];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            IEnumerable<string> tasks;
            try
            {
                tasks = Directory.EnumerateDirectories($"/proc/{pid}/task").ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var task in tasks)
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    var open = stat.IndexOf('(');
                    var close = stat.LastIndexOf(')');
                    var name = stat[(open + 1)..close];
                    var fields = stat[(close + 2)..].Split(' ');
                    var seconds = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
                    var key = $"{type} / {name}";
                    result[key] = result.GetValueOrDefault(key) + seconds;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
                {
                }
            }
        }
        return result;
    }

    /// <summary>The threads that used the most CPU between two snapshots, as one line.</summary>
    public static string Top(Dictionary<string, double> before, Dictionary<string, double> after, double seconds, int count = 6)
    {
        var deltas = after.Select(kv => (kv.Key, Cpu: kv.Value - before.GetValueOrDefault(kv.Key)))
            .Where(d => d.Cpu > 0.005)
            .OrderByDescending(d => d.Cpu)
            .Take(count);
        return string.Join(", ", deltas.Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Key} {d.Cpu:F2} s ({100 * d.Cpu / seconds:F0} %)")));
    }
}
