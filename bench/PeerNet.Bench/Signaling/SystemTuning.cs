using System.Globalization;
using System.Net;

namespace PeerNet.Bench.Signaling;

/// <summary>
/// What the machine must allow for N concurrent loopback WebSockets: file descriptors (raised for
/// this process with setrlimit, inherited by the servers it starts), ephemeral ports (spread over
/// several 127.0.0.x source addresses), the listen backlog, and the conntrack table. Only settings
/// found too low are raised, and every global one raised is put back by <see cref="Dispose"/>.
/// </summary>
public sealed class SystemTuning : IDisposable
{
    private readonly List<(string Path, string Old)> _restore = [];
    private readonly Action<string> _say;

    public SystemTuning(Action<string> say) => _say = say;

    /// <summary>Connections one source address may open (its ephemeral port range, less a margin).</summary>
    public int PerSourceAddress { get; private set; } = 20_000;

    /// <summary>The open-file limit in force for this process and the servers it starts.</summary>
    public ulong OpenFileLimit { get; private set; }

    /// <summary>The most clients one run can open: each end of every connection is a file
    /// descriptor, in the generator and in the server, and each process has this limit.</summary>
    public int MaxClients => (int)Math.Min(int.MaxValue, OpenFileLimit > 1_000 ? OpenFileLimit - 500 : OpenFileLimit / 2);

    public void Prepare(int maxClients, int connectConcurrency)
    {
        // 1. File descriptors: the generator holds N sockets, each server N more.
        ulong want = (ulong)Math.Max(65_536, maxClients * 2 + 10_000);
        if (Libc.getrlimit(Libc.RLIMIT_NOFILE, out var lim) == 0 && lim.Current < want)
        {
            var raised = new Libc.RLimit { Current = want, Maximum = Math.Max(want, lim.Maximum) };
            if (Libc.setrlimit(Libc.RLIMIT_NOFILE, raised) != 0)
            {
                // Raising the hard limit needs CAP_SYS_RESOURCE; take what the hard limit allows.
                raised = new Libc.RLimit { Current = lim.Maximum, Maximum = lim.Maximum };
                _ = Libc.setrlimit(Libc.RLIMIT_NOFILE, raised);
                _say($"warning: the open-file hard limit is {lim.Maximum} and cannot be raised here (needs CAP_SYS_RESOURCE); " +
                     $"{want} wanted for {maxClients} clients");
            }
            _ = Libc.getrlimit(Libc.RLIMIT_NOFILE, out lim);
            _say($"open-file limit for this process and its servers: {lim.Current}");
        }
        OpenFileLimit = lim.Current;

        // 2. Ephemeral ports: each source address gets at most (range - margin) connections.
        string? range = Read("/proc/sys/net/ipv4/ip_local_port_range");
        if (range is not null)
        {
            string[] p = range.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            int ports = int.Parse(p[1], CultureInfo.InvariantCulture) - int.Parse(p[0], CultureInfo.InvariantCulture) + 1;
            PerSourceAddress = Math.Clamp(ports - 4_000, 1_000, 50_000);
        }

        // 3. Listen backlog: the servers get at most somaxconn pending connections.
        RaiseIfBelow("/proc/sys/net/core/somaxconn", Math.Max(1024, connectConcurrency * 4));

        // 4. Conntrack (when loaded, loopback connections are tracked too, and linger after close).
        string? count = Read("/proc/sys/net/netfilter/nf_conntrack_count");
        if (count is not null)
            RaiseIfBelow("/proc/sys/net/netfilter/nf_conntrack_max",
                long.Parse(count, CultureInfo.InvariantCulture) + 3L * maxClients + 10_000);
    }

    /// <summary>The source address for client <paramref name="index"/> of a run whose addresses start
    /// at <paramref name="firstHost"/>: 127.0.x.y, never 127.0.0.1 (the servers' address).</summary>
    public IPAddress SourceAddress(int firstHost, int index)
    {
        int host = firstHost + index / PerSourceAddress;        // 2, 3, ... (127.0.0.2 upward)
        return new IPAddress([127, 0, (byte)(host / 254), (byte)(host % 254 + 1)]);
    }

    private void RaiseIfBelow(string path, long minimum)
    {
        string? old = Read(path);
        if (old is null || !long.TryParse(old, CultureInfo.InvariantCulture, out long value) || value >= minimum) return;
        try
        {
            File.WriteAllText(path, minimum.ToString(CultureInfo.InvariantCulture));
            _restore.Add((path, old));
            _say($"raised {path} from {old} to {minimum} (restored at exit)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _say($"warning: {path} is {old}, below the {minimum} this run needs, and could not be raised: {e.Message}");
        }
    }

    /// <summary>Sets the nice value of this process's scheduling autogroup (its session), restored
    /// by <see cref="Dispose"/>; nothing when autogroups are off.</summary>
    public void SetAutogroupNice(int nice)
    {
        if (Read("/proc/sys/kernel/sched_autogroup_enabled") != "1") return;
        string? current = Read("/proc/self/autogroup");          // "/autogroup-11 nice 0"
        if (current is null) return;
        string old = current.Split(' ')[^1];
        try
        {
            File.WriteAllText("/proc/self/autogroup", nice.ToString(CultureInfo.InvariantCulture));
            _restore.Add(("/proc/self/autogroup", old));
            _say($"scheduling autogroup of this session: nice {old} -> {nice} (restored at exit)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _say($"warning: could not set the autogroup nice: {e.Message}");
        }
    }

    private static string? Read(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public void Dispose()
    {
        lock (_restore)
        {
            foreach (var (path, old) in _restore)
            {
                try { File.WriteAllText(path, old); _say($"restored {path} to {old}"); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _say($"could not restore {path}: {e.Message}"); }
            }
            _restore.Clear();
        }
    }
}
