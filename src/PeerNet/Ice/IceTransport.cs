using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Ice.Mdns;
using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>Receives a datagram from the ICE transport; the span is valid only during the call.</summary>
/// <param name="datagram">The payload (a DTLS record per RFC 7983, first byte 20–63).</param>
public delegate void IceDatagramHandler(ReadOnlySpan<byte> datagram);

/// <summary>
/// The I/O driver of an <see cref="IceAgent"/>: gathers host candidates on UDP sockets, feeds STUN
/// to the agent and sends what it produces, keeps one timer for it, resolves ".local" remote
/// candidates with mDNS, and carries the data path: <see cref="Send"/> over the selected pair and
/// <see cref="DatagramReceived"/> for DTLS datagrams (RFC 7983) from known remotes.
/// </summary>
/// <remarks>
/// The agent runs under one lock; events are raised outside it, in order, one at a time.
/// <see cref="DatagramReceived"/> is never called concurrently with itself. Sending and receiving
/// data do not allocate.
/// </remarks>
public sealed class IceTransport : IAsyncDisposable
{
    private readonly IceTransportOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Lock _deliveryLock = new();
    private readonly IceAgent _agent;
    private readonly Dictionary<int, IIceSocket> _sockets = [];
    private readonly List<IceCandidate> _localCandidates = [];
    private readonly List<IPAddress> _gatheredAddresses = [];
    private readonly SerialEventQueue _events;
    private readonly Timer _timer;
    private readonly byte[] _transmitBuffer = new byte[1500];
    private readonly SocketAddress _scratchIPv4 = new(AddressFamily.InterNetwork);
    private readonly SocketAddress _scratchIPv6 = new(AddressFamily.InterNetworkV6);

    private volatile SelectedPath? _path;
    private long _timerDeadline = long.MaxValue;
    private int _nextSocketId;
    private int _pendingResolutions;
    private bool _endOfCandidatesRequested;
    private bool _endOfCandidatesDelivered;
    private bool _disposed;
    private MdnsResolver? _resolver;

    /// <summary>Creates a transport; nothing is bound until <see cref="GatherAsync"/>.</summary>
    public IceTransport(IceTransportOptions? options = null, ILogger? logger = null)
    {
        _options = options ?? new IceTransportOptions();
        _logger = logger ?? NullLogger.Instance;
        _options.Agent.Logger ??= _logger;
        _agent = new IceAgent(_options.Agent);
        _events = new SerialEventQueue(e => IceLog.SocketError(_logger, "event handler", e.ToString()));
        _timer = new Timer(_ => OnTimer());
    }

    /// <summary>A local candidate was gathered (W3C <c>icecandidate</c>); signal it to the peer.</summary>
    public event Action<IceCandidate>? CandidateGathered;

    /// <summary>The gathering state changed; <see cref="IceGatheringState.Complete"/> is end-of-candidates.</summary>
    public event Action<IceGatheringState>? GatheringStateChanged;

    /// <summary>The W3C connection state changed.</summary>
    public event Action<IceConnectionState>? ConnectionStateChanged;

    /// <summary>The selected pair changed.</summary>
    public event Action<IceCandidatePair>? SelectedCandidatePairChanged;

    /// <summary>DTLS datagrams (first byte 20–63) from the selected or another known remote. Not called concurrently.</summary>
    public IceDatagramHandler? DatagramReceived { get; set; }

    /// <summary>The local ice-ufrag.</summary>
    public string LocalUfrag => _agent.LocalUfrag;

    /// <summary>The local ice-pwd.</summary>
    public string LocalPassword => _agent.LocalPassword;

    /// <summary>The current role (a role conflict may change it).</summary>
    public IceRole Role
    {
        get
        {
            lock (_lock)
            {
                return _agent.Role;
            }
        }
    }

    /// <summary>The W3C gathering state.</summary>
    public IceGatheringState GatheringState { get; private set; }

    /// <summary>The W3C connection state.</summary>
    public IceConnectionState ConnectionState { get; private set; }

    /// <summary>The selected pair, or null.</summary>
    public IceCandidatePair? SelectedCandidatePair { get; private set; }

    /// <summary>The gathered local candidates.</summary>
    public IReadOnlyList<IceCandidate> LocalCandidates
    {
        get
        {
            lock (_lock)
            {
                return [.. _localCandidates];
            }
        }
    }

