using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using PeerNet.Dtls;
using PeerNet.Rtc;

namespace PeerNet.Bench.Connections;

/// <summary>What one server did under the load.</summary>
internal sealed record ConnectionResult
{
    public required string Server { get; init; }
    public int Asked { get; init; }
    public int Opened { get; init; }
    public int Failed { get; init; }
    public bool OpeningTimedOut { get; init; }
    public double OpenSeconds { get; init; }
    public long BaselineManaged { get; init; }
    public long IdleManaged { get; init; }
    public long BaselineRss { get; init; }
    public long IdleRss { get; init; }
    public int IdleThreads { get; init; }
    public int ServerConnections { get; init; }
    public int ServerOpenChannels { get; init; }
    public int UdpPorts { get; init; }
    public long Echoed { get; init; }
    public long Lost { get; init; }
    public long Mismatched { get; init; }
    public double EchoSeconds { get; init; }
    public double RttP50Ms { get; init; }
    public double RttP99Ms { get; init; }
    public double ServerCpuMsDuringEcho { get; init; }
    public double ServerCpuMsOpening { get; init; }
    public double CloseMs { get; init; }
    public long AfterCloseRss { get; init; }
    public long AfterCloseManaged { get; init; }
    public bool HasManagedHeap { get; init; }

    public double ManagedPerConnection => Opened == 0 ? 0 : (IdleManaged - BaselineManaged) / (double)Opened;
    public double RssPerConnection => Opened == 0 ? 0 : (IdleRss - BaselineRss) / (double)Opened;
    public double EchoesPerSecond => EchoSeconds == 0 ? 0 : Echoed / EchoSeconds;
    public double HandshakesPerSecond => OpenSeconds == 0 ? 0 : Opened / OpenSeconds;
    public double ServerCpuMsPerHandshake => Opened == 0 ? 0 : ServerCpuMsOpening / Opened;
    public double ServerCpuMsPer1000Echoes => Echoed == 0 ? 0 : ServerCpuMsDuringEcho * 1000 / Echoed;
}

