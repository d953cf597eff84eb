using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>The NAT lab builds interfaces and namespaces: nothing else runs beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NatLabCollection
{
    public const string Name = "NatLab";
}

/// <summary>
/// The lab behaves as labelled, shown with real tools and plain sockets (no ICE yet): mappings of
/// each NAT kind seen by our STUN server, unsolicited inbound packets dropped, hole punching
/// between cone NATs, loss, delay and jitter of the public segment, and a clean teardown.
/// </summary>
[Collection(NatLabCollection.Name)]
public sealed partial class NatLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Stun_server_sees_each_router_map_as_its_nat_kind()
    {
        await using var lab = await NatLab.CreateAsync(new NatLabOptions { RouterA = NatKind.EndpointIndependent, RouterB = NatKind.Symmetric });
        await using var first = await lab.StartTurnServerAsync(NatLab.ServerAddress);
        await using var second = await lab.StartTurnServerAsync(NatLab.AlternateServerAddress);

        // coturn's client: the reflexive address is the router's WAN address, never the host's.
        foreach (var host in new[] { lab.HostA, lab.HostB })
        {
            var router = host == lab.HostA ? lab.RouterA : lab.RouterB;
            var result = await host.RunAsync("turnutils_stunclient", ["-p", "3478", NatLab.ServerAddress.ToString()], Timeout);
            Assert.True(result.ExitCode == 0, result.Output);
            var match = ReflexiveRegex().Match(result.StandardOutput);
            Assert.True(match.Success, result.Output);
            Assert.Equal(router.Address.ToString(), match.Groups[1].Value);
        }

        // One socket, two destinations (two servers, different addresses), three sockets per host.
        for (var i = 0; i < 3; i++)
        {
            var port = 40000 + i;
            using var a = lab.HostA.OpenUdpSocket(new IPEndPoint(lab.HostA.Address, port));
            var a1 = await StunBindingProbe.MappedAddressAsync(a, first.EndPoint, Timeout);
            var a2 = await StunBindingProbe.MappedAddressAsync(a, second.EndPoint, Timeout);
            Assert.Equal(new IPEndPoint(lab.RouterA.Address, port), a1); // masquerade kept the port
            Assert.Equal(a1, a2);                                          // endpoint-independent

            using var b = lab.HostB.OpenUdpSocket(new IPEndPoint(lab.HostB.Address, port));
            var b1 = await StunBindingProbe.MappedAddressAsync(b, first.EndPoint, Timeout);
            var b2 = await StunBindingProbe.MappedAddressAsync(b, second.EndPoint, Timeout);
            Assert.Equal(lab.RouterB.Address, b1.Address);
            Assert.Equal(lab.RouterB.Address, b2.Address);
            Assert.NotEqual(b1.Port, b2.Port);                             // a new port per destination
            output.WriteLine($"local port {port}: EIM {a1} / {a2}; symmetric {b1} / {b2}");
        }
    }

    [Fact]
    public async Task Router_drops_unsolicited_inbound_packets_and_keeps_the_port_for_its_host()
    {
        await using var lab = await NatLab.CreateAsync();
        var hostPort = 41000;
        using var host = lab.HostA.OpenUdpSocket(new IPEndPoint(lab.HostA.Address, hostPort));
        using var peer = lab.Public.OpenUdpSocket(new IPEndPoint(NatLab.AlternateServerAddress, 5000));
        using var stranger = lab.Public.OpenUdpSocket(new IPEndPoint(NatLab.ServerAddress, 5001));
        var wan = new IPEndPoint(lab.RouterA.Address, hostPort);
        var before = await lab.UnsolicitedDropsAsync(lab.RouterA);

        // An "early hole-punch packet": it arrives before the host has sent anything.
        await peer.SendToAsync("early"u8.ToArray(), wan);
        Assert.Null(await ReceiveAsync(host, TimeSpan.FromMilliseconds(700)));
        Assert.Equal(before + 1, await lab.UnsolicitedDropsAsync(lab.RouterA));

        // The host's own packet then leaves on the same port (the dropped one took no conntrack tuple)...
        await host.SendToAsync("hello"u8.ToArray(), new IPEndPoint(NatLab.AlternateServerAddress, 5000));
        var seen = await ReceiveAsync(peer, Timeout);
        Assert.NotNull(seen);
        Assert.Equal(wan, seen.Value.From);

        // ...and the reply comes through, while a stranger writing to the same mapping does not.
        await peer.SendToAsync("reply"u8.ToArray(), wan);
        var reply = await ReceiveAsync(host, Timeout);
        Assert.NotNull(reply);
        Assert.Equal("reply", reply.Value.Text);
        await stranger.SendToAsync("stranger"u8.ToArray(), wan);
        Assert.Null(await ReceiveAsync(host, TimeSpan.FromMilliseconds(700)));
        Assert.Equal(before + 2, await lab.UnsolicitedDropsAsync(lab.RouterA));
    }

    [Theory]
    [InlineData(NatKind.EndpointIndependent, NatKind.EndpointIndependent, true)]
    [InlineData(NatKind.Symmetric, NatKind.Symmetric, false)]
    public async Task Hole_punching_to_server_reflexive_addresses(NatKind kindA, NatKind kindB, bool connects)
    {
        await using var lab = await NatLab.CreateAsync(new NatLabOptions { RouterA = kindA, RouterB = kindB });
        await using var server = await lab.StartTurnServerAsync();
        using var a = lab.HostA.OpenUdpSocket(new IPEndPoint(lab.HostA.Address, 42000));
        using var b = lab.HostB.OpenUdpSocket(new IPEndPoint(lab.HostB.Address, 42000));
        var aReflexive = await StunBindingProbe.MappedAddressAsync(a, server.EndPoint, Timeout);
        var bReflexive = await StunBindingProbe.MappedAddressAsync(b, server.EndPoint, Timeout);

        // Both punch at once, a few times, like ICE checks on the srflx pair.
        (string Text, IPEndPoint From)? atA = null, atB = null;
        for (var i = 0; i < 5 && (atA is null || atB is null); i++)
        {
            await a.SendToAsync("from a"u8.ToArray(), bReflexive);
            await b.SendToAsync("from b"u8.ToArray(), aReflexive);
            atA ??= await ReceiveAsync(a, TimeSpan.FromMilliseconds(200), ignore: server.EndPoint);
            atB ??= await ReceiveAsync(b, TimeSpan.FromMilliseconds(200), ignore: server.EndPoint);
        }

        if (connects)
        {
            Assert.Equal(("from b", bReflexive), atA);
            Assert.Equal(("from a", aReflexive), atB);
        }
        else
        {
            Assert.Null(atA);
            Assert.Null(atB);
            Assert.True(await lab.UnsolicitedDropsAsync(lab.RouterA) > 0);
            Assert.True(await lab.UnsolicitedDropsAsync(lab.RouterB) > 0);
        }
    }

    [Fact]
    public async Task Loss_on_the_public_segment_drops_about_the_configured_share()
    {
        const int loss = 10, count = 1000;
        await using var lab = await NatLab.CreateAsync(new NatLabOptions { LossPercent = loss });
        using var echo = lab.Public.OpenUdpSocket(new IPEndPoint(NatLab.ServerAddress, 7));
        using var stop = new CancellationTokenSource();
        var echoing = EchoAsync(echo, stop.Token);
        using var host = lab.HostA.OpenUdpSocket(new IPEndPoint(lab.HostA.Address, 43000));

        var received = new HashSet<int>();
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[64];
            using var quiet = new CancellationTokenSource(Timeout);
            try
            {
                while (received.Count < count)
                {
                    var r = await host.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), quiet.Token);
                    received.Add(BitConverter.ToInt32(buffer, 0));
                    quiet.CancelAfter(TimeSpan.FromSeconds(2)); // re-armed: done once echoes stop coming
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        for (var i = 0; i < count; i++)
        {
            await host.SendToAsync(BitConverter.GetBytes(i), new IPEndPoint(NatLab.ServerAddress, 7));
            if (i % 20 == 19) await Task.Delay(2); // pace, so no socket buffer drops what nft did not
        }

        await receiving;
        await stop.CancelAsync();
        await echoing;

        // Request and echo each cross the public segment once: survival (1 - p)^2 = 0.81.
        var survival = received.Count / (double)count;
        var drops = await lab.ImpairmentDropsAsync();
        output.WriteLine($"{loss} % loss: {received.Count}/{count} echoes back ({survival:P1}), {drops} nft drops");
        Assert.InRange(survival, 0.76, 0.86);
        Assert.InRange(drops, 140, 250); // expected 1000 x (2p - p^2) = 190, sd 12
        Assert.Equal(count - received.Count, drops); // every lost echo is one nft drop, nothing else lost
    }

    [Fact]
    public async Task Delay_line_adds_the_configured_delay_and_jitter_reorders()
    {
        await using (var lab = await NatLab.CreateAsync(new NatLabOptions { DelayMilliseconds = 100 }))
        {
            using var echo = lab.Public.OpenUdpSocket(new IPEndPoint(NatLab.ServerAddress, 7));
            using var stop = new CancellationTokenSource();
            var echoing = EchoAsync(echo, stop.Token);
            using var host = lab.HostA.OpenUdpSocket(new IPEndPoint(lab.HostA.Address, 44000));
            var rtts = new List<double>();
            for (var i = 0; i < 10; i++)
            {
                var clock = Stopwatch.StartNew();
                await host.SendToAsync(BitConverter.GetBytes(i), new IPEndPoint(NatLab.ServerAddress, 7));
                Assert.NotNull(await ReceiveAsync(host, Timeout));
                rtts.Add(clock.Elapsed.TotalMilliseconds);
            }

            await stop.CancelAsync();
            await echoing;
            rtts.Sort();
            output.WriteLine($"100 ms one-way: RTT min {rtts[0]:0.0} median {rtts[rtts.Count / 2]:0.0} max {rtts[^1]:0.0} ms");
            Assert.InRange(rtts[rtts.Count / 2], 195, 280); // two crossings of 100 ms
            Assert.True(lab.DelayedPackets >= 20, $"{lab.DelayedPackets} packets through the delay line");
        }

        await using (var lab = await NatLab.CreateAsync(new NatLabOptions { DelayMilliseconds = 5, JitterMilliseconds = 40, Seed = 1 }))
        {
            using var sink = lab.Public.OpenUdpSocket(new IPEndPoint(NatLab.ServerAddress, 9));
            using var host = lab.HostA.OpenUdpSocket(new IPEndPoint(lab.HostA.Address, 44001));
            const int count = 200;
            for (var i = 0; i < count; i++)
            {
                await host.SendToAsync(BitConverter.GetBytes(i), new IPEndPoint(NatLab.ServerAddress, 9));
                if (i % 10 == 9) await Task.Delay(1);
            }

            var order = new List<int>();
            while (order.Count < count && await ReceiveAsync(sink, TimeSpan.FromSeconds(2)) is { } r) order.Add(int.Parse(r.Text, CultureInfo.InvariantCulture));
            Assert.Equal(count, order.Count);
            Assert.Equal(Enumerable.Range(0, count), order.Order());
            var inversions = order.Zip(order.Skip(1)).Count(p => p.First > p.Second);
            output.WriteLine($"5 ms + 0..40 ms jitter: {inversions} of {count - 1} neighbours out of order");
            Assert.True(inversions > 10, $"only {inversions} reordered neighbours");
        }
    }

    [Fact]
    public async Task Stun_works_from_both_hosts_across_200_ms_rtt_and_2_percent_loss()
    {
        await using var lab = await NatLab.CreateAsync(new NatLabOptions { DelayMilliseconds = 100, LossPercent = 2, RouterB = NatKind.Symmetric });
        await using var server = await lab.StartTurnServerAsync();
        foreach (var (host, router) in new[] { (lab.HostA, lab.RouterA), (lab.HostB, lab.RouterB) })
        {
            // stunclient never retransmits: a lost datagram leaves it waiting, so a few bounded tries.
            LabCommandResult? result = null;
            for (var attempt = 0; attempt < 5 && result is not { ExitCode: 0 }; attempt++)
            {
                try
                {
                    result = await host.RunAsync("turnutils_stunclient", ["-p", "3478", NatLab.ServerAddress.ToString()], TimeSpan.FromSeconds(3));
                }
                catch (TimeoutException e)
                {
                    output.WriteLine($"{host.Role}: stunclient attempt {attempt + 1} lost ({e.Message.Split('\n')[0]})");
                }
            }

            Assert.NotNull(result);
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Contains($"UDP reflexive addr: {router.Address}:", result.StandardOutput);

            using var socket = host.OpenUdpSocket(new IPEndPoint(host.Address, 45000));
            var clock = Stopwatch.StartNew();
            var mapped = await StunBindingProbe.MappedAddressAsync(socket, server.EndPoint, Timeout);
            output.WriteLine($"{host.Role}: mapped {mapped} after {clock.ElapsedMilliseconds} ms");
            Assert.Equal(router.Address, mapped.Address);
            Assert.True(clock.ElapsedMilliseconds >= 195, $"{clock.ElapsedMilliseconds} ms: the delay line is not in the path");
        }
    }

    [Fact]
    public async Task Rate_limit_caps_the_public_segment_towards_a_router()
    {
        const int rateKbit = 2000;
        await using var lab = await NatLab.CreateAsync(new NatLabOptions { RateKilobitsPerSecond = rateKbit });
        using var sender = lab.Public.OpenUdpSocket(new IPEndPoint(NatLab.ServerAddress, 9000));
        using var host = lab.HostA.OpenUdpSocket(new IPEndPoint(lab.HostA.Address, 46000));
        await host.SendToAsync("open"u8.ToArray(), new IPEndPoint(NatLab.ServerAddress, 9000)); // the NAT mapping
        var open = await ReceiveAsync(sender, Timeout);
        Assert.NotNull(open);

        // 3 s of datagrams at 2x the rate; what arrives per second is the rate (tbf drops the rest).
        var payload = new byte[1000];
        var bytes = 0L;
        Stopwatch? clock = null;
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            using var quiet = new CancellationTokenSource(Timeout);
            try
            {
                while (true)
                {
                    var r = await host.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), quiet.Token);
                    clock ??= Stopwatch.StartNew();
                    bytes += r.ReceivedBytes;
                    quiet.CancelAfter(TimeSpan.FromSeconds(1));
                }
            }
            catch (OperationCanceledException)
            {
            }

            return clock!.Elapsed.TotalSeconds - 1; // minus the quiet second
        });
        var pace = Stopwatch.StartNew();
        for (var i = 0; i < 3 * 2 * rateKbit * 1000 / 8 / payload.Length; i++)
        {
            await sender.SendToAsync(payload, open.Value.From);
            while (pace.Elapsed.TotalSeconds < i * payload.Length * 8.0 / (2 * rateKbit * 1000)) await Task.Delay(1);
        }

        var seconds = await receiving;
        var kbit = bytes * 8 / 1000.0 / seconds;
        output.WriteLine($"tbf {rateKbit} kbit/s: {bytes} bytes in {seconds:0.00} s = {kbit:0} kbit/s (offered {2 * rateKbit})");
        Assert.InRange(kbit, rateKbit * 0.8, rateKbit * 1.2);
    }

    [Fact]
    public async Task Dispose_removes_every_namespace_and_process_and_the_sweep_removes_dead_runs()
    {
        var lab = await NatLab.CreateAsync();
        var names = lab.Namespaces.Select(n => n.Name).ToArray();
        Assert.All(names, n => Assert.True(File.Exists($"/run/netns/{n}"), n));
        var sleeper = lab.HostB.Start("sleep", ["600"]);
        Assert.False(sleeper.HasExited);
        await lab.DisposeAsync();
        Assert.Empty(lab.RemainingNamespaces());
        Assert.All(names, n => Assert.False(File.Exists($"/run/netns/{n}"), n));
        Assert.True(sleeper.HasExited);

        // A namespace left by a process that is gone is swept; one of a live process is not.
        int deadPid;
        await using (var dead = LabProcess.Start(null, "true", []))
        {
            await dead.WaitForExitAsync(Timeout);
            deadPid = dead.Id;
        }

        var stale = $"{NatLab.NamePrefix}{deadPid}x000000-pub";
        var live = $"{NatLab.NamePrefix}{Environment.ProcessId}x000000-pub";
        foreach (var name in new[] { stale, live })
        {
            var add = await LabProcess.RunAsync(null, "ip", ["netns", "add", name], Timeout);
            Assert.True(add.ExitCode == 0, add.Output);
        }

        try
        {
            Assert.True(await NatLab.SweepStaleAsync() >= 1);
            Assert.False(File.Exists($"/run/netns/{stale}"));
            Assert.True(File.Exists($"/run/netns/{live}"));
        }
        finally
        {
            await LabProcess.RunAsync(null, "ip", ["netns", "del", live], Timeout);
            await LabProcess.RunAsync(null, "ip", ["netns", "del", stale], Timeout);
        }
    }

    /// <summary>The next datagram (as text, or a 4-byte number), null after the timeout; datagrams from <paramref name="ignore"/> (late STUN responses) are skipped.</summary>
    private static async Task<(string Text, IPEndPoint From)?> ReceiveAsync(Socket socket, TimeSpan timeout, IPEndPoint? ignore = null)
    {
        var buffer = new byte[1500];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var r = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            while (ignore is not null && ignore.Equals(r.RemoteEndPoint))
            {
                r = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            }

            var text = r.ReceivedBytes == 4 ? BitConverter.ToInt32(buffer, 0).ToString(CultureInfo.InvariantCulture) : System.Text.Encoding.UTF8.GetString(buffer, 0, r.ReceivedBytes);
            return (text, (IPEndPoint)r.RemoteEndPoint);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task EchoAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1500];
        try
        {
            while (true)
            {
                var r = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cancellationToken);
                await socket.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), r.RemoteEndPoint, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [GeneratedRegex(@"UDP reflexive addr: ([0-9.]+):(\d+)")]
    private static partial Regex ReflexiveRegex();
}