    /// <summary>Datagram counters.</summary>
    public IceTransportStatistics Statistics { get; } = new();

    /// <summary>The agent's STUN counters (a live object: read for diagnostics only).</summary>
    public IceAgentStatistics AgentStatistics => _agent.Statistics;

    /// <summary>
    /// Gathers host candidates: one UDP socket per usable address (see <see cref="IceGatherOptions"/>),
    /// each raised through <see cref="CandidateGathered"/>, then <see cref="IceGatheringState.Complete"/>.
    /// Addresses that cannot be bound are skipped and logged.
    /// </summary>
    /// <exception cref="InvalidOperationException">Gathering already started.</exception>
    public Task GatherAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (GatheringState != IceGatheringState.New)
            {
                throw new InvalidOperationException("Gathering has already started.");
            }

            GatheringState = IceGatheringState.Gathering;
        }

        _events.Enqueue(() => GatheringStateChanged?.Invoke(IceGatheringState.Gathering));
        _events.Drain();

        var ordinal = 0;
        foreach (var host in HostCandidateGatherer.GetHostAddresses(_options.Gathering))
        {
            cancellationToken.ThrowIfCancellationRequested();
            UdpIceSocket socket;
            try
            {
                socket = UdpIceSocket.Bind(host.Address, _options.Gathering.MinPort, _options.Gathering.MaxPort);
            }
            catch (SocketException e)
            {
                IceLog.BindFailed(_logger, host.Address.ToString(), e.Message);
                continue;
            }

            var candidate = HostCandidateGatherer.CreateHostCandidate(socket.LocalEndPoint, ordinal++, _agent.LocalUfrag);
            int id;
            lock (_lock)
            {
                if (_disposed)
                {
                    _ = socket.DisposeAsync().AsTask();
                    break;
                }

                id = ++_nextSocketId;
                _sockets.Add(id, socket);
                _localCandidates.Add(candidate);
                _gatheredAddresses.Add(host.Address.AddressFamily == AddressFamily.InterNetworkV6 && host.InterfaceIndex > 0
                    ? new IPAddress(host.Address.GetAddressBytes(), host.InterfaceIndex)
                    : host.Address);
                _agent.AddLocalCandidate(candidate, id);
                AfterAgent();
            }

            IceLog.Gathered(_logger, candidate.ToString());
            socket.Start((s, datagram, remote) => OnReceived(id, datagram, remote));
            _events.Enqueue(() => CandidateGathered?.Invoke(candidate));
            _events.Drain();
        }

        lock (_lock)
        {
            GatheringState = IceGatheringState.Complete;
        }

        _events.Enqueue(() => GatheringStateChanged?.Invoke(IceGatheringState.Complete));
        _events.Drain();
        return Task.CompletedTask;
    }

    /// <summary>Gives the agent the remote ice-ufrag and ice-pwd: checks start (candidates may come before or after).</summary>
    /// <exception cref="ArgumentException">Credentials that are not RFC 8839 ice-chars of the right lengths.</exception>
    public void Start(string remoteUfrag, string remotePassword)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _agent.SetRemoteCredentials(remoteUfrag, remotePassword);
            AfterAgent();
        }

        _events.Drain();
    }

    /// <summary>
    /// Adds a remote candidate (trickle). ".local" names are resolved with mDNS first; a name that does
    /// not resolve is dropped (logged) and ICE continues with the others. TCP candidates are ignored.
    /// Returns whether the candidate was added.
    /// </summary>
    public async Task<bool> AddRemoteCandidateAsync(IceCandidate candidate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.Protocol != IceProtocol.Udp)
        {
            return false;
        }

        if (!IceCandidate.IsIPLiteral(candidate.Address))
        {
            if (!candidate.IsMdnsHostName || !_options.ResolveMdnsCandidates)
            {
                IceLog.RemoteCandidateDropped(_logger, candidate.ToString(), "host names other than .local are not resolved");
                return false;
            }

            lock (_lock)
            {
                _pendingResolutions++;
            }

            try
            {
                var address = await GetResolver().ResolveAsync(candidate.Address, cancellationToken).ConfigureAwait(false);
                if (address is null)
                {
                    IceLog.RemoteCandidateDropped(_logger, candidate.ToString(), "the mDNS name did not resolve");
                    return false;
                }

                candidate = candidate with { Address = new IPAddress(address.GetAddressBytes()).ToString() };
            }
            finally
            {
                lock (_lock)
                {
                    _pendingResolutions--;
                    DeliverEndOfCandidatesIfDue();
                }

                _events.Drain();
            }
        }

        bool added;
        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            added = _agent.AddRemoteCandidate(candidate);
            AfterAgent();
            // A signalled candidate may replace the peer-reflexive one of the selected pair (RFC 8445
            // §7.3.1.3), e.g. once a Chromium ".local" name resolves: report the pair as it is now.
            if (added && _agent.SelectedCandidatePair is { } current && current != SelectedCandidatePair)
            {
                SelectedCandidatePair = current;
                _events.Enqueue(() => SelectedCandidatePairChanged?.Invoke(current));
            }
        }

        _events.Drain();
        return added;
    }

    /// <summary>The peer has sent all its candidates; delivered to the agent once pending mDNS resolutions finish.</summary>
    public void AddRemoteEndOfCandidates()
    {
        lock (_lock)
        {
            _endOfCandidatesRequested = true;
            DeliverEndOfCandidatesIfDue();
        }

        _events.Drain();
    }

    /// <summary>Sends a datagram over the selected pair; false when there is none (or the OS refused). Does not allocate.</summary>
    public bool Send(ReadOnlySpan<byte> datagram)
    {
        var path = _path;
        if (path is null)
        {
            return false;
        }

        if (path.Socket.Send(datagram, path.Address))
        {
            Interlocked.Increment(ref Statistics.DataSentCount);
            return true;
        }

        Interlocked.Increment(ref Statistics.SendFailuresCount);
        return false;
    }

    /// <summary>Closes the agent ("closed"), the sockets and the resolver.</summary>
    public async ValueTask DisposeAsync()
    {
        List<IIceSocket> sockets;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _agent.Close();
            AfterAgent();
            sockets = [.. _sockets.Values];
            _sockets.Clear();
        }

        _events.Drain();
        await _timer.DisposeAsync().ConfigureAwait(false);
        foreach (var socket in sockets)
        {
            await socket.DisposeAsync().ConfigureAwait(false);
        }

        if (_resolver is not null)
        {
            await _resolver.DisposeAsync().ConfigureAwait(false);
        }
    }

    // ---- Receiving (one loop per socket) ----

    private void OnReceived(int socketId, ReadOnlySpan<byte> datagram, SocketAddress remote)
    {
        Interlocked.Increment(ref Statistics.DatagramsReceivedCount);
        if (datagram.IsEmpty || !StunAddress.TryFromSocketAddress(remote, out var from))
        {
            Interlocked.Increment(ref Statistics.DroppedUnknownKindCount);
            return;
        }

        switch (PacketDemultiplexer.Classify(datagram[0]))
        {
            case PacketKind.Stun:
                Interlocked.Increment(ref Statistics.StunReceivedCount);
                lock (_lock)
                {
                    if (_disposed)
                    {
                        return;
                    }

                    _agent.HandleStunPacket(socketId, from, datagram, Environment.TickCount64);
                    AfterAgent();
                }

                _events.Drain();
                break;

            case PacketKind.Dtls:
                var path = _path;
                bool known;
                if (path is not null && path.SocketId == socketId && path.Remote == from)
                {
                    known = true;
                }
                else
                {
                    // Before selection (a peer may start DTLS as soon as it nominated), any remote candidate will do.
                    lock (_lock)
                    {
                        known = _agent.IsKnownRemote(socketId, from);
                    }
                }

                if (!known)
                {
                    Interlocked.Increment(ref Statistics.DroppedFromStrangersCount);
                    if (_logger.IsEnabled(LogLevel.Debug))
                    {
                        IceLog.DatagramDropped(_logger, "DTLS", from.ToString());
                    }

                    return;
                }

                Deliver(datagram);
                break;

            default:
                Interlocked.Increment(ref Statistics.DroppedUnknownKindCount);
                break;
        }
    }

    private void Deliver(ReadOnlySpan<byte> datagram)
    {
        var handler = DatagramReceived;
        if (handler is null)
        {
            return;
        }

        Interlocked.Increment(ref Statistics.DataDeliveredCount);
        lock (_deliveryLock)
        {
            try
            {
                handler(datagram);
            }
            catch (Exception e)
            {
                IceLog.SocketError(_logger, "DatagramReceived handler", e.ToString());
            }
        }
    }

    // ---- The agent's outputs (called under the lock) ----

    private void OnTimer()
    {
        lock (_lock)
        {
            _timerDeadline = long.MaxValue;
            if (_disposed)
            {
                return;
            }

            _agent.HandleTimeout(Environment.TickCount64);
            AfterAgent();
        }

        _events.Drain();
    }

    private void AfterAgent()
    {
        // Datagrams out.
        int length;
        while ((length = _agent.PollTransmit(_transmitBuffer, out var transmit)) > 0)
        {
            if (!_sockets.TryGetValue(transmit.SocketId, out var socket))
            {
                continue;
            }

            var address = transmit.Remote.Family == StunAddressFamily.IPv4 ? _scratchIPv4 : _scratchIPv6;
            if (!transmit.Remote.TryWriteTo(address) || !socket.Send(_transmitBuffer.AsSpan(0, length), address))
            {
                Interlocked.Increment(ref Statistics.SendFailuresCount);
            }
        }

        // Events out, raised after the lock is released.
        var pathChanged = false;
        while (_agent.TryPollEvent(out var e))
        {
            switch (e.Kind)
            {
                case IceEventKind.ConnectionStateChanged:
                    ConnectionState = e.State;
                    pathChanged = true;
                    var state = e.State;
                    _events.Enqueue(() => ConnectionStateChanged?.Invoke(state));
                    break;
                case IceEventKind.SelectedCandidatePairChanged:
                    SelectedCandidatePair = e.Pair;
                    pathChanged = true;
                    var pair = e.Pair!;
                    _events.Enqueue(() => SelectedCandidatePairChanged?.Invoke(pair));
                    break;
            }
        }

        if (pathChanged)
        {
            UpdatePath();
        }

        // The one timer.
        if (_disposed)
        {
            return;
        }

        var deadline = _agent.PollTimeout() ?? long.MaxValue;
        if (deadline != _timerDeadline)
        {
            _timerDeadline = deadline;
            if (deadline == long.MaxValue)
            {
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
            }
            else
            {
                var due = Math.Clamp(deadline - Environment.TickCount64, 1, int.MaxValue);
                _timer.Change(due, Timeout.Infinite);
            }
        }
    }

    private void UpdatePath()
    {
        if (!_agent.TryGetSelectedPair(out var socketId, out var remote) || !_sockets.TryGetValue(socketId, out var socket))
        {
            _path = null;
            return;
        }

        if (_path is { } current && current.SocketId == socketId && current.Remote == remote)
        {
            return;
        }

        // One SocketAddress per selection, so that Send does not allocate.
        var address = new SocketAddress(remote.Family == StunAddressFamily.IPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6);
        remote.TryWriteTo(address);
        _path = new SelectedPath(socketId, socket, remote, address);
    }

    private void DeliverEndOfCandidatesIfDue()
    {
        if (_endOfCandidatesRequested && !_endOfCandidatesDelivered && _pendingResolutions == 0 && !_disposed)
        {
            _endOfCandidatesDelivered = true;
            _agent.AddRemoteEndOfCandidates();
            AfterAgent();
        }
    }

    private MdnsResolver GetResolver()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_resolver is null)
            {
                var configured = _options.Mdns;
                var options = new MdnsResolverOptions
                {
                    Timeout = configured.Timeout,
                    RetryAfter = configured.RetryAfter,
                    MaxCacheEntries = configured.MaxCacheEntries,
                    MaxCacheTime = configured.MaxCacheTime,
                    Port = configured.Port,
                    IPv4Destination = configured.IPv4Destination,
                    IPv6Destination = configured.IPv6Destination,
                    ListenOnMulticastPort = configured.ListenOnMulticastPort,
                    InterfaceAddresses = configured.InterfaceAddresses.Count > 0 ? configured.InterfaceAddresses : [.. _gatheredAddresses],
                };

                _resolver = new MdnsResolver(options, _logger);
            }

            return _resolver;
        }
    }

    private sealed record SelectedPath(int SocketId, IIceSocket Socket, StunAddress Remote, SocketAddress Address);
}