/// <summary>
/// The client side (this process): opens N peer connections of its own (own UDP sockets on 127.0.0.1) to a
/// server process, a few handshakes at a time, each with one data channel; measures the server at rest
/// before and after; then every channel echoes K messages in rounds over all N; then the server closes all.
/// </summary>
internal sealed class ConnectionLoad(IPEndPoint server, int serverPid, Action<string> log)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(60);
    private readonly RtcConfiguration _configuration = new()
    {
        AllowedLocalAddresses = [IPAddress.Loopback],
        IncludeLoopbackCandidates = true,
        Certificates = [RtcCertificate.Generate()],
    };

    public async Task<ConnectionResult> RunAsync(string name, int count, int concurrency, int rounds, int size, TimeSpan openTimeout, bool hasManagedHeap)
    {
        // Warm-up: the server's code paths run once (JIT, imports, pools) before the baseline.
        log($"{name}: warm-up (8 connections)");
        var warm = await OpenAsync(8, concurrency, TimeSpan.FromSeconds(60));
        await EchoAsync(warm.Sessions, 3, size);
        await RequestAsync(new JsonObject { ["type"] = "closeAll" });
        await CloseClientsAsync(warm.Sessions);
        await Task.Delay(1000);
        var baseline = await RequestAsync(new JsonObject { ["type"] = "stats" });

        log($"{name}: opening {count} connections, {concurrency} handshakes at a time");
        var cpuBeforeOpening = CpuMs(serverPid);
        var clock = Stopwatch.StartNew();
        var opened = await OpenAsync(count, concurrency, openTimeout);
        var openSeconds = clock.Elapsed.TotalSeconds;
        var cpuOpening = CpuMs(serverPid) - cpuBeforeOpening;
        log($"{name}: {opened.Sessions.Count} open in {openSeconds:F1} s ({opened.Failed} failed{(opened.TimedOut ? ", stopped at the time limit" : "")})");

        await Task.Delay(3000); // at rest: handshake threads gone, consent and heartbeats only
        var idle = await RequestAsync(new JsonObject { ["type"] = "stats" });
        log($"{name}: at rest with {idle.GetProperty("connections").GetInt32()} connections: RSS {idle.GetProperty("rssBytes").GetInt64() >> 20} MiB, {idle.GetProperty("threads").GetInt32()} threads");

        var cpuBefore = CpuMs(serverPid);
        var echo = await EchoAsync(opened.Sessions, rounds, size);
        var cpuAfter = CpuMs(serverPid);
        log($"{name}: {echo.Echoed} echoes in {echo.Seconds:F2} s, p50 {echo.P50:F2} ms, p99 {echo.P99:F2} ms");

        var closed = await RequestAsync(new JsonObject { ["type"] = "closeAll" });
        await CloseClientsAsync(opened.Sessions);
        await Task.Delay(1000);
        var after = await RequestAsync(new JsonObject { ["type"] = "stats" });

        return new ConnectionResult
        {
            Server = name,
            Asked = count,
            Opened = opened.Sessions.Count,
            Failed = opened.Failed,
            OpeningTimedOut = opened.TimedOut,
            OpenSeconds = openSeconds,
            ServerCpuMsOpening = cpuOpening,
            HasManagedHeap = hasManagedHeap,
            BaselineManaged = Long(baseline, "managedBytes"),
            IdleManaged = Long(idle, "managedBytes"),
            BaselineRss = Long(baseline, "rssBytes"),
            IdleRss = Long(idle, "rssBytes"),
            IdleThreads = (int)Long(idle, "threads"),
            ServerConnections = (int)Long(idle, "connections"),
            ServerOpenChannels = (int)Long(idle, "openChannels"),
            UdpPorts = (int)Long(idle, "udpPorts"),
            Echoed = echo.Echoed,
            Lost = echo.Lost,
            Mismatched = echo.Mismatched,
            EchoSeconds = echo.Seconds,
            RttP50Ms = echo.P50,
            RttP99Ms = echo.P99,
            ServerCpuMsDuringEcho = cpuAfter - cpuBefore,
            CloseMs = closed.TryGetProperty("ms", out var ms) ? ms.GetDouble() : 0,
            AfterCloseRss = Long(after, "rssBytes"),
            AfterCloseManaged = Long(after, "managedBytes"),
        };
    }

    public async Task QuitAsync()
    {
        try
        {
            await RequestAsync(new JsonObject { ["type"] = "quit" });
        }
        catch (IOException)
        {
            // It went before answering: gone all the same.
        }
    }

    private static long Long(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? (long)v.GetDouble() : 0;

    private async Task<JsonElement> RequestAsync(JsonObject request)
    {
        var reply = await SignalWire.RequestAsync(server, request, RequestTimeout);
        if (reply.TryGetProperty("error", out var error)) throw new InvalidOperationException($"server: {error.GetString()}");
        return reply;
    }

    // ---- Opening ----

    private sealed class Session(RtcPeerConnection connection, RtcDataChannel channel)
    {
        public RtcPeerConnection Connection { get; } = connection;
        public RtcDataChannel Channel { get; } = channel;
        public long SentAt;
        public int Index;
    }

    private async Task<(List<Session> Sessions, int Failed, bool TimedOut)> OpenAsync(int count, int concurrency, TimeSpan timeLimit)
    {
        var sessions = new List<Session>();
        var failed = 0;
        var firstError = "";
        using var gate = new SemaphoreSlim(concurrency);
        using var stop = new CancellationTokenSource(timeLimit);
        var tasks = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            try
            {
                await gate.WaitAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var session = await OpenOneAsync();
                    lock (sessions) sessions.Add(session);
                }
                catch (Exception e)
                {
                    if (Interlocked.Increment(ref failed) == 1) firstError = e.Message;
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(tasks);
        if (failed > 0) log($"  {failed} handshakes failed; the first: {firstError}");
        for (var i = 0; i < sessions.Count; i++) sessions[i].Index = i;
        return (sessions, failed, stop.IsCancellationRequested);
    }

    private async Task<Session> OpenOneAsync()
    {
        var pc = new RtcPeerConnection(_configuration);
        try
        {
            var channel = pc.CreateDataChannel("echo");
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            channel.Open += (_, _) => open.TrySetResult();
            pc.ConnectionStateChange += (_, state) =>
            {
                if (state == RtcPeerConnectionState.Failed) open.TrySetException(new InvalidOperationException(pc.Failure?.Message ?? "failed"));
            };
            var candidates = new List<string>();
            var gathered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            pc.IceCandidate += (_, c) =>
            {
                if (c is null || c.IsEndOfCandidates) gathered.TrySetResult();
                else lock (candidates) candidates.Add(c.Candidate);
            };
            var offer = await pc.CreateOfferAsync();
            await pc.SetLocalDescriptionAsync(offer);
            await gathered.Task.WaitAsync(HandshakeTimeout);
            string sdp;
            lock (candidates) sdp = SignalWire.WithCandidates(offer.Sdp, candidates);
            var answer = await RequestAsync(new JsonObject { ["type"] = "offer", ["sdp"] = sdp });
            await pc.SetRemoteDescriptionAsync(new RtcSessionDescriptionInit(RtcSdpType.Answer, answer.GetProperty("sdp").GetString()!));
            await open.Task.WaitAsync(HandshakeTimeout);
            return new Session(pc, channel);
        }
        catch
        {
            await pc.DisposeAsync();
            throw;
        }
    }

    private static async Task CloseClientsAsync(List<Session> sessions)
    {
        foreach (var s in sessions) await s.Connection.DisposeAsync();
    }

    // ---- Echo rounds ----

    private sealed record EchoResult(long Echoed, long Lost, long Mismatched, double Seconds, double P50, double P99);

    private static async Task<EchoResult> EchoAsync(List<Session> sessions, int rounds, int size)
    {
        if (sessions.Count == 0) return new EchoResult(0, 0, 0, 0, 0, 0);
        var payload = new byte[size];
        new Random(1).NextBytes(payload);
        var rtts = new double[rounds * sessions.Count];
        var filled = new bool[rtts.Length];
        var round = 0;
        var remaining = 0;
        long mismatched = 0, echoed = 0;
        TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlers = new List<(RtcDataChannel, EventHandler<RtcDataChannelMessageEventArgs>)>();
        foreach (var s in sessions)
        {
            EventHandler<RtcDataChannelMessageEventArgs> handler = (_, e) =>
            {
                var now = Stopwatch.GetTimestamp();
                if (!e.Data.AsSpan().SequenceEqual(payload)) Interlocked.Increment(ref mismatched);
                var slot = (Volatile.Read(ref round) * sessions.Count) + s.Index;
                if (slot < rtts.Length && !filled[slot])
                {
                    filled[slot] = true;
                    rtts[slot] = Stopwatch.GetElapsedTime(Volatile.Read(ref s.SentAt), now).TotalMilliseconds;
                }
                Interlocked.Increment(ref echoed);
                if (Interlocked.Decrement(ref remaining) == 0) done.TrySetResult();
            };
            s.Channel.Message += handler;
            handlers.Add((s.Channel, handler));
        }

        long lost = 0;
        var clock = Stopwatch.StartNew();
        for (var r = 0; r < rounds; r++)
        {
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref round, r);
            Volatile.Write(ref remaining, sessions.Count);
            foreach (var s in sessions)
            {
                Volatile.Write(ref s.SentAt, Stopwatch.GetTimestamp());
                try
                {
                    s.Channel.Send(payload);
                }
                catch (InvalidOperationException)
                {
                    if (Interlocked.Decrement(ref remaining) == 0) done.TrySetResult();
                }
            }

            try
            {
                await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                lost += Volatile.Read(ref remaining);
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var (channel, handler) in handlers) channel.Message -= handler;
        var measured = rtts.Where((_, i) => filled[i]).Order().ToArray();
        double Percentile(double p) => measured.Length == 0 ? 0 : measured[Math.Min(measured.Length - 1, (int)(p * measured.Length))];
        return new EchoResult(Interlocked.Read(ref echoed), lost, mismatched, seconds, Percentile(0.50), Percentile(0.99));
    }

    /// <summary>utime + stime of a process in milliseconds, from /proc/PID/stat.</summary>
    private static double CpuMs(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ", field 3 is state; utime and stime are fields 14 and 15 (1-based), here 11 and 12.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks * 1000.0 / 100; // USER_HZ is 100 on Linux
    }
}
