using PeerNet.Integration.Tests.NatLab;
using static PeerNet.Bench.BenchTools;

namespace PeerNet.Bench.Throughput;

/// <summary>
/// A path with a round-trip time, inside the benchmark's own network namespace (no netem in this
/// kernel): one private address on a veth device (this kernel has no dummy driver; the pair's other end
/// stays unused), which every peer uses (loopback candidates off),
/// and a policy rule that sends every locally generated packet to that address into a TUN device
/// instead of straight to loopback. <see cref="TunDelayLine"/> holds each packet for half the RTT and
/// writes it back; the kernel then delivers it (accept_local lets a packet from a local address come in
/// on a device). Each direction crosses the line once: RTT = 2 × the one-way delay. Signaling to the
/// hub on 127.0.0.1 is not delayed.
/// </summary>
internal sealed class DelayedNetwork : IAsyncDisposable
{
    /// <summary>The address the peers use (a private one, only ever inside this namespace).</summary>
    public const string PeerAddress = "10.99.0.1";

    private const string Veth = "pnbv0";
    private const string VethPeer = "pnbv1";
    private const string Tun = "pnbtun0";
    private const string Table = "200";
    private readonly TunDelayLine _line;

    private DelayedNetwork(TunDelayLine line) => _line = line;

    public long Forwarded => _line.Forwarded;

    /// <summary>One datagram to ourselves on the peers' address crosses the line once: its time is the one-way delay.</summary>
    public static async Task<double> MeasureOneWayMsAsync()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(PeerAddress), 0));
        var buffer = new byte[64];
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await socket.SendToAsync(buffer, socket.LocalEndPoint!);
            using var cts = new CancellationTokenSource(2000);
            await socket.ReceiveAsync(buffer, cts.Token);
            best = Math.Min(best, clock.Elapsed.TotalMilliseconds);
        }
        return best;
    }

    /// <summary>Packets the kernel could not queue to the delay line (the TUN device's tx_dropped); 0 without one.</summary>
    public static long TunDrops()
    {
        var path = $"/sys/class/net/{Tun}/statistics/tx_dropped";
        return File.Exists(path) ? long.Parse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    public static async Task<DelayedNetwork> CreateAsync(int rttMs)
    {
        if (Environment.GetEnvironmentVariable("PEERNET_BENCH_NETNS") is null)
            throw new InvalidOperationException("the delayed network changes routing: only inside the benchmark's own network namespace");
        await Ip("link", "add", Veth, "type", "veth", "peer", "name", VethPeer);
        await Ip("addr", "add", PeerAddress + "/32", "dev", Veth);
        await Ip("link", "set", Veth, "up");
        await Ip("link", "set", VethPeer, "up");
        var line = TunDelayLine.Create(null, Tun, rttMs / 2);
        try
        {
            await Ip("link", "set", Tun, "txqueuelen", "10000");
            await Ip("link", "set", Tun, "up");
            foreach (var (key, value) in new[] { ("all/rp_filter", "0"), ($"{Tun}/rp_filter", "0"), ($"{Tun}/accept_local", "1"), ("all/accept_local", "1") })
                await File.WriteAllTextAsync($"/proc/sys/net/ipv4/conf/{key}", value);
            await Ip("route", "add", PeerAddress + "/32", "dev", Tun, "table", Table);
            // Locally generated packets to the peers' address go to the TUN device; what comes back from it
            // (iif is the TUN device, not lo) falls through to the local table, moved behind the rule.
            await Ip("rule", "add", "pref", "10", "iif", "lo", "to", PeerAddress, "lookup", Table);
            await Ip("rule", "add", "pref", "100", "lookup", "local");
            await Ip("rule", "del", "pref", "0");
        }
        catch
        {
            line.Dispose();
            throw;
        }
        return new DelayedNetwork(line);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Ip("rule", "add", "pref", "0", "lookup", "local");
            await Ip("rule", "del", "pref", "100");
            await Ip("rule", "del", "pref", "10");
            await Ip("link", "del", Veth);
        }
        finally
        {
            _line.Dispose(); // closing the fd removes the TUN device
        }
    }

    private static Task Ip(params string[] args) => RunToolAsync("ip", args, "/", TimeSpan.FromSeconds(10));
}
