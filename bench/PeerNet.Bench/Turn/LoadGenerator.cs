using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PeerNet.Bench.Signaling;
using PeerNet.Stun;

namespace PeerNet.Bench.Turn;

/// <summary>What one measured interval saw: the generator's counts and the CPU time the server,
/// the generator and the whole machine spent in it.</summary>
internal readonly record struct Snapshot(long Timestamp, long Ops, long Bytes, long Errors, long Refills,
    TimeSpan ServerUser, TimeSpan ServerSystem, TimeSpan Self, TimeSpan Machine)
{
    public static Snapshot Take(int serverPid, long ops, long bytes, long errors, long refills)
    {
        var (u, s) = ProcCpu.ReadSplit(serverPid);
        var (su, ss) = ProcCpu.ReadSplit("self");
        return new Snapshot(Stopwatch.GetTimestamp(), ops, bytes, errors, refills, u, s, su + ss, ProcCpu.ReadMachineBusy());
    }
}

internal readonly record struct Measurement(double Seconds, long Ops, long Bytes, long Errors, long Refills,
    TimeSpan ServerUser, TimeSpan ServerSystem, TimeSpan Generator, TimeSpan Machine)
{
    public static Measurement Between(in Snapshot a, in Snapshot b) => new(
        Stopwatch.GetElapsedTime(a.Timestamp, b.Timestamp).TotalSeconds, b.Ops - a.Ops, b.Bytes - a.Bytes,
        b.Errors - a.Errors, b.Refills - a.Refills, b.ServerUser - a.ServerUser, b.ServerSystem - a.ServerSystem,
        b.Self - a.Self, b.Machine - a.Machine);

    public double OpsPerSecond => Ops / Seconds;
    public double MegabytesPerSecond => Bytes / Seconds / 1e6;
    public TimeSpan ServerCpu => ServerUser + ServerSystem;
    public double ServerCores => ServerCpu.TotalSeconds / Seconds;
    public double GeneratorCores => Generator.TotalSeconds / Seconds;
    /// <summary>Busy CPU of everything else on the machine (other users' builds and tests): noise.</summary>
    public double OtherCores => Math.Max(0, (Machine - ServerCpu - Generator).TotalSeconds / Seconds);
    public double ServerMicrosPerOp => Ops == 0 ? double.NaN : ServerCpu.TotalMicroseconds / Ops;
    public double ServerSystemShare => ServerCpu == TimeSpan.Zero ? 0 : ServerSystem / ServerCpu;
}

/// <summary>
/// The load: one thread (pinned to its own core by the caller), raw UDP sockets watched by epoll,
/// a closed loop with a fixed number of datagrams in flight per socket, pooled pinned buffers,
/// no allocation and no exception per datagram. A socket whose datagrams were lost (no answer for
/// 100 ms) gets its window refilled, and that is counted.
/// </summary>
internal static unsafe class LoadGenerator
{
    private const int BufferLength = 2048;
    private static readonly long StallTicks = Stopwatch.Frequency / 10;

