using System.Diagnostics;
using System.Net.NetworkInformation;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PeerNet.Integration.Tests.Ice;

/// <summary>
/// An aioice Connection in a /usr/bin/python3 child, driven by JSON lines: it prints its credentials
/// and candidates, takes ours on stdin, connects, then sends its own datagrams and echoes ours.
/// </summary>
internal sealed class AioicePeer : IAsyncDisposable
{
    private const string Script = """
        import asyncio, json, sys
        import aioice
        from aioice import Candidate, Connection

        controlling = sys.argv[1] == "controlling"
        count = int(sys.argv[2])
        use_mdns = len(sys.argv) > 3 and sys.argv[3] == "mdns"

        # aioice skips loopback addresses when it lists host addresses; the test runs on loopback only.
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

        def emit(**kwargs):
            print(json.dumps(kwargs), flush=True)

        async def read_line():
            line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            return json.loads(line)

        async def main():
            conn = Connection(ice_controlling=controlling)
            await conn.gather_candidates()
            candidates = list(conn.local_candidates)
            if use_mdns:
                # Hide the address behind a published "<uuid>.local" name, as Chromium does.
                from aioice import mdns
                responder = await mdns.create_mdns_protocol()
                hidden = []
                for c in candidates:
                    name = mdns.create_mdns_hostname()
                    await responder.publish(name, c.host)
                    hidden.append(Candidate(c.foundation, c.component, c.transport, c.priority, name, c.port, c.type))
                candidates = hidden
            emit(type="local", ufrag=conn.local_username, pwd=conn.local_password,
                 candidates=["candidate:" + c.to_sdp() for c in candidates])
            remote = await read_line()
            conn.remote_username = remote["ufrag"]
            conn.remote_password = remote["pwd"]
            for line in remote["candidates"]:
                await conn.add_remote_candidate(Candidate.from_sdp(line.split(":", 1)[1]))
            await conn.add_remote_candidate(None)
            await asyncio.wait_for(conn.connect(), 20)
            pair = conn._nominated.get(1)
            emit(type="connected", controlling=conn.ice_controlling,
                 local=list(pair.local_addr) if pair else None, remote=list(pair.remote_addr) if pair else None)
            for i in range(count):
                await conn.send(bytes([23]) + b"from-aioice-%d" % i)
            echoed = 0
            while True:
                data = await asyncio.wait_for(conn.recv(), 20)
                if data == bytes([23]) + b"bye":
                    break
                await conn.send(data)
                echoed += 1
            emit(type="done", echoed=echoed)
            await asyncio.sleep(0.5)
            await conn.close()

        asyncio.run(main())
        """;

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    public AioicePeer(string role, int count, bool mdns = false)
    {
        AssertLoopbackOnly();
        var info = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Script);
        info.ArgumentList.Add(role);
        info.ArgumentList.Add(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (mdns)
        {
            info.ArgumentList.Add("mdns");
        }
        _process = Process.Start(info)!;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The next JSON line from the script, within <paramref name="timeout"/>.</summary>
    public async Task<JsonObject> ReadAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var line = await _process.StandardOutput.ReadLineAsync(cts.Token);
            if (line is null)
            {
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
                Assert.Fail("aioice script ended: " + Stderr);
            }

            return JsonNode.Parse(line)!.AsObject();
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("No line from the aioice script in time: " + Stderr);
            throw;
        }
    }

    public async Task WriteAsync(object message)
    {
        await _process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(message));
        await _process.StandardInput.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
            }
        }
        catch (TimeoutException)
        {
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    /// <summary>Refuses to run outside a loopback-only network namespace (candidates must stay on loopback).</summary>
    public static void AssertLoopbackOnly()
    {
        var others = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.NetworkInterfaceType != NetworkInterfaceType.Loopback && i.OperationalStatus != OperationalStatus.Down)
            .Select(i => i.Name)
            .ToList();
        if (others.Count > 0)
        {
            Assert.Fail($"network interfaces other than loopback are up ({string.Join(", ", others)}): run inside a loopback-only " +
                "network namespace: ip netns add pn-test; ip -n pn-test link set lo up; ip netns exec pn-test dotnet test ...");
        }
    }
}
