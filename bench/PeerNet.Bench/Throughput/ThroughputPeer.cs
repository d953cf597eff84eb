using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text.Json;
using PeerNet.Rtc;
using PeerNet.Signaling;

namespace PeerNet.Bench.Throughput;

/// <summary>
/// Hidden mode <c>throughput-peer</c>: this program as one PeerNet side of the throughput benchmark, in
/// a process of its own so its CPU and memory can be read from /proc. The same wire as
/// throughput.html and throughput_peer.py: the sender offers to the peer already in the room on one
/// reliable ordered channel and, on "go" from stdin, sends the bytes with <see cref="RtcDataChannel.SendAsync"/>
/// (backpressure at the high-water mark); the receiver checks every message (length, and its sequence
/// number in the first and last 4 bytes) and counts the bytes. Events are JSON lines on stdout.
/// </summary>
internal static class ThroughputPeer
{
    public static async Task<int> RunAsync(string[] args)
    {
        string hub = "", room = "", role = "", address = "127.0.0.1";
        long total = 0, hwm = RtcDataChannel.DefaultSendHighWaterMark;
        var chunk = 65536;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--hub": hub = args[++i]; break;
                case "--room": room = args[++i]; break;
                case "--role": role = args[++i]; break;
                case "--bytes": total = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--chunk": chunk = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--hwm": hwm = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--address": address = args[++i]; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        var local = IPAddress.Parse(address);
        // A long-running peer has its data path compiled (tier 1); a fresh process would spend its first
        // second in tier-0 code, which on a 5-second transfer is the JIT's figure, not the stack's.
        await WarmUpAsync(local, chunk);
        var configuration = new RtcConfiguration { AllowedLocalAddresses = [local], IncludeLoopbackCandidates = IPAddress.IsLoopback(local) };
        await using var signaling = new SignalingClient(new SignalingClientOptions { Url = new Uri(hub) });
        await signaling.ConnectAsync();
        var send = role == "send";
        await using var peers = new PeerRoom(signaling, room, initiator => new PeerOptions { Initiator = initiator, ChannelLabel = "bulk", Configuration = configuration })
        {
            UseHubIceServers = false,
        };
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!send)
        {
            peers.PeerAccepted += (_, e) =>
            {
                var receiver = new Receiver(total, chunk, done);
                e.Peer.Data += (_, m) => receiver.OnMessage(m.Data);
                e.Peer.Connected += (_, _) => Emit("open");
                e.Peer.Error += (_, error) => Emit("error", ("message", error.Message));
            };
        }
        var present = await peers.JoinAsync();
        Emit("joined");
        if (send)
        {
            if (present.Count == 0)
            {
                Emit("error", ("message", "nobody in the room to send to"));
                return 1;
            }
            var peer = peers.Connect(present[0]);
            await peer.WaitConnectedAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Emit("open");
            var commands = Task.Run(Console.In.ReadLineAsync);
            if (await commands != "go") return 0;
            await SendAsync(peer.Channel!, total, chunk, hwm);
            // Stay until told to quit: what is still buffered must reach the receiver.
            await CommandsAsync(peer);
            return 0;
        }
        await done.Task;
        await CommandsAsync(peers.Peers.Values.FirstOrDefault());
        return 0;
    }

    /// <summary>"stats" → the association's counters (for the report's findings); "quit" or end of input → return.</summary>
    private static async Task CommandsAsync(Peer? peer)
    {
        while (await Console.In.ReadLineAsync() is { } line && line != "quit")
        {
            if (line == "stats") Emit("stats", ("text", peer is null ? "no peer" : SctpCounters(peer.Connection)));
        }
    }

    /// <summary>
    /// The SCTP association's counters. RtcPeerConnection does not expose its association, so this reads
    /// it by reflection — a benchmark diagnostic only, which breaks harmlessly ("unavailable") if the field moves.
    /// </summary>
    private static string SctpCounters(RtcPeerConnection connection)
    {
        const System.Reflection.BindingFlags Private = System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic;
        var transport = typeof(RtcPeerConnection).GetField("_transport", Private)?.GetValue(connection);
        if (transport?.GetType().GetProperty("Association")?.GetValue(transport) is not PeerNet.Sctp.SctpAssociation sctp) return "unavailable";
        var s = sctp.Statistics;
        return string.Create(CultureInfo.InvariantCulture,
            $"packets sent {s.PacketsSent} received {s.PacketsReceived}, DATA chunks sent {s.DataChunksSent} retransmitted {s.DataChunksRetransmitted}, "
            + $"fast retransmits {s.FastRetransmits}, T3 timeouts {s.RetransmissionTimeouts}, duplicates received {s.DuplicateDataChunksReceived}, "
            + $"SACKs sent {s.SacksSent}, dropped {s.PacketsDropped}; cwnd {sctp.CongestionWindow}, RTO {sctp.RetransmissionTimeoutMs} ms, SRTT {sctp.SmoothedRoundTripTimeMs:F1} ms");
    }

    /// <summary>Two connections in this process push 64 MiB through the whole stack, then close.</summary>
    private static async Task WarmUpAsync(IPAddress local, int chunk)
    {
        var configuration = new RtcConfiguration { AllowedLocalAddresses = [local], IncludeLoopbackCandidates = IPAddress.IsLoopback(local) };
        await using var offerer = new RtcPeerConnection(configuration);
        await using var answerer = new RtcPeerConnection(configuration);
        var toOfferer = new RtcCandidateRelay(answerer, offerer);
        var toAnswerer = new RtcCandidateRelay(offerer, answerer);
        var channel = offerer.CreateDataChannel("warm-up");
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const long total = 64L << 20;
        var receiver = new Receiver(total, chunk, done, report: false);
        answerer.DataChannel += (_, remote) => remote.Message += (_, e) => receiver.OnMessage(e.Data);
        channel.Open += (_, _) => opened.TrySetResult();
        var offer = await offerer.CreateOfferAsync();
        await offerer.SetLocalDescriptionAsync(offer);
        await answerer.SetRemoteDescriptionAsync(offer);
        toAnswerer.RemoteDescriptionSet();
        var answer = await answerer.CreateAnswerAsync();
        await answerer.SetLocalDescriptionAsync(answer);
        await offerer.SetRemoteDescriptionAsync(answer);
        toOfferer.RemoteDescriptionSet();
        await opened.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await SendAsync(channel, total, chunk, RtcDataChannel.DefaultSendHighWaterMark, report: false);
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private static async Task SendAsync(RtcDataChannel channel, long total, int chunk, long hwm, bool report = true)
    {
        var payload = new byte[chunk];
        Random.Shared.NextBytes(payload);
        var first = WallMs();
        long sent = 0;
        uint seq = 0;
        while (sent < total)
        {
            var n = (int)Math.Min(chunk, total - sent);
            BinaryPrimitives.WriteUInt32BigEndian(payload, seq);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(n - 4), seq);
            // SendAsync copies the message before it returns: the buffer is ours again.
            await channel.SendAsync(payload.AsMemory(0, n), default, hwm);
            sent += n;
            seq++;
        }
        if (report) Emit("sent", ("messages", seq), ("firstSendMs", first), ("lastSendMs", WallMs()));
    }

    /// <summary>Checks and counts what arrives; messages come one at a time on the connection's event loop.</summary>
    private sealed class Receiver(long total, int chunk, TaskCompletionSource done, bool report = true)
    {
        private long _received;
        private uint _seq;
        private long _errors;
        private double _firstByteMs;

        public void OnMessage(byte[] data)
        {
            if (_seq == 0) _firstByteMs = WallMs();
            var expected = (int)Math.Min(chunk, total - _received);
            if (data.Length != expected || data.Length < 8
                || BinaryPrimitives.ReadUInt32BigEndian(data) != _seq
                || BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(data.Length - 4)) != _seq)
            {
                _errors++;
            }
            _seq++;
            _received += data.Length;
            if (_received >= total && !done.Task.IsCompleted)
            {
                if (report) Emit("done", ("bytes", _received), ("messages", _seq), ("errors", _errors), ("firstByteMs", _firstByteMs), ("lastByteMs", WallMs()));
                done.TrySetResult();
            }
        }
    }

    /// <summary>Wall-clock milliseconds: comparable with the other process's (and a browser's timeOrigin + now).</summary>
    private static double WallMs() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;

    private static void Emit(string name, params (string Key, object Value)[] fields)
    {
        var entry = new Dictionary<string, object> { ["event"] = name };
        foreach (var (key, value) in fields) entry[key] = value;
        Console.Out.WriteLine(JsonSerializer.Serialize(entry));
        Console.Out.Flush();
    }
}