    /// <summary>Unauthenticated Binding requests from <paramref name="socketCount"/> sockets; an op is one success response.</summary>
    public static Measurement RunStun(IPEndPoint server, int socketCount, int window, TimeSpan warmup, TimeSpan duration, int serverPid)
    {
        var sockets = new Socket[socketCount];
        var requests = new byte[socketCount][];
        var inflight = new int[socketCount];
        var received = new long[socketCount];
        var seen = new long[socketCount];
        int requestLength = 0;
        using var epoll = new Native.Epoll(64);
        try
        {
            for (int i = 0; i < socketCount; i++)
            {
                sockets[i] = Connect(server);
                epoll.Add((int)sockets[i].Handle, (ulong)i);
                // 44 bytes: a response (XOR-MAPPED-ADDRESS, 32 bytes) is never larger than the request,
                // so no server holds it back as an amplification risk.
                requests[i] = GC.AllocateArray<byte>(64, pinned: true);
                var w = new StunMessageWriter(requests[i], StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
                w.AddSoftware("PeerNet.Bench STUN");
                requestLength = w.Length;
            }

            var buffer = GC.AllocateArray<byte>(BufferLength, pinned: true);
            long ops = 0, errors = 0, refills = 0, seq = 0;
            for (int i = 0; i < socketCount; i++) Refill(i);

            long start = Stopwatch.GetTimestamp();
            long measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            long measureTo = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            long nextStallCheck = start + StallTicks;
            Snapshot first = default;
            bool measuring = false;
            fixed (byte* buf = buffer)
            {
                while (true)
                {
                    int n = epoll.Wait(5);
                    for (int e = 0; e < n; e++)
                    {
                        int i = (int)epoll.Tag(e);
                        int fd = (int)sockets[i].Handle;
                        nint r;
                        while ((r = Native.recv(fd, buf, BufferLength, Native.MSG_DONTWAIT)) > 0)
                        {
                            if (r >= StunMessage.HeaderLength && buf[0] == 0x01 && buf[1] == 0x01) ops++;
                            else errors++;
                            received[i]++;
                            if (inflight[i] > 0) inflight[i]--;
                        }
                        Refill(i);
                    }

                    long now = Stopwatch.GetTimestamp();
                    if (now >= nextStallCheck)
                    {
                        nextStallCheck = now + StallTicks;
                        for (int i = 0; i < socketCount; i++)
                        {
                            if (received[i] == seen[i] && inflight[i] > 0) { inflight[i] = 0; refills++; Refill(i); }
                            seen[i] = received[i];
                        }
                    }
                    if (!measuring && now >= measureFrom)
                    {
                        first = Snapshot.Take(serverPid, ops, ops * requestLength, errors, refills);
                        measuring = true;
                    }
                    else if (measuring && now >= measureTo)
                    {
                        return Measurement.Between(first, Snapshot.Take(serverPid, ops, ops * requestLength, errors, refills));
                    }
                }
            }

            void Refill(int i)
            {
                int fd = (int)sockets[i].Handle;
                fixed (byte* req = requests[i])
                {
                    while (inflight[i] < window)
                    {
                        *(long*)(req + 8) = ++seq;   // a fresh transaction id per request
                        if (Native.send(fd, req, requestLength, Native.MSG_DONTWAIT) < 0) break;
                        inflight[i]++;
                    }
                }
            }
        }
        finally
        {
            foreach (var s in sockets) s?.Dispose();
        }
    }

    /// <summary>One allocation: its client socket (to the server) and its echo sink (the peer, connected to the relayed address).</summary>
    public sealed class Allocation(Socket client, Socket sink)
    {
        public Socket Client { get; } = client;
        public Socket Sink { get; } = sink;
    }

    /// <summary>Allocates <paramref name="count"/> relays, each with a permission and channel 0x4000 toward its own sink.</summary>
    public static Allocation[] Allocate(IPEndPoint server, int count, IReadOnlyList<(string User, string Password)> users)
    {
        var result = new List<Allocation>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var client = Connect(server);
                var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                result.Add(new Allocation(client, sink));
                sink.ReceiveBufferSize = 1 << 20;
                sink.SendBufferSize = 1 << 20;
                sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var (user, password) = users[i % users.Count];
                var turn = new TurnClient(client, user, password);
                var relayed = turn.Allocate();
                var peer = (IPEndPoint)sink.LocalEndPoint!;
                turn.CreatePermission(peer);
                turn.ChannelBind(0x4000, peer);
                sink.Connect(relayed);   // the sink hears only its relay, and echoes to it
            }
            return [.. result];
        }
        catch
        {
            foreach (var a in result) { a.Client.Dispose(); a.Sink.Dispose(); }
            throw;
        }
    }

    /// <summary>
    /// ChannelData with <paramref name="payload"/> bytes from every client, relayed to its sink,
    /// echoed back to the relay and relayed to the client again; an op is one datagram the server
    /// relayed (either direction), bytes are the payload bytes relayed.
    /// </summary>
    public static Measurement RunRelay(Allocation[] allocations, int payload, int window, TimeSpan warmup, TimeSpan duration, int serverPid)
    {
        int count = allocations.Length;
        var inflight = new int[count];
        var returned = new long[count];
        var seen = new long[count];
        var clientFd = new int[count];
        var sinkFd = new int[count];
        using var epoll = new Native.Epoll(256);
        for (int i = 0; i < count; i++)
        {
            clientFd[i] = (int)allocations[i].Client.Handle;
            sinkFd[i] = (int)allocations[i].Sink.Handle;
            epoll.Add(clientFd[i], (ulong)i << 1);
            epoll.Add(sinkFd[i], ((ulong)i << 1) | 1);
        }

        var message = GC.AllocateArray<byte>(ChannelData.HeaderLength + payload, pinned: true);
        for (int b = 0; b < payload; b++) message[ChannelData.HeaderLength + b] = (byte)(b * 7 + 1);
        ChannelData.TryWriteHeader(message, 0x4000, payload, padded: false, out _);
        int messageLength = message.Length;
        ushort expectedLength = (ushort)payload;

        var buffer = GC.AllocateArray<byte>(BufferLength, pinned: true);
        long ops = 0, bytes = 0, errors = 0, refills = 0;
        fixed (byte* msg = message)
        fixed (byte* buf = buffer)
        {
            for (int i = 0; i < count; i++) Refill(i, msg);

            long start = Stopwatch.GetTimestamp();
            long measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            long measureTo = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            long nextStallCheck = start + StallTicks;
            Snapshot first = default;
            bool measuring = false;
            while (true)
            {
                int n = epoll.Wait(5);
                for (int e = 0; e < n; e++)
                {
                    ulong tag = epoll.Tag(e);
                    int i = (int)(tag >> 1);
                    nint r;
                    if ((tag & 1) == 0)
                    {
                        // Back at the client: ChannelData on channel 0x4000 with the whole payload.
                        while ((r = Native.recv(clientFd[i], buf, BufferLength, Native.MSG_DONTWAIT)) > 0)
                        {
                            if (r == messageLength && buf[0] == 0x40 && buf[1] == 0x00 && BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(buf + 2, 2)) == expectedLength)
                            {
                                ops++;
                                bytes += payload;
                            }
                            else errors++;
                            returned[i]++;
                            if (inflight[i] > 0) inflight[i]--;
                        }
                        Refill(i, msg);
                    }
                    else
                    {
                        // At the peer: the bare payload, echoed to the relayed address.
                        while ((r = Native.recv(sinkFd[i], buf, BufferLength, Native.MSG_DONTWAIT)) > 0)
                        {
                            if (r == payload) { ops++; bytes += payload; }
                            else errors++;
                            Native.send(sinkFd[i], buf, r, Native.MSG_DONTWAIT);
                        }
                    }
                }

                long now = Stopwatch.GetTimestamp();
                if (now >= nextStallCheck)
                {
                    nextStallCheck = now + StallTicks;
                    for (int i = 0; i < count; i++)
                    {
                        if (returned[i] == seen[i] && inflight[i] > 0) { inflight[i] = 0; refills++; Refill(i, msg); }
                        seen[i] = returned[i];
                    }
                }
                if (!measuring && now >= measureFrom)
                {
                    first = Snapshot.Take(serverPid, ops, bytes, errors, refills);
                    measuring = true;
                }
                else if (measuring && now >= measureTo)
                {
                    return Measurement.Between(first, Snapshot.Take(serverPid, ops, bytes, errors, refills));
                }
            }
        }

        void Refill(int i, byte* msg)
        {
            while (inflight[i] < window)
            {
                if (Native.send(clientFd[i], msg, messageLength, Native.MSG_DONTWAIT) < 0) break;
                inflight[i]++;
            }
        }
    }

    private static Socket Connect(IPEndPoint server)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            s.ReceiveBufferSize = 1 << 20;
            s.SendBufferSize = 1 << 20;
            s.ReceiveTimeout = 1000;
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            s.Connect(server);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }
}
