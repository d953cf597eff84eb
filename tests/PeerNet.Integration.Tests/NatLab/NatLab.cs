using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>
/// A small internet in network namespaces, for ICE across NATs:
/// <code>
///   ha 10.0.1.2 ── lan│ra│wan 203.0.113.10 ──┐
///                                            pub  (server 203.0.113.1, alternate 203.0.113.2)
///   hb 10.0.2.2 ── lan│rb│wan 203.0.113.20 ──┘
/// </code>
/// <c>pub</c> is the "internet": it routes between the routers and holds the server addresses
/// (on its loopback). Each router NATs its LAN (<see cref="NatKind"/>) and drops unsolicited
/// inbound packets on its WAN side (<c>ct state new drop</c>, as home routers do — otherwise an
/// early hole-punch packet takes a conntrack tuple and a "cone" NAT remaps the port). Public
/// addresses come from TEST-NET-3 (RFC 5737), LANs from 10/8: they exist only in these
/// namespaces, which have no route to anything else. IPv4 only (IPv6 is off in the lab).
/// Loss, delay, jitter and rate of the public segment come from <see cref="NatLabOptions"/>.
/// Needs root and nftables (<c>nft</c>). Namespace names carry this process's id and a random
/// suffix, so parallel runs never collide; disposing removes everything, and creating a lab
/// first removes labs whose process is gone.
/// </summary>
public sealed partial class NatLab : IAsyncDisposable
{
    /// <summary>Every lab namespace's name starts with this.</summary>
    public const string NamePrefix = "pnlab";

    /// <summary>The public segment's range: pass it to the TURN server's <c>--allow-peer</c>.</summary>
    public const string PublicRange = "203.0.113.0/24";

    /// <summary>The server's primary address in <c>pub</c>.</summary>
    public static readonly IPAddress ServerAddress = IPAddress.Parse("203.0.113.1");

    /// <summary>A second server address in <c>pub</c> (RFC 5780's alternate, or a second server).</summary>
    public static readonly IPAddress AlternateServerAddress = IPAddress.Parse("203.0.113.2");

    private const string DelayDevice = "delay";

    /// <summary>Where pub's server addresses come from (its loopback): .1 and .2 are assigned.</summary>
    private const string ServerBlock = "203.0.113.0/29";
    private readonly List<LabProcess> _processes = [];
    private readonly Lock _lock = new();
    private readonly List<LabNamespace> _created = [];
    private TunDelayLine? _delayLine;
    private int _disposed;

    private NatLab(NatLabOptions options)
    {
        Options = options;
        Id = $"{NamePrefix}{Environment.ProcessId}x{Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6]}";
        Public = new LabNamespace(this, "pub", ServerAddress);
        RouterA = new LabNamespace(this, "ra", IPAddress.Parse("203.0.113.10"), IPAddress.Parse("10.0.1.1"), options.RouterA);
        RouterB = new LabNamespace(this, "rb", IPAddress.Parse("203.0.113.20"), IPAddress.Parse("10.0.2.1"), options.RouterB);
        HostA = new LabNamespace(this, "ha", IPAddress.Parse("10.0.1.2"));
        HostB = new LabNamespace(this, "hb", IPAddress.Parse("10.0.2.2"));
    }

    public NatLabOptions Options { get; }

    /// <summary>The common part of this lab's namespace names (<c>pnlab&lt;pid&gt;x&lt;random&gt;</c>).</summary>
    public string Id { get; }

    /// <summary>The public segment ("the internet") with the server addresses.</summary>
    public LabNamespace Public { get; }

    /// <summary>The router in front of <see cref="HostA"/>.</summary>
    public LabNamespace RouterA { get; }

    /// <summary>The router in front of <see cref="HostB"/>.</summary>
    public LabNamespace RouterB { get; }

    /// <summary>The host behind <see cref="RouterA"/>.</summary>
    public LabNamespace HostA { get; }

    /// <summary>The host behind <see cref="RouterB"/>.</summary>
    public LabNamespace HostB { get; }

    /// <summary>All five, public segment first.</summary>
    public IReadOnlyList<LabNamespace> Namespaces => [Public, RouterA, RouterB, HostA, HostB];

    /// <summary>Packets the delay line has passed (0 without one).</summary>
    public long DelayedPackets => _delayLine?.Forwarded ?? 0;

