using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using PeerNet.Dtls;
using PeerNet.Ice;
using PeerNet.Rtc;

namespace PeerNet.Bench.Connections;

/// <summary>
/// The PeerNet side under test (its own process): every offer becomes an <see cref="RtcPeerConnection"/> whose
/// host candidate is the one <see cref="IceUdpMux"/> port, and every data channel echoes what it receives.
/// </summary>
internal static class ConnectionServer
{
    public static async Task<int> RunAsync()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) });
        // One identity for the server, as a server would have (it is not per connection).
        var configuration = new RtcConfiguration { IceUdpMux = mux, Certificates = [RtcCertificate.Generate()] };
        var connections = new ConcurrentDictionary<RtcPeerConnection, byte>();
        var openChannels = 0;
        using var quit = new CancellationTokenSource();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(1024);

        async Task<JsonObject> HandleAsync(JsonElement request)
        {
            switch (request.GetProperty("type").GetString())
            {
                case "offer":
                {
                    var pc = new RtcPeerConnection(configuration);
                    connections[pc] = 0;
                    pc.ConnectionStateChange += (_, state) =>
                    {
                        if ((state is RtcPeerConnectionState.Failed or RtcPeerConnectionState.Closed) && connections.TryRemove(pc, out byte _))
                            _ = pc.DisposeAsync().AsTask();
                    };
                    pc.DataChannel += (_, channel) =>
                    {
                        channel.Open += (_, _) => Interlocked.Increment(ref openChannels);
                        channel.Closed += (_, _) => Interlocked.Decrement(ref openChannels);
                        channel.Message += (_, e) =>
                        {
                            if (e.IsText) channel.Send(e.Text);
                            else channel.Send(e.Data);
                        };
                    };
                    var candidates = new List<string>();
                    var gathered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    pc.IceCandidate += (_, c) =>
                    {
                        if (c is null || c.IsEndOfCandidates) gathered.TrySetResult();
                        else lock (candidates) candidates.Add(c.Candidate);
                    };
                    await pc.SetRemoteDescriptionAsync(new RtcSessionDescriptionInit(RtcSdpType.Offer, request.GetProperty("sdp").GetString()!));
                    var answer = await pc.CreateAnswerAsync();
                    await pc.SetLocalDescriptionAsync(answer);
                    await gathered.Task.WaitAsync(TimeSpan.FromSeconds(10));
                    lock (candidates) return new JsonObject { ["sdp"] = SignalWire.WithCandidates(answer.Sdp, candidates) };
                }
                case "stats":
                    return Stats(connections.Count, openChannels, mux);
                case "closeAll":
                {
                    var clock = Stopwatch.StartNew();
                    var all = connections.Keys.ToList();
                    connections.Clear();
                    foreach (var pc in all) await pc.DisposeAsync();
                    return new JsonObject { ["closed"] = all.Count, ["ms"] = clock.Elapsed.TotalMilliseconds, ["muxConnections"] = mux.ConnectionCount };
                }
                case "quit":
                    _ = Task.Delay(200).ContinueWith(_ => quit.Cancel(), TaskScheduler.Default); // after the answer is written
                    return new JsonObject { ["ok"] = true };
                default:
                    return new JsonObject { ["error"] = "unknown request" };
            }
        }

        var serving = SignalWire.ServeAsync(listener, HandleAsync, quit.Token);
        Console.WriteLine($"listening {((IPEndPoint)listener.LocalEndpoint).Port} udp {mux.LocalEndPoint.Port}");
        await serving;
        listener.Stop();
        return 0;
    }

    private static JsonObject Stats(int connections, int openChannels, IceUdpMux mux)
    {
        // A full compacting collection, finalizers, then an aggressive one, which also gives free GC memory
        // back to the OS: what stays (heap and RSS) is what the connections hold, not the high-water mark
        // of the handshakes' garbage.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var (rss, threads) = SignalWire.ProcStatus();
        return new JsonObject
        {
            ["connections"] = connections,
            ["openChannels"] = openChannels,
            ["managedBytes"] = GC.GetTotalMemory(forceFullCollection: false),
            ["rssBytes"] = rss,
            ["threads"] = threads,
            ["cpuMs"] = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds,
            ["udpPorts"] = SignalWire.UdpSockets(),
            ["muxReceived"] = mux.Statistics.DatagramsReceived,
            ["muxDropped"] = mux.Statistics.DroppedTotal,
            ["muxSendFailures"] = mux.Statistics.SendFailures,
        };
    }
}
