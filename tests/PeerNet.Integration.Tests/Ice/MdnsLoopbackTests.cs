using System.Diagnostics;
using System.Net;
using PeerNet.Ice;
using PeerNet.Ice.Mdns;

namespace PeerNet.Integration.Tests.Ice;

/// <summary>
/// mDNS for real: in the test's loopback-only namespace, lo gets the MULTICAST flag and a route for
/// 224.0.0.0/4, so queries to 224.0.0.251:5353 reach aioice's mDNS responder (dnspython underneath),
/// which answers to the group. Lo is restored afterwards.
/// </summary>
public sealed class MdnsLoopbackTests : IAsyncLifetime
{
    private bool _routeAdded;
    private bool _multicastSet;

    public async Task InitializeAsync()
    {
        AioicePeer.AssertLoopbackOnly(); // never touch a real namespace's routing
        _multicastSet = await Ip("link", "set", "lo", "multicast", "on") == 0;
        _routeAdded = await Ip("route", "add", "224.0.0.0/4", "dev", "lo") == 0;
        Assert.True(_multicastSet, "could not set MULTICAST on lo (needs root in the namespace)");
    }

    public async Task DisposeAsync()
    {
        if (_routeAdded)
        {
            await Ip("route", "del", "224.0.0.0/4", "dev", "lo");
        }

        if (_multicastSet)
        {
            await Ip("link", "set", "lo", "multicast", "off");
        }
    }

    [Fact]
    public async Task Resolves_names_published_by_aioice()
    {
        const string script = """
            import asyncio, sys
            from aioice import mdns
            async def main():
                responder = await mdns.create_mdns_protocol()
                await responder.publish("peernet-test-1.local", "127.0.0.1")
                await responder.publish("peernet-test-6.local", "::1")
                print("ready", flush=True)
                await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
                await responder.close()
            asyncio.run(main())
            """;
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        using var python = Process.Start(info)!;
        var stderr = new System.Text.StringBuilder();
        python.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        python.BeginErrorReadLine();
        try
        {
            var ready = await python.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(ready == "ready", "responder did not start: " + stderr);

            await using var resolver = new MdnsResolver(new MdnsResolverOptions { InterfaceAddresses = [IPAddress.Loopback] });
            Assert.Equal(IPAddress.Loopback, await resolver.ResolveAsync("peernet-test-1.local").WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(IPAddress.IPv6Loopback, await resolver.ResolveAsync("peernet-test-6.local").WaitAsync(TimeSpan.FromSeconds(10)));
            var started = Environment.TickCount64;
            Assert.Null(await resolver.ResolveAsync("nobody-here.local").WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.InRange(Environment.TickCount64 - started, 2500, 5000);
        }
        finally
        {
            await python.StandardInput.WriteLineAsync();
            python.StandardInput.Close();
            if (!python.WaitForExit(5000))
            {
                python.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Connects_to_aioice_whose_candidates_are_mdns_names()
    {
        await using var aioice = new AioicePeer("controlled", 5, mdns: true);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var transport = new IceTransport(new IceTransportOptions { Agent = new IceAgentOptions { Role = IceRole.Controlling } });
        var gathered = new List<IceCandidate>();
        transport.CandidateGathered += gathered.Add;
        transport.ConnectionStateChanged += s =>
        {
            if (s is IceConnectionState.Connected or IceConnectionState.Completed)
            {
                connected.TrySetResult();
            }
        };
        var received = new System.Collections.Concurrent.BlockingCollection<byte[]>();
        transport.DatagramReceived = d => received.Add(d.ToArray());
        await transport.GatherAsync();

        var local = await aioice.ReadAsync(TimeSpan.FromSeconds(30));
        var remoteCandidates = local["candidates"]!.AsArray().Select(n => IceCandidate.Parse((string)n!)).ToList();
        Assert.All(remoteCandidates, c => Assert.True(c.IsMdnsHostName, c.ToString()));

        // Credentials and candidates to aioice only after ours are resolved would hide a race; send them first.
        await aioice.WriteAsync(new { type = "remote", ufrag = transport.LocalUfrag, pwd = transport.LocalPassword, candidates = gathered.Select(c => c.ToString()).ToArray() });
        transport.Start((string)local["ufrag"]!, (string)local["pwd"]!);
        foreach (var candidate in remoteCandidates)
        {
            Assert.True(await transport.AddRemoteCandidateAsync(candidate).WaitAsync(TimeSpan.FromSeconds(10)), "did not resolve " + candidate);
        }

        transport.AddRemoteEndOfCandidates();
        Assert.Equal("connected", (string)(await aioice.ReadAsync(TimeSpan.FromSeconds(30)))["type"]!);
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("127.0.0.1", transport.SelectedCandidatePair!.Remote.Address);
        Assert.Equal(IceCandidateType.Host, transport.SelectedCandidatePair.Remote.Type);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(received.TryTake(out _, TimeSpan.FromSeconds(10)));
        }

        Assert.True(transport.Send([23, .. "bye"u8]));
        Assert.Equal("done", (string)(await aioice.ReadAsync(TimeSpan.FromSeconds(30)))["type"]!);
    }

    private static async Task<int> Ip(params string[] arguments)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return process.ExitCode;
    }
}