    /// <summary>Builds the lab (after sweeping stale ones). Throws with the failing command's output if anything is missing.</summary>
    public static async Task<NatLab> CreateAsync(NatLabOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NatLabOptions();
        if (options.LossPercent is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(options), "LossPercent must be within 0-100.");
        await SweepStaleAsync(cancellationToken).ConfigureAwait(false);
        var lab = new NatLab(options);
        try
        {
            await lab.BuildAsync(cancellationToken).ConfigureAwait(false);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Starts our STUN/TURN server (<c>peernet turn</c>) in <c>pub</c> on <paramref name="address"/>
    /// (default <see cref="ServerAddress"/>), UDP and TCP, user <c>u:p</c>, realm <c>lab</c>,
    /// relaying allowed to <see cref="PublicRange"/>. Returns once it listens.
    /// </summary>
    public async Task<LabTurnServer> StartTurnServerAsync(IPAddress? address = null, int port = LabTurnServer.DefaultPort,
        IEnumerable<string>? extraArguments = null, CancellationToken cancellationToken = default)
    {
        address ??= ServerAddress;
        var dataDir = Directory.CreateTempSubdirectory($"{Id}-turn-");
        var arguments = new List<string>
        {
            LabTurnServer.CliPath(), "turn", "--bind", address.ToString(), "--port", port.ToString(CultureInfo.InvariantCulture),
            "--user", $"{LabTurnServer.User}:{LabTurnServer.Password}", "--realm", LabTurnServer.Realm,
            "--data-dir", dataDir.FullName, "--allow-peer", PublicRange,
        };
        arguments.AddRange(extraArguments ?? []);
        var process = Public.Start("dotnet", arguments);
        var server = new LabTurnServer(process, new IPEndPoint(address, port), dataDir);
        try
        {
            var listening = $"Udp listening on {address}:{port}";
            await process.WaitForLineAsync(line => line.Contains(listening, StringComparison.Ordinal), TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>How many unsolicited inbound packets a router's WAN side has dropped (its <c>ct state new drop</c> counter).</summary>
    public async Task<long> UnsolicitedDropsAsync(LabNamespace router, CancellationToken cancellationToken = default) =>
        await CounterAsync(router, "ip natlab", "wan_inbound", cancellationToken).ConfigureAwait(false);

    /// <summary>How many packets the loss impairment of the public segment has dropped.</summary>
    public async Task<long> ImpairmentDropsAsync(CancellationToken cancellationToken = default)
    {
        long total = 0;
        if (Options.LossPercent == 0) return 0;
        foreach (var ns in new[] { Public, RouterA, RouterB }) total += await CounterAsync(ns, "inet natlab_impair", "impair", cancellationToken).ConfigureAwait(false);
        return total;
    }

    /// <summary>
    /// How many packets coming from <paramref name="router"/> (<see cref="RouterA"/> or <see cref="RouterB"/>:
    /// what its host sends) the loss impairment dropped as they entered the public segment — one
    /// direction of a host-to-host flow.
    /// </summary>
    public async Task<long> ImpairmentDropsFromAsync(LabNamespace router, CancellationToken cancellationToken = default)
    {
        if (router != RouterA && router != RouterB) throw new ArgumentException("not a router of this lab", nameof(router));
        if (Options.LossPercent == 0) return 0;
        return await CounterAsync(Public, "inet natlab_impair", $"impair_from_{router.Role}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The namespaces of labs whose process is gone, removed (with anything still running in them). Returns how many.</summary>
    public static async Task<int> SweepStaleAsync(CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists("/run/netns")) return 0;
        var stale = new List<string>();
        foreach (var path in Directory.GetFiles("/run/netns", NamePrefix + "*"))
        {
            var name = Path.GetFileName(path);
            var match = LabNameRegex().Match(name);
            if (!match.Success) continue;
            var pid = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            if (!Directory.Exists($"/proc/{pid}")) stale.Add(name);
        }

        if (stale.Count == 0) return 0;
        await RunScriptAsync(DeleteScript(stale), TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        return stale.Count;
    }

    /// <summary>Lab namespaces of this lab that still exist (empty after dispose).</summary>
    public IReadOnlyList<string> RemainingNamespaces() =>
        [.. Namespaces.Select(n => n.Name).Where(n => File.Exists(Path.Combine("/run/netns", n)))];

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        LabProcess[] processes;
        lock (_lock) processes = [.. _processes];
        foreach (var process in processes) await process.DisposeAsync().ConfigureAwait(false);
        _delayLine?.Dispose();
        List<string> names;
        lock (_lock) names = [.. _created.Select(n => n.Name)];
        if (names.Count == 0) return;
        try
        {
            await RunScriptAsync(DeleteScript(names), Options.CommandTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException)
        {
            // RemainingNamespaces() shows what is left; the next lab's sweep removes it.
        }
    }

    internal LabProcess Track(LabProcess process)
    {
        lock (_lock) _processes.Add(process);
        return process;
    }

    private async Task BuildAsync(CancellationToken cancellationToken)
    {
        var o = Options;
        var timeout = o.CommandTimeout;
        if (!File.Exists("/usr/sbin/nft") && !File.Exists("/usr/bin/nft"))
        {
            throw new InvalidOperationException("the NAT lab needs nftables (nft): apt-get install nftables (test.sh installs it)");
        }

        // Namespaces first, one at a time, remembering each so a failure still tears it down.
        foreach (var ns in Namespaces)
        {
            await RunScriptAsync($"ip netns add {ns.Name}", timeout, cancellationToken).ConfigureAwait(false);
            lock (_lock) _created.Add(ns);
        }

        string pub = Public.Name, ra = RouterA.Name, rb = RouterB.Name, ha = HostA.Name, hb = HostB.Name;
        var s = new StringBuilder();
        foreach (var ns in Namespaces)
        {
            s.AppendLine($"ip -n {ns.Name} link set lo up");
            s.AppendLine(Sysctl(ns.Name, "net/ipv6/conf/all/disable_ipv6=1", "net/ipv6/conf/default/disable_ipv6=1"));
        }

        // veth pairs, created straight into their namespaces (no name is ever taken in ours).
        s.AppendLine($"ip link add wan netns {ra} type veth peer name ra netns {pub}");
        s.AppendLine($"ip link add wan netns {rb} type veth peer name rb netns {pub}");
        s.AppendLine($"ip link add lan netns {ra} type veth peer name eth0 netns {ha}");
        s.AppendLine($"ip link add lan netns {rb} type veth peer name eth0 netns {hb}");
        s.AppendLine($"ip -n {pub} addr add {ServerAddress}/32 dev lo");
        s.AppendLine($"ip -n {pub} addr add {AlternateServerAddress}/32 dev lo");
        s.AppendLine($"ip -n {pub} addr add 203.0.113.9/29 dev ra");
        s.AppendLine($"ip -n {pub} addr add 203.0.113.17/29 dev rb");
        s.AppendLine($"ip -n {ra} addr add {RouterA.Address}/29 dev wan");
        s.AppendLine($"ip -n {rb} addr add {RouterB.Address}/29 dev wan");
        s.AppendLine($"ip -n {ra} addr add {RouterA.LanAddress}/24 dev lan");
        s.AppendLine($"ip -n {rb} addr add {RouterB.LanAddress}/24 dev lan");
        s.AppendLine($"ip -n {ha} addr add {HostA.Address}/24 dev eth0");
        s.AppendLine($"ip -n {hb} addr add {HostB.Address}/24 dev eth0");
        foreach (var (ns, dev) in new[] { (pub, "ra"), (pub, "rb"), (ra, "wan"), (ra, "lan"), (rb, "wan"), (rb, "lan"), (ha, "eth0"), (hb, "eth0") })
        {
            s.AppendLine($"ip -n {ns} link set {dev} up");
        }

        s.AppendLine($"ip -n {ra} route add default via 203.0.113.9");
        s.AppendLine($"ip -n {rb} route add default via 203.0.113.17");
        s.AppendLine($"ip -n {ha} route add default via {RouterA.LanAddress}");
        s.AppendLine($"ip -n {hb} route add default via {RouterB.LanAddress}");
        foreach (var ns in new[] { pub, ra, rb }) s.AppendLine(Sysctl(ns, "net/ipv4/ip_forward=1"));
        AppendRouter(s, RouterA);
        AppendRouter(s, RouterB);
        if (o.LossPercent > 0)
        {
            // numgen: a fresh random number per packet. Each packet is judged once: where it
            // enters pub from a router, or — if a server in pub sent it — where it reaches the
            // router (a drop on pub's own output path would fail the server's send with EPERM).
            s.AppendLine($$"""
                ip netns exec {{pub}} nft -f - <<'NFT'
                table inet natlab_impair {
                  counter impair { }
                  counter impair_from_ra { }
                  counter impair_from_rb { }
                  chain prerouting {
                    type filter hook prerouting priority raw; policy accept;
                    iifname "ra" numgen random mod 100 < {{o.LossPercent}} counter name impair counter name impair_from_ra drop
                    iifname "rb" numgen random mod 100 < {{o.LossPercent}} counter name impair counter name impair_from_rb drop
                  }
                }
                NFT
                """);
            foreach (var router in new[] { ra, rb })
            {
                s.AppendLine($$"""
                    ip netns exec {{router}} nft -f - <<'NFT'
                    table inet natlab_impair {
                      counter impair { }
                      chain prerouting {
                        type filter hook prerouting priority raw; policy accept;
                        iifname "wan" ip saddr {{ServerBlock}} numgen random mod 100 < {{o.LossPercent}} counter name impair drop
                      }
                    }
                    NFT
                    """);
            }
        }

        if (o.RateKilobitsPerSecond > 0)
        {
            foreach (var dev in new[] { "ra", "rb" })
            {
                s.AppendLine($"tc -n {pub} qdisc add dev {dev} root tbf rate {o.RateKilobitsPerSecond}kbit burst 32kb latency 200ms");
            }
        }

        await RunScriptAsync(s.ToString(), timeout, cancellationToken).ConfigureAwait(false);
        if (o.DelayMilliseconds > 0 || o.JitterMilliseconds > 0)
        {
            await AddDelayLineAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static void AppendRouter(StringBuilder s, LabNamespace router)
    {
        var masquerade = router.Nat == NatKind.Symmetric ? "masquerade fully-random" : "masquerade";
        // The filter runs after conntrack (-200) has classified the packet but before the entry is
        // confirmed, so a dropped unsolicited packet leaves no conntrack entry behind.
        s.AppendLine($$"""
            ip netns exec {{router.Name}} nft -f - <<'NFT'
            table ip natlab {
              counter wan_inbound { }
              chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                oifname "wan" {{masquerade}}
              }
              chain prerouting {
                type filter hook prerouting priority mangle; policy accept;
                iifname "wan" ct state new counter name wan_inbound drop
              }
            }
            NFT
            """);
    }

    /// <summary>
    /// Every packet entering pub from a router, and every packet a server in pub sends, is routed
    /// (policy rules, before the local table) into the TUN delay line; it comes back from the TUN
    /// device and takes the normal routes. So each crossing of the public segment is delayed once.
    /// pub's own link addresses stay in the local table first, or it would not answer ARP.
    /// Early demux is off: it would attach a packet for a local TCP socket (the hub) to that socket
    /// before routing, and the kernel drops attached packets that routing then sends on to the TUN
    /// device — so TCP to a server in pub would stall after the SYN.
    /// </summary>
    private async Task AddDelayLineAsync(CancellationToken cancellationToken)
    {
        _delayLine = TunDelayLine.Create(Public.Name, DelayDevice, Options.DelayMilliseconds, Options.JitterMilliseconds, Options.Seed);
        var pub = Public.Name;
        var script = $"""
            ip -n {pub} link set {DelayDevice} up
            {Sysctl(pub, "net/ipv4/conf/all/rp_filter=0", $"net/ipv4/conf/{DelayDevice}/rp_filter=0", $"net/ipv4/conf/{DelayDevice}/accept_local=1",
                "net/ipv4/tcp_early_demux=0", "net/ipv4/udp_early_demux=0")}
            ip -n {pub} route add default dev {DelayDevice} table 100
            ip -n {pub} rule add pref 5 to 127.0.0.0/8 lookup local
            ip -n {pub} rule add pref 5 to 203.0.113.9 lookup local
            ip -n {pub} rule add pref 5 to 203.0.113.17 lookup local
            ip -n {pub} rule add pref 10 iif ra lookup 100
            ip -n {pub} rule add pref 10 iif rb lookup 100
            ip -n {pub} rule add pref 10 iif lo lookup 100
            ip -n {pub} rule add pref 100 lookup local
            ip -n {pub} rule del pref 0
            """;
        await RunScriptAsync(script, Options.CommandTimeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task<long> CounterAsync(LabNamespace ns, string table, string counter, CancellationToken cancellationToken)
    {
        var result = await ns.RunAsync("nft", ["list", "counter", .. table.Split(' '), counter], Options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        var match = CounterRegex().Match(result.StandardOutput);
        if (result.ExitCode != 0 || !match.Success) throw new InvalidOperationException($"no counter {counter} in {ns}: {result.Output}");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Sets per-namespace sysctls through /proc/sys (as seen from inside the namespace), without needing the sysctl tool.</summary>
    private static string Sysctl(string netns, params string[] settings) =>
        $"ip netns exec {netns} sh -c '{string.Join("; ", settings.Select(x => $"echo {x.Split('=')[1]} > /proc/sys/{x.Split('=')[0]}"))}'";

    private static string DeleteScript(IEnumerable<string> names)
    {
        var s = new StringBuilder();
        foreach (var name in names)
        {
            // Whatever still runs inside would keep the namespace alive after its name is gone.
            s.AppendLine($"ip netns pids {name} 2>/dev/null | xargs -r kill -9 2>/dev/null || true");
            s.AppendLine($"ip netns del {name} 2>/dev/null || rm -f /run/netns/{name}");
        }

        return s.ToString();
    }

    private static async Task RunScriptAsync(string script, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await LabProcess.RunAsync(null, "bash", ["-euo", "pipefail", "-s"], timeout, cancellationToken, standardInput: script).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"NAT lab setup failed (exit {result.ExitCode}):\n{result.Output}\nscript:\n{script}");
        }
    }

    [GeneratedRegex(@"^pnlab(\d+)x[0-9a-f]+-\w+$")]
    private static partial Regex LabNameRegex();

    [GeneratedRegex(@"packets (\d+)")]
    private static partial Regex CounterRegex();
}
