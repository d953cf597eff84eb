using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;

namespace PeerNet.Bench.Signaling;

/// <summary>One simulated peer: one WebSocket, one receive loop, a send pump that never overlaps
/// itself, and a pre-built signal message rewritten in place before each send.</summary>
public sealed class BenchClient(LoadGenerator run, int index)
{
    public readonly LoadGenerator Run = run;
    public readonly int Index = index;
    public WebSocket Socket = null!;
    public string Id = "";
    public int Target = -1;        // index of the peer this one signals
    public int Predecessor = -1;   // index of the peer that signals this one
    public byte[] ReceiveBuffer = new byte[512];
    public byte[] Message = [];
    public int SeqOffset, TsOffset;

    public volatile bool Connected;
    public volatile bool Closed;
    public int Pending;            // send requests not yet served by the pump
    public int HeartbeatDue;
    public int Outstanding;        // signals sent and not yet received by the target
    public long Seq;
    // Written only by this client's pump or receive loop: no atomics needed.
    public long Sent, Received, ReceivedMeasured, Heartbeats, Pongs, Errors;

    public void RequestSend()
    {
        if (Interlocked.Increment(ref Pending) == 1) _ = PumpAsync();
    }

    private async Task PumpAsync()
    {
        try
        {
            do
            {
                if (Closed) { Volatile.Write(ref Pending, 0); return; }
                if (Interlocked.Exchange(ref HeartbeatDue, 0) != 0)
                {
                    Heartbeats++;
                    await Socket.SendAsync(Run.Protocol.Heartbeat, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
                }
                else if (Run.Sending)
                {
                    long seq = ++Seq;
                    SignalPayload.Write(Message.AsSpan(SeqOffset, SignalPayload.SeqDigits), seq % 10_000_000_000);
                    SignalPayload.Write(Message.AsSpan(TsOffset, SignalPayload.TsDigits), Stopwatch.GetTimestamp() - Run.EpochTicks);
                    Interlocked.Increment(ref Outstanding);
                    Sent++;
                    await Socket.SendAsync(Message, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
                }
            }
            while (Interlocked.Decrement(ref Pending) > 0);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            Run.NoteDrop(this, "send: " + e.Message);
        }
    }
}

/// <summary>
/// The load generator for one server run: connects N clients with bounded concurrency, forms rooms,
/// then makes every client signal the next member of its room (a ring per room), either closed-loop
/// with a bounded window of outstanding signals per client ("as fast as possible") or at a fixed
/// aggregate rate, and measures what arrives.
/// </summary>
public sealed class LoadGenerator
{
    private readonly BenchClient[] _clients;
    private readonly IPEndPoint _server;
    private readonly Func<int, IPAddress> _sourceAddress;
    private readonly BenchOptions _options;
    private readonly ConcurrentDictionary<string, long> _errorCodes = new();
    private readonly ConcurrentDictionary<string, long> _dropReasons = new();
    private readonly ConcurrentDictionary<string, long> _connectFailures = new();
    private readonly double _ticksPerMicro = Stopwatch.Frequency / 1e6;
    private volatile bool _measuring;
    private volatile bool _stopping;
    private int _connected, _drops, _misrouted, _skipped;

    public LoadGenerator(SignalingProtocol protocol, IPEndPoint server, Func<int, IPAddress> sourceAddress,
        int clients, BenchOptions options)
    {
        Protocol = protocol;
        _server = server;
        _sourceAddress = sourceAddress;
        _options = options;
        _clients = new BenchClient[clients];
        for (int i = 0; i < clients; i++) _clients[i] = new BenchClient(this, i);
        int room = options.RoomSize;
        for (int i = 0; i < clients; i++)
        {
            int first = i / room * room, size = Math.Min(room, clients - first);
            _clients[i].Target = first + (i - first + 1) % size;
            _clients[_clients[i].Target].Predecessor = i;
        }
    }

    public SignalingProtocol Protocol { get; }
    public long EpochTicks { get; } = Stopwatch.GetTimestamp();
    public volatile bool Sending;
    public LatencyHistogram Latency { get; } = new();
    public int Connected => Volatile.Read(ref _connected);
    public int Drops => Volatile.Read(ref _drops);
    public int Misrouted => Volatile.Read(ref _misrouted);
    public long Skipped => Volatile.Read(ref _skipped);
    public IReadOnlyDictionary<string, long> ErrorCodes => _errorCodes;
    public IReadOnlyDictionary<string, long> DropReasons => _dropReasons;
    public IReadOnlyDictionary<string, long> ConnectFailures => _connectFailures;

    public static string RoomName(int index, int roomSize) => $"bench-{index / roomSize}";

    /// <summary>Opens every client (upgrade, greeting, join) with at most
    /// <see cref="BenchOptions.ConnectConcurrency"/> in flight; starts each one's receive loop.</summary>
    public async Task ConnectAllAsync(Action<int> progress, CancellationToken ct)
    {
        int next = -1;
        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < _clients.Length && !ct.IsCancellationRequested)
            {
                var c = _clients[i];
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_options.ConnectTimeout);
                try
                {
                    c.Socket = await RawWebSocket.ConnectAsync(_sourceAddress(i), _server, Protocol.PathAndQuery(c), timeout.Token).ConfigureAwait(false);
                    await Protocol.HandshakeAsync(c, RoomName(i, _options.RoomSize), timeout.Token).ConfigureAwait(false);
                    c.Connected = true;
                    int n = Interlocked.Increment(ref _connected);
                    if (n % 5000 == 0) progress(n);
                    _ = ReceiveLoopAsync(c);
                }
                catch (Exception e)
                {
                    c.Socket?.Abort();
                    c.Closed = true;
                    string reason = e is OperationCanceledException ? "timeout" : e.GetType().Name + ": " + e.Message;
                    _connectFailures.AddOrUpdate(Trim(reason), 1, (_, v) => v + 1);
                }
            }
        }
        var workers = new Task[Math.Min(_options.ConnectConcurrency, _clients.Length)];
        for (int w = 0; w < workers.Length; w++) workers[w] = Task.Run(Worker, CancellationToken.None);
        await Task.WhenAll(workers).ConfigureAwait(false);

