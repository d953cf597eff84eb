using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// Runs a <see cref="TurnServer"/> on real sockets: one UDP socket per listening endpoint (plus the
/// RFC 5780 alternates), TCP and TLS listeners with one read loop and one write loop per
/// connection, one UDP socket per relayed address, and a one-second timer. On Linux a fixed number
/// of threads (<see cref="TurnServerOptions.UdpIoThreads"/>) serve every UDP socket with epoll and
/// batched system calls (<see cref="TurnUdpEventLoop"/>); elsewhere each UDP socket has an
/// asynchronous receive loop. The loops share the server behind one lock; each has its own
/// buffers, so the hot path does not allocate and no thread is blocked per allocation.
/// </summary>
/// <example>
/// <code>
/// await using var turn = new TurnServerHost(new TurnServerOptions
/// {
///     UdpEndPoints = [new IPEndPoint(IPAddress.Any, 3478)],
///     TcpEndPoints = [new IPEndPoint(IPAddress.Any, 3478)],
///     AuthSecret = secret,
/// });
/// await turn.StartAsync(cancellationToken);
/// </code>
/// </example>
public sealed class TurnServerHost : IAsyncDisposable
{
    private const int MaxBindAttempts = 16;
    private const int MaxUnexpectedLogs = 20;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _anchorUnixMs;
    private readonly long _anchorTimestamp;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<TurnUdpListener> _udp = [];
    private readonly List<TurnUdpListener> _alternates = [];
    private readonly Dictionary<StunAddress, TurnUdpListener> _udpByAddress = [];
    private readonly List<(Socket Socket, IPEndPoint EndPoint, bool Tls)> _streamListeners = [];
    private readonly ConcurrentDictionary<long, TurnStreamConnection> _connections = new();
    private readonly ConcurrentDictionary<string, int> _unexpected = new(StringComparer.Ordinal);
    private readonly List<Task> _loops = [];
    private TurnServer? _server;
    private TurnRelayBinder? _binder;
    private TurnUdpEventLoop[] _udpLoops = [];
    private int _nextUdpLoop;
    private long _nextId;
    private int _state; // 0 new, 1 starting/running, 2 stopped
    private Task? _stopTask;

    /// <summary>Creates a host; nothing is bound until <see cref="StartAsync"/>.</summary>
    /// <param name="options">The configuration (validated by <see cref="StartAsync"/>).</param>
    /// <param name="timeProvider">The clock (tests may pass a fake one); the system clock by default.</param>
    public TurnServerHost(TurnServerOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = options.Logger ?? NullLogger.Instance;
        _anchorUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        _anchorTimestamp = _time.GetTimestamp();
    }

    /// <summary>The configuration.</summary>
    public TurnServerOptions Options { get; }

    /// <summary>The bound UDP endpoints, in the order of <see cref="TurnServerOptions.UdpEndPoints"/> (actual ports when 0 was asked).</summary>
    public IReadOnlyList<IPEndPoint> UdpEndPoints => [.. _udp.Select(l => l.EndPoint)];

    /// <summary>The extra UDP endpoints of RFC 5780 behaviour discovery (primary IP with the alternate port, then the alternate IP with both ports).</summary>
    public IReadOnlyList<IPEndPoint> AlternateUdpEndPoints => [.. _alternates.Select(l => l.EndPoint)];

    /// <summary>The bound TCP endpoints.</summary>
    public IReadOnlyList<IPEndPoint> TcpEndPoints => [.. _streamListeners.Where(l => !l.Tls).Select(l => l.EndPoint)];

    /// <summary>The bound TLS endpoints.</summary>
    public IReadOnlyList<IPEndPoint> TlsEndPoints => [.. _streamListeners.Where(l => l.Tls).Select(l => l.EndPoint)];

    /// <summary>The addresses relay sockets bind to (one per family).</summary>
    public IReadOnlyList<IPAddress> RelayAddresses => _binder?.Addresses ?? [];

    /// <summary>Whether the host is running.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == 1 && _server is not null;

