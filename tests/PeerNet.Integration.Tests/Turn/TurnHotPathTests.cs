using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;

namespace PeerNet.Integration.Tests.Turn;

/// <summary>
/// The drivers' hot path over real sockets: thousands of ChannelData round trips through a relay
/// and Binding requests. The test host allocates in the background (hundreds of KB/s), so the total
/// cannot be compared with zero; instead the runtime's allocation sampling (an event per ~100 KB
/// allocated, naming the type that crossed the mark) must name nothing of PeerNet's and nothing of
/// the socket layer: an allocation per packet there would be most of what is sampled.
/// </summary>
[Collection(nameof(TurnHotPathTests))]
[CollectionDefinition(nameof(TurnHotPathTests), DisableParallelization = true)]
public class TurnHotPathTests
{
    private const int Rounds = 5000;

    // 1: the batched UDP loop (Linux), with and without segmented sends; 0: the portable asynchronous socket loops.
    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(0, false)]
    public async Task Relaying_and_binding_over_udp_do_not_allocate_per_packet(int udpIoThreads, bool segmentation)
    {
        await using var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.Logger = null;
            o.UdpIoThreads = udpIoThreads;
            o.UdpSegmentationOffload = segmentation;
        });
        var server = host.UdpEndPoints[0];

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerAddress = StunAddress.FromIPEndPoint((IPEndPoint)peer.LocalEndPoint!);

        // Allocate and bind with the test client, then carry on from the same address with a raw socket.
        var client = await LoopbackTurnClient.ConnectAsync(server, tcp: false);
        var local = client.LocalEndPoint;
        await client.AllocateAsync();
        Assert.Equal(StunClass.SuccessResponse, (await client.ChannelBindAsync(0x4000, peerAddress)).Class);
        await client.DisposeAsync();

        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        raw.Bind(local);
        var serverAddress = server.Serialize();
        var from = new SocketAddress(AddressFamily.InterNetwork);
        var peerFrom = new SocketAddress(AddressFamily.InterNetwork);
        var message = new byte[4 + 200];
        ChannelData.TryWrite(message, 0x4000, new byte[200], padded: false, out _);
        var binding = new byte[40];
        var w = new StunMessageWriter(binding, StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        w.AddSoftware("0123456789abcdef"); // larger than the answer: no amplification budget involved
        var bindingLength = w.Length;
        var buffer = new byte[2048];
        var peerBuffer = new byte[2048];

        // Synchronous sockets on the test's side: its own traffic then never goes through the socket
        // engine, whose event queue grows now and then (a one-off, but it would be sampled here).
        raw.ReceiveTimeout = peer.ReceiveTimeout = 5000;
        using var sampler = new AllocationSampler();
        await Task.Run(() =>
        {
            for (var i = 0; i < 500 + Rounds; i++)
            {
                if (i == 500)
                {
                    sampler.Start(); // after warming up JIT tiers, pools and socket engines
                }

                raw.SendTo(message, SocketFlags.None, serverAddress);
                var n = peer.ReceiveFrom(peerBuffer, SocketFlags.None, peerFrom);
                peer.SendTo(peerBuffer.AsSpan(0, n), SocketFlags.None, peerFrom);
                Assert.Equal(204, raw.ReceiveFrom(buffer, SocketFlags.None, from));
                raw.SendTo(binding.AsSpan(0, bindingLength), SocketFlags.None, serverAddress);
                raw.ReceiveFrom(buffer, SocketFlags.None, from);
            }
        });
        sampler.Stop();

        var statistics = host.GetStatistics();
        Assert.True(statistics.PacketsToPeers >= Rounds && statistics.PacketsToClients >= Rounds && statistics.BindingResponses >= Rounds);
        var suspicious = sampler.Types.Where(t => t.Key.Contains("PeerNet", StringComparison.Ordinal) || t.Key.Contains("System.Net.Sockets", StringComparison.Ordinal)).ToList();
        Assert.True(suspicious.Count == 0, "sampled on the hot path: " + string.Join("; ", suspicious.Select(t => $"{t.Key} x{t.Value}"))
            + "\nall samples: " + string.Join("; ", sampler.Types.Select(t => $"{t.Key} x{t.Value}")));
    }

    /// <summary>Counts the runtime's GCAllocationTick events by type name.</summary>
    private sealed class AllocationSampler : EventListener
    {
        private volatile bool _on;

        public ConcurrentDictionary<string, int> Types { get; } = new();

        public void Start() => _on = true;

        public void Stop() => _on = false;

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (_on && eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true
                && eventData.PayloadNames?.IndexOf("TypeName") is >= 0 and var index)
            {
                Types.AddOrUpdate(eventData.Payload![index]?.ToString() ?? "?", 1, (_, count) => count + 1);
            }
        }
    }
}