        // Every target's id is known now: build each client's signal message.
        foreach (var c in _clients)
        {
            var target = _clients[c.Target];
            c.Message = Protocol.SignalMessage(target.Id, SignalPayload.Create(c.Index));
            (c.SeqOffset, c.TsOffset) = SignalPayload.Offsets(c.Message);
        }
    }

    private async Task ReceiveLoopAsync(BenchClient c)
    {
        string reason = "closed";
        try
        {
            while (true)
            {
                int n = 0;
                ValueWebSocketReceiveResult r;
                while (true)
                {
                    if (n == c.ReceiveBuffer.Length) Array.Resize(ref c.ReceiveBuffer, n * 2);
                    r = await c.Socket.ReceiveAsync(c.ReceiveBuffer.AsMemory(n), CancellationToken.None).ConfigureAwait(false);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        reason = $"server closed: {c.Socket.CloseStatus} {c.Socket.CloseStatusDescription}";
                        return;
                    }
                    n += r.Count;
                    if (r.EndOfMessage) break;
                }
                OnMessage(c, n);
            }
        }
        catch (Exception e)
        {
            reason = "receive: " + e.Message;
        }
        finally
        {
            NoteDrop(c, reason);
        }
    }

    private void OnMessage(BenchClient c, int length)
    {
        ReadOnlySpan<byte> m = c.ReceiveBuffer.AsSpan(0, length);
        switch (Protocol.Classify(m))
        {
            case MessageKind.Signal:
                long now = Stopwatch.GetTimestamp() - EpochTicks;
                if (!SignalPayload.TryRead(m, out int src, out _, out long ts) || (uint)src >= (uint)_clients.Length)
                {
                    Interlocked.Increment(ref _misrouted);
                    return;
                }
                c.Received++;
                if (src != c.Predecessor) Interlocked.Increment(ref _misrouted);
                if (_measuring)
                {
                    c.ReceivedMeasured++;
                    Latency.Record((long)((now - ts) / _ticksPerMicro));
                }
                var sender = _clients[src];
                Interlocked.Decrement(ref sender.Outstanding);
                if (_options.Rate is null && Sending) sender.RequestSend();
                break;
            case MessageKind.Error:
                // A refused signal (rate-limited, unknown-peer, ...) comes back to its sender.
                c.Errors++;
                _errorCodes.AddOrUpdate(Protocol.ErrorCode(m), 1, (_, v) => v + 1);
                Interlocked.Decrement(ref c.Outstanding);
                if (_options.Rate is null && Sending) c.RequestSend();
                break;
            case MessageKind.Pong:
                c.Pongs++;
                break;
        }
    }

    internal void NoteDrop(BenchClient c, string reason)
    {
        if (c.Closed) return;
        c.Closed = true;
        if (_stopping) return;
        Interlocked.Increment(ref _drops);
        _dropReasons.AddOrUpdate(Trim(reason), 1, (_, v) => v + 1);
    }

    /// <summary>Heartbeats: each connected client sends one every <see cref="BenchOptions.Heartbeat"/>,
    /// spread evenly (a slice of the clients each second).</summary>
    public async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        int slices = Math.Max(1, (int)_options.Heartbeat.TotalSeconds);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            for (long tick = 0; await timer.WaitForNextTickAsync(ct).ConfigureAwait(false); tick++)
            {
                for (int i = (int)(tick % slices); i < _clients.Length; i += slices)
                {
                    var c = _clients[i];
                    if (!c.Connected || c.Closed) continue;
                    Volatile.Write(ref c.HeartbeatDue, 1);
                    c.RequestSend();
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Starts the signals: closed loop (each client keeps <see cref="BenchOptions.Window"/>
    /// outstanding) or paced at <see cref="BenchOptions.Rate"/> signals/s in aggregate. Returns at
    /// once; the returned task (the pacer) ends when sending stops.</summary>
    public Task StartSending(CancellationToken ct)
    {
        Sending = true;
        if (_options.Rate is { } rate) return Task.Run(() => PaceAsync(rate, ct), CancellationToken.None);
        for (int start = 0; start < _clients.Length; start += 256)
        {
            int s = start;
            ThreadPool.UnsafeQueueUserWorkItem(_ =>
            {
                for (int i = s; i < Math.Min(s + 256, _clients.Length); i++)
                {
                    var c = _clients[i];
                    if (!c.Connected || c.Closed) continue;
                    for (int w = 0; w < _options.Window; w++) c.RequestSend();
                }
            }, null);
        }
        return Task.CompletedTask;
    }

    private async Task PaceAsync(double rate, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        long issued = 0;
        int next = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        try
        {
            while (Sending && await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                long due = (long)(rate * clock.Elapsed.TotalSeconds) - issued;
                while (due > 0)
                {
                    int count = (int)Math.Min(due, 256);
                    int start = next;
                    next = (int)((next + (long)count) % _clients.Length);
                    issued += count;
                    due -= count;
                    ThreadPool.UnsafeQueueUserWorkItem(_ =>
                    {
                        for (int k = 0; k < count; k++)
                        {
                            var c = _clients[(start + k) % _clients.Length];
                            if (!c.Connected || c.Closed
                                || Volatile.Read(ref c.Outstanding) + Volatile.Read(ref c.Pending) >= _options.Window)
                            {
                                Interlocked.Increment(ref _skipped);
                                continue;
                            }
                            c.RequestSend();
                        }
                    }, null);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    public void StartMeasuring()
    {
        Latency.Reset();
        foreach (var c in _clients) c.ReceivedMeasured = 0;
        _measuring = true;
    }

    public void StopMeasuring() => _measuring = false;

    public long ReceivedMeasured => _clients.Sum(c => c.ReceivedMeasured);
    public long Sent => _clients.Sum(c => c.Sent);
    public long Received => _clients.Sum(c => c.Received);
    public long Errors => _clients.Sum(c => c.Errors);
    public long Outstanding => _clients.Sum(c => (long)Math.Max(0, Volatile.Read(ref c.Outstanding)));
    public int Held => _clients.Count(c => c.Connected && !c.Closed && c.Socket.State == WebSocketState.Open);
    public int ClientsReceiving => _clients.Count(c => c.ReceivedMeasured > 0);

    /// <summary>Stops signalling and waits (bounded) until every signal sent has arrived or errored.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        Sending = false;
        var clock = Stopwatch.StartNew();
        while (Outstanding > 0 && clock.Elapsed < timeout) await Task.Delay(100).ConfigureAwait(false);
    }

    /// <summary>Closes every client at once (RST: nothing lingers in TIME_WAIT).</summary>
    public void AbortAll()
    {
        _stopping = true;
        Sending = false;
        foreach (var c in _clients)
        {
            c.Closed = true;
            c.Socket?.Abort();
            c.Socket?.Dispose();
        }
    }

    private static string Trim(string s) => s.Length > 160 ? s[..160] : s;
}