    /// <summary>Open TCP/TLS client connections.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Relay sockets open (allocations' and reserved ones).</summary>
    public int RelaySocketCount => _binder?.LiveCount ?? 0;

    internal Lock Gate { get; } = new();

    internal TurnServer Server => _server ?? throw new InvalidOperationException("The TURN server is not started.");

    internal bool Stopping => _stopping.IsCancellationRequested;

    /// <summary>Milliseconds on a monotonic clock anchored at the Unix time of construction.</summary>
    internal long Now => _anchorUnixMs + (long)_time.GetElapsedTime(_anchorTimestamp).TotalMilliseconds;

    /// <summary>The server's counters.</summary>
    public TurnServerStatistics GetStatistics()
    {
        lock (Gate)
        {
            return Server.GetStatistics();
        }
    }

    /// <summary>
    /// Binds every listening endpoint (port 0 picks a free port: read the actual ones from
    /// <see cref="UdpEndPoints"/>, <see cref="TcpEndPoints"/>, <see cref="TlsEndPoints"/>) and starts serving.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="SocketException">An endpoint could not be bound.</exception>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The TURN server host was already started.");
        }

        try
        {
            Options.Validate();
            if (Options.UdpEndPoints.Count + Options.TcpEndPoints.Count + Options.TlsEndPoints.Count == 0)
            {
                throw new ArgumentException("No listening endpoint configured.", nameof(Options));
            }

            BindUdp();
            foreach (var endPoint in Options.TcpEndPoints)
            {
                BindStream(endPoint, tls: false);
            }

            foreach (var endPoint in Options.TlsEndPoints)
            {
                BindStream(endPoint, tls: true);
            }

            var relayAddresses = Options.RelayAddresses.Count > 0 ? Options.RelayAddresses : DefaultRelayAddresses();
            _binder = new TurnRelayBinder(this, relayAddresses, Options.RelayPortMin, Options.RelayPortMax);
            var server = new TurnServer(Options, _binder);
            if (_alternates.Count == 3)
            {
                server.EnableBehaviorDiscovery(_udp[0].Local, _alternates[2].Local);
                TurnLog.BehaviorDiscovery(_logger, _udp[0].Local.ToString(), _alternates[2].Local.ToString());
            }

            _server = server;
            _udpLoops = CreateUdpLoops();
            var index = 0;
            foreach (var listener in _udp.Concat(_alternates))
            {
                listener.Start(_udpLoops.Length == 0 ? null : _udpLoops[index++ % _udpLoops.Length]);
                _loops.Add(listener.Loop!);
                TurnLog.Listening(_logger, TurnTransport.Udp, listener.EndPoint.ToString());
            }
        }
        catch
        {
            CloseListeners();
            DisposeUdpLoops();
            Volatile.Write(ref _state, 2);
            throw;
        }

        foreach (var (socket, endPoint, tls) in _streamListeners)
        {
            _loops.Add(Task.Run(() => AcceptLoopAsync(socket, endPoint, tls)));
            TurnLog.Listening(_logger, tls ? TurnTransport.Tls : TurnTransport.Tcp, endPoint.ToString());
        }

        _loops.Add(Task.Run(TimerLoopAsync));
        return Task.CompletedTask;
    }

    /// <summary>Stops serving: closes listeners, connections and relay sockets, and waits (bounded) for the loops.</summary>
    public Task StopAsync()
    {
        lock (_loops)
        {
            return _stopTask ??= StopCoreAsync();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task StopCoreAsync()
    {
        Volatile.Write(ref _state, 2);
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var loop in _udpLoops)
        {
            loop.Stop();
        }

        CloseListeners();
        foreach (var connection in _connections.Values)
        {
            connection.Close();
        }

        var loops = _loops.Concat(_connections.Values.Select(c => c.Loop).OfType<Task>()).ToArray();
        await Task.WhenAny(Task.WhenAll(loops), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        if (_server is not null)
        {
            lock (Gate)
            {
                _server.Clear();
            }
        }

        if (_binder is not null)
        {
            await _binder.CloseAllAsync().ConfigureAwait(false);
        }

        DisposeUdpLoops();
    }

    // The batched UDP loops when asked for and possible (Linux on 64-bit x86 or ARM); none otherwise,
    // and the sockets get the portable asynchronous loops.
    private TurnUdpEventLoop[] CreateUdpLoops()
    {
        if (Options.UdpIoThreads == 0 || !TurnUdpEventLoop.IsSupported)
        {
            return [];
        }

        var slotLength = Math.Max(TurnUdpListener.BufferLength, TurnServer.PeerDataOffset + Options.MaxRelayedDatagramSize + 1 + TurnServer.PeerDataTrailer);
        var dispatcher = new TurnUdpDispatcher(this);
        var loops = new List<TurnUdpEventLoop>();
        try
        {
            for (var i = 0; i < Options.UdpIoThreads; i++)
            {
                loops.Add(new TurnUdpEventLoop(dispatcher, $"turn-udp-{i}", slotLength, segmentation: Options.UdpSegmentationOffload));
            }
        }
        catch (Exception e) when (e is SocketException or PlatformNotSupportedException or DllNotFoundException or EntryPointNotFoundException)
        {
            loops.ForEach(l => l.Dispose());
            LogUnexpected(e, "UDP loop setup (using the portable socket loops)");
            return [];
        }

        foreach (var loop in loops)
        {
            loop.Start();
        }

        return [.. loops];
    }

    private void DisposeUdpLoops()
    {
        foreach (var loop in _udpLoops)
        {
            loop.Dispose();
        }
    }

    private void CloseListeners()
    {
        foreach (var listener in _udp.Concat(_alternates))
        {
            listener.Dispose();
        }

        foreach (var (socket, _, _) in _streamListeners)
        {
            socket.Dispose();
        }
    }

    // ---- Binding listeners ----

    private void BindUdp()
    {
        var endPoints = Options.UdpEndPoints;
        var first = 0;
        if (Options.AlternateAddress is { } alternate && endPoints.Count > 0)
        {
            BindBehaviorDiscovery(endPoints[0], alternate);
            first = 1;
        }

        for (var i = first; i < endPoints.Count; i++)
        {
            AddUdp(_udp, TurnUdpListener.Bind(endPoints[i]));
        }
    }

    // RFC 5780: sockets on both IPs × both ports. With ephemeral ports the four binds may collide
    // with other programs; then all are closed and tried again (bounded).
    private void BindBehaviorDiscovery(IPEndPoint primary, IPAddress alternate)
    {
        if (primary.Address.Equals(IPAddress.Any) || primary.Address.Equals(IPAddress.IPv6Any) || primary.AddressFamily != alternate.AddressFamily
            || primary.Address.Equals(alternate))
        {
            throw new ArgumentException("RFC 5780 needs a specific first UDP endpoint and an alternate address of the same family.", nameof(Options));
        }

        for (var attempt = 1; ; attempt++)
        {
            var bound = new List<Socket>();
            try
            {
                var primarySocket = TurnUdpListener.Bind(primary);
                bound.Add(primarySocket);
                var port1 = ((IPEndPoint)primarySocket.LocalEndPoint!).Port;
                var altPortSocket = TurnUdpListener.Bind(new IPEndPoint(primary.Address, Options.AlternatePort));
                bound.Add(altPortSocket);
                var port2 = ((IPEndPoint)altPortSocket.LocalEndPoint!).Port;
                bound.Add(TurnUdpListener.Bind(new IPEndPoint(alternate, port1)));
                bound.Add(TurnUdpListener.Bind(new IPEndPoint(alternate, port2)));
            }
            catch (SocketException) when (attempt < MaxBindAttempts && (primary.Port == 0 || Options.AlternatePort == 0))
            {
                bound.ForEach(s => s.Dispose());
                continue;
            }
            catch
            {
                bound.ForEach(s => s.Dispose());
                throw;
            }

            AddUdp(_udp, bound[0]);
            AddUdp(_alternates, bound[1]);
            AddUdp(_alternates, bound[2]);
            AddUdp(_alternates, bound[3]);
            return;
        }
    }

    private void AddUdp(List<TurnUdpListener> list, Socket socket)
    {
        var listener = new TurnUdpListener(this, NextId(), socket);
        list.Add(listener);
        _udpByAddress.TryAdd(listener.Local, listener);
    }

    private void BindStream(IPEndPoint endPoint, bool tls)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            socket.Bind(endPoint);
            socket.Listen(512);
            _streamListeners.Add((socket, (IPEndPoint)socket.LocalEndPoint!, tls));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Relay addresses when none are configured: the specific listening addresses, and for a wildcard
    // one an address of an interface that is up (not loopback unless nothing else exists).
    private List<IPAddress> DefaultRelayAddresses()
    {
        var result = new List<IPAddress>();
        var bound = _udp.Select(l => l.EndPoint).Concat(_streamListeners.Select(l => l.EndPoint));
        foreach (var endPoint in bound)
        {
            if (result.Any(a => a.AddressFamily == endPoint.AddressFamily))
            {
                continue;
            }

            var address = endPoint.Address;
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            {
                address = InterfaceAddress(endPoint.AddressFamily) ?? (endPoint.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback);
            }

            result.Add(address);
        }

        return result;
    }

    private static IPAddress? InterfaceAddress(AddressFamily family)
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(u => u.Address)
                .FirstOrDefault(a => a.AddressFamily == family && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal);
        }
        catch (NetworkInformationException)
        {
            return null;
        }
    }

    private long NextId() => Interlocked.Increment(ref _nextId);

    // ---- Loops ----

    private async Task AcceptLoopAsync(Socket listener, IPEndPoint endPoint, bool tls)
    {
        var transport = tls ? TurnTransport.Tls : TurnTransport.Tcp;
        while (!Stopping)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (Stopping)
            {
                return;
            }
            catch (SocketException e)
            {
                // E.g. out of file descriptors: say so, and do not spin.
                LogListenerError(transport, endPoint, e);
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            catch (Exception e)
            {
                LogListenerError(transport, endPoint, e);
                return;
            }

            if (_connections.Count >= Options.MaxStreamConnections)
            {
                socket.Dispose();
                continue;
            }

            try
            {
                socket.NoDelay = true;
                var connection = new TurnStreamConnection(this, NextId(), socket, tls);
                _connections[connection.Id] = connection;
                connection.Start();
                if (Stopping)
                {
                    connection.Close();
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                socket.Dispose(); // the client went away before we looked at it
            }
        }
    }

    private async Task TimerLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        var idleMs = (long)Options.StreamIdleTimeout.TotalMilliseconds;
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    var now = Now;
                    lock (Gate)
                    {
                        Server.Tick(now);
                    }

                    foreach (var connection in _connections.Values)
                    {
                        if (now - connection.LastActivity <= idleMs)
                        {
                            continue;
                        }

                        bool allocated;
                        lock (Gate)
                        {
                            allocated = Server.HasAllocation(connection.Endpoint);
                        }

                        if (!allocated)
                        {
                            connection.Close();
                        }
                    }
                }
                catch (Exception e)
                {
                    LogUnexpected(e, "timer");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // ---- Used by the loops ----

    internal TurnUdpListener? FindUdpListener(StunAddress local) => _udpByAddress.GetValueOrDefault(local);

    internal Socket? FindUdpSocket(StunAddress local) => FindUdpListener(local)?.Socket;

    /// <summary>The batched UDP loop a new relay socket joins (round robin); null when the portable loops are in use.</summary>
    internal TurnUdpEventLoop? NextUdpLoop()
    {
        var loops = _udpLoops;
        return loops.Length == 0 ? null : loops[(int)((uint)Interlocked.Increment(ref _nextUdpLoop) % (uint)loops.Length)];
    }

    // The sends on the hot path complete synchronously almost always (UDP): they return at once
    // without an async state machine, and only a send still pending or failed goes through one.

    internal ValueTask SendToPeerAsync(in TurnOutput output, ReadOnlyMemory<byte> payload, TurnSocketAddresses to)
    {
        if (output.Relay is not TurnRelaySocket relay)
        {
            return default;
        }

        if (_udpLoops.Length > 0)
        {
            // The relay socket belongs to a batched loop: a direct non-blocking send, so the socket
            // never joins the socket engine (and its write-readiness events) for this rare path.
            var error = TurnUdpNative.SendOne(relay.Handle, payload.Span, output.Peer);
            if (error != 0)
            {
                lock (Gate)
                {
                    Server.ReportRelaySendFailure(relay.Address, output.Peer, System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(error));
                }
            }

            return default;
        }

        if (to.Get(output.Peer) is not { } address)
        {
            return default;
        }

        ValueTask<int> send;
        try
        {
            send = relay.Socket.SendToAsync(payload, SocketFlags.None, address);
        }
        catch (ObjectDisposedException)
        {
            return default; // the allocation was deleted meanwhile
        }

        if (send.IsCompletedSuccessfully)
        {
            _ = send.Result; // hands the socket's reusable operation back
            return default;
        }

        return AwaitPeerSendAsync(send, relay.Address, output.Peer);
    }

    internal ValueTask SendToClientAsync(in TurnClientEndpoint client, ReadOnlyMemory<byte> data, TurnSocketAddresses to)
    {
        switch (client.Handle)
        {
            case TurnUdpListener listener when to.Get(client.Remote) is { } address:
                return SendDatagramAsync(listener.Socket, data, address);
            case TurnStreamConnection connection:
                connection.TryEnqueue(data.Span); // dropped when the client does not read: like UDP
                break;
        }

        return default;
    }

    /// <summary>Sends a datagram to a client; failures (the client went away) are ignored.</summary>
    internal static ValueTask SendDatagramAsync(Socket socket, ReadOnlyMemory<byte> data, SocketAddress to)
    {
        ValueTask<int> send;
        try
        {
            send = socket.SendToAsync(data, SocketFlags.None, to);
        }
        catch (ObjectDisposedException)
        {
            return default;
        }

        if (send.IsCompletedSuccessfully)
        {
            _ = send.Result;
            return default;
        }

        return AwaitDatagramAsync(send);
    }

    private static async ValueTask AwaitDatagramAsync(ValueTask<int> send)
    {
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // A datagram to a client that went away.
        }
    }

    private async ValueTask AwaitPeerSendAsync(ValueTask<int> send, StunAddress relay, StunAddress peer)
    {
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            // E.g. network unreachable toward this peer: the allocation keeps relaying to the others.
            lock (Gate)
            {
                Server.ReportRelaySendFailure(relay, peer, e.SocketErrorCode.ToString());
            }
        }
        catch (ObjectDisposedException)
        {
            // The allocation was deleted meanwhile.
        }
    }

    internal void ConnectionClosed(TurnStreamConnection connection, string reason)
    {
        _connections.TryRemove(connection.Id, out _);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            TurnLog.ConnectionClosed(_logger, connection.Endpoint.ToString(), reason);
        }
    }

    internal void LogUnexpected(Exception exception, string where)
    {
        if (_unexpected.AddOrUpdate(where, 1, (_, n) => n + 1) <= MaxUnexpectedLogs)
        {
            TurnLog.Unexpected(_logger, exception, where);
        }
    }

    internal void LogListenerError(TurnTransport transport, IPEndPoint endPoint, Exception exception)
    {
        if (_unexpected.AddOrUpdate($"{transport} {endPoint}", 1, (_, n) => n + 1) <= MaxUnexpectedLogs)
        {
            TurnLog.ListenerError(_logger, transport, endPoint.ToString(), exception.Message);
        }
    }

    internal static bool IsTransient(SocketException e) => e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize
        or SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.NoBufferSpaceAvailable
        or SocketError.TimedOut;
}
