using System.Collections.Concurrent;
using System.Text;
using PeerNet.Ice;

namespace PeerNet.Integration.Tests.Ice;

/// <summary>
/// Our IceTransport against aioice (Debian's python3-aioice) in both roles, on loopback: candidates
/// and credentials go through the test, then datagrams flow both ways over the nominated pair.
/// Our side gathers for real (interface enumeration, falling back to loopback in the namespace).
/// </summary>
public class AioiceIceTests
{
    private const int Count = 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(IceRole.Controlling, "controlled", true)]
    [InlineData(IceRole.Controlled, "controlling", true)]
    [InlineData(IceRole.Controlling, "controlling", true)] // a role conflict, resolved by 487 or a switch
    [InlineData(IceRole.Controlled, "controlling", false)] // we never learn aioice's candidates: peer-reflexive
    public async Task Connects_to_aioice_and_carries_datagrams_both_ways(IceRole ourRole, string aioiceRole, bool giveUsTheirCandidates)
    {
        await using var aioice = new AioicePeer(aioiceRole, Count);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new BlockingCollection<string>();
        var states = new ConcurrentQueue<IceConnectionState>();
        var gathered = new ConcurrentQueue<IceCandidate>();
        await using var transport = new IceTransport(new IceTransportOptions { Agent = new IceAgentOptions { Role = ourRole } });
        transport.CandidateGathered += gathered.Enqueue;
        transport.ConnectionStateChanged += s =>
        {
            states.Enqueue(s);
            if (s is IceConnectionState.Connected or IceConnectionState.Completed)
            {
                connected.TrySetResult();
            }
        };
        transport.DatagramReceived = d =>
        {
            // aioice hands us whatever we send it; mark ours with first byte 23 (a DTLS application_data type).
            received.Add(Encoding.ASCII.GetString(d[1..]));
        };

        await transport.GatherAsync();
        Assert.NotEmpty(gathered);
        Assert.All(gathered, c => Assert.True(System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(c.Address)), c.ToString()));

        var local = await aioice.ReadAsync(Timeout);
        Assert.Equal("local", (string)local["type"]!);
        await aioice.WriteAsync(new
        {
            type = "remote",
            ufrag = transport.LocalUfrag,
            pwd = transport.LocalPassword,
            candidates = gathered.Select(c => c.ToString()).ToArray(),
        });

        transport.Start((string)local["ufrag"]!, (string)local["pwd"]!);
        if (giveUsTheirCandidates)
        {
            foreach (var line in local["candidates"]!.AsArray())
            {
                var candidate = IceCandidate.Parse((string)line!);
                Assert.True(await transport.AddRemoteCandidateAsync(candidate), candidate.ToString());
            }

            transport.AddRemoteEndOfCandidates();
        }

        var done = await aioice.ReadAsync(Timeout);
        Assert.True((string)done["type"]! == "connected", done.ToJsonString() + aioice.Stderr);
        await connected.Task.WaitAsync(Timeout);
        var pair = transport.SelectedCandidatePair!;
        Assert.Equal((string)done["remote"]![1]!.ToString(), pair.Local.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((string)done["local"]![1]!.ToString(), pair.Remote.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!giveUsTheirCandidates)
        {
            Assert.Equal(IceCandidateType.PeerReflexive, pair.Remote.Type);
        }

        // Exactly one side controls afterwards.
        Assert.NotEqual(transport.Role == IceRole.Controlling, (bool)done["controlling"]!);

        // aioice's own datagrams, then our datagrams echoed back.
        var fromAioice = new HashSet<string>();
        for (var i = 0; i < Count; i++)
        {
            Assert.True(received.TryTake(out var message, Timeout), "missing datagram from aioice; " + aioice.Stderr);
            fromAioice.Add(message);
        }

        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"from-aioice-{i}").ToHashSet(), fromAioice);

        var echoes = new HashSet<string>();
        for (var i = 0; i < Count; i++)
        {
            Assert.True(transport.Send([23, .. Encoding.ASCII.GetBytes($"from-peernet-{i}")]));
        }

        for (var i = 0; i < Count; i++)
        {
            Assert.True(received.TryTake(out var message, Timeout), "missing echo; " + aioice.Stderr);
            echoes.Add(message);
        }

        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"from-peernet-{i}").ToHashSet(), echoes);
        Assert.True(transport.Send([23, .. "bye"u8]));
        var final = await aioice.ReadAsync(Timeout);
        Assert.Equal("done", (string)final["type"]!);
        Assert.Equal(Count, (int)final["echoed"]!);
        Assert.DoesNotContain(IceConnectionState.Failed, states);
    }
}
