using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Ice.Mdns;
using PeerNet.Stun;
using PeerNet.Turn;

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
    private readonly ServerReflexiveGatherer _serverReflexive;
    private readonly Dictionary<int, IceCandidate> _hostBySocket = [];
    private readonly List<RelayIceSocket> _relays = [];
    private TaskCompletionSource? _serverReflexiveDone;
    private IceUdpMuxConnection? _muxConnection;
    private readonly List<string> _muxUfrags = []; // registered on the mux: the current one, and during a restart the previous

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
        _serverReflexive = new ServerReflexiveGatherer(timeout: Math.Max(1, (long)_options.StunServerTimeout.TotalMilliseconds));
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

    /// <summary>The gathered local candidates, labelled with the current ufrag (an ICE restart re-advertises them).</summary>
    public IReadOnlyList<IceCandidate> LocalCandidates
    {
        get
        {
            lock (_lock)
            {
                var ufrag = _agent.LocalUfrag;
                return [.. _localCandidates.Select(c => c.UsernameFragment is { } own && own != ufrag ? c.WithUsernameFragment(ufrag) : c)];
            }
        }
    }

    /// <summary>The remote candidates the agent knows (signalled and peer-reflexive).</summary>
    public IReadOnlyList<IceCandidate> RemoteCandidates
    {
        get
        {
            lock (_lock)
            {
                return _agent.RemoteCandidates;
            }
        }
    }

    /// <summary>Why no pair worked, in words: what each side offered and the likely cause (<see cref="IceFailureReason"/>).</summary>
    public string DescribeFailure() => SelectedCandidatePair is { } lost
        ? $"the selected pair ({lost.Local.Type.ToToken()} ↔ {lost.Remote.Type.ToToken()}) stopped answering: consent lost (RFC 7675)"
        : IceFailureReason.Describe(
        LocalCandidates.Select(c => c.Type),
        RemoteCandidates.Select(c => c.Type),
        _options.IceServers.Where(s => s.IsTurn).DistinctBy(s => (s.Host, s.Port, s.Transport, s.Username)).Count(),
        (int)Interlocked.Read(ref Statistics.RelayFailuresCount),
        _options.TransportPolicy == IceTransportPolicy.Relay);

    /// <summary>The TURN allocations behind the relayed candidates (diagnostics).</summary>
    public IReadOnlyList<RelayIceSocket> RelaySockets
    {
        get
        {
            lock (_lock)
            {
                return [.. _relays];
            }
        }
    }

    /// <summary>Datagram counters.</summary>
    public IceTransportStatistics Statistics { get; } = new();

    /// <summary>The agent's STUN counters (a live object: read for diagnostics only).</summary>
    public IceAgentStatistics AgentStatistics => _agent.Statistics;

    /// <summary>
    /// Gathers candidates: host candidates on one UDP socket per usable address (see <see cref="IceGatherOptions"/>),
    /// server-reflexive ones from every stun:/turn: server (a Binding from each host socket), relayed ones
    /// from every turn:/turns: server (one allocation per server and address family); under
    /// <see cref="IceTransportPolicy.Relay"/> only relayed ones. Each is raised through
    /// <see cref="CandidateGathered"/>; <see cref="IceGatheringState.Complete"/> follows once every server
    /// answered or timed out. Addresses that cannot be bound and servers that fail are skipped and logged.
    /// </summary>
    /// <exception cref="InvalidOperationException">Gathering already started.</exception>
    public async Task GatherAsync(CancellationToken cancellationToken = default)
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

        var hosts = _options.UdpMux is { } udpMux ? [MuxHostAddress(udpMux)] : HostCandidateGatherer.GetHostAddresses(_options.Gathering);
        var relayOnly = _options.TransportPolicy == IceTransportPolicy.Relay;
        var hostSockets = new List<(int Id, IceCandidate Candidate, AddressFamily Family)>();
        var ordinal = 0;
        if (_options.UdpMux is not null && !relayOnly && GatherOnMux(_options.UdpMux) is { } muxed)
        {
            hostSockets.Add(muxed);
        }

        foreach (var host in relayOnly || _options.UdpMux is not null ? [] : hosts)
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
                _hostBySocket.Add(id, candidate);
                _localCandidates.Add(candidate);
                _gatheredAddresses.Add(host.Address.AddressFamily == AddressFamily.InterNetworkV6 && host.InterfaceIndex > 0
                    ? new IPAddress(host.Address.GetAddressBytes(), host.InterfaceIndex)
                    : host.Address);
                _agent.AddLocalCandidate(candidate, id);
                AfterAgent();
            }

            hostSockets.Add((id, candidate, host.Address.AddressFamily));
            IceLog.Gathered(_logger, candidate.ToString());
            socket.Start((s, datagram, remote) => OnReceived(id, datagram, remote));
            _events.Enqueue(() => CandidateGathered?.Invoke(candidate));
            _events.Drain();
        }

        var work = new List<Task>();
        if (!relayOnly)
        {
            work.Add(GatherServerReflexiveAsync(hostSockets, cancellationToken));
        }

        var relayOrdinal = 0;
        foreach (var server in _options.IceServers.Where(s => s.IsTurn).DistinctBy(s => (s.Host, s.Port, s.Transport, s.Username)))
        {
            // One allocation per address family we have a host address of (RFC 8656 §7.1 REQUESTED-ADDRESS-FAMILY).
            foreach (var host in hosts.DistinctBy(h => h.Address.AddressFamily))
            {
                work.Add(GatherRelayAsync(server, host.Address, relayOrdinal++, cancellationToken));
            }
        }

        try
        {
            await Task.WhenAll(work).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                GatheringState = IceGatheringState.Complete;
            }

            _events.Enqueue(() => GatheringStateChanged?.Invoke(IceGatheringState.Complete));
            _events.Drain();
        }
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
    /// Restarts ICE (RFC 8445 §9) with new local credentials (given, or generated): see <see cref="IceAgent.Restart"/>.
    /// The sockets, TURN allocations and gathered candidates stay; the peer's candidates and end-of-candidates
    /// must come again, after its new credentials (<see cref="Start"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Credentials that are not RFC 8839 ice-chars of the right lengths, or the current ones.</exception>
    public void Restart(string? ufrag = null, string? password = null)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _agent.Restart(ufrag, password);
            _endOfCandidatesRequested = false;
            _endOfCandidatesDelivered = false;
            if (_muxConnection is { } mux)
            {
                // Both generations are routed here until the restart completes (see RetireMuxUfrags).
                mux.RegisterUfrag(_agent.LocalUfrag, _agent.LocalPassword);
                _muxUfrags.Add(_agent.LocalUfrag);
            }

            AfterAgent();
        }

        _events.Drain();
    }

    /// <summary>The remote ice-ufrag of the current generation, or null before <see cref="Start"/>.</summary>
    public string? RemoteUfrag
    {
        get
        {
            lock (_lock)
            {
                return _agent.RemoteUfrag;
            }
        }
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
            if (added && candidate.TryGetTransportAddress(out var remoteAddress))
            {
                // Checks through a relay need a permission for the peer's IP first (RFC 8656 §9).
                foreach (var relay in _relays)
                {
                    if (relay.LocalEndPoint.AddressFamily == remoteAddress.ToIPAddress().AddressFamily)
                    {
                        relay.CreatePermission(remoteAddress);
                    }
                }
            }

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

    /// <summary>
    /// Sends a run of datagrams laid end to end, each <paramref name="segmentSize"/> bytes except
    /// perhaps the last, over the selected pair, batched into one system call where the socket can
    /// (<see cref="IIceSocket.SendSegments"/>); returns how many were sent. Does not allocate.
    /// </summary>
    public int SendSegments(ReadOnlySpan<byte> segments, int segmentSize)
    {
        var path = _path;
        if (path is null || segments.IsEmpty)
        {
            return 0;
        }

        var count = (segments.Length + segmentSize - 1) / segmentSize;
        var sent = path.Socket.SendSegments(segments, segmentSize, path.Address);
        Interlocked.Add(ref Statistics.DataSentCount, sent);
        Interlocked.Add(ref Statistics.SendFailuresCount, count - sent);
        return sent;
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
            _serverReflexive.Clear();
            _serverReflexiveDone?.TrySetResult();
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

                    if (_serverReflexive.TryHandleResponse(socketId, from, datagram))
                    {
                        Interlocked.Increment(ref Statistics.StunServerResponsesCount);
                    }
                    else
                    {
                        _agent.HandleStunPacket(socketId, from, datagram, Environment.TickCount64);
                    }

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

            var now = Environment.TickCount64;
            _agent.HandleTimeout(now);
            _serverReflexive.HandleTimeout(now);
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

        // Binding requests to STUN servers, and their results.
        while ((length = _serverReflexive.PollTransmit(_transmitBuffer, out var binding)) > 0)
        {
            Interlocked.Increment(ref Statistics.StunServerRequestsCount);
            var address = binding.Remote.Family == StunAddressFamily.IPv4 ? _scratchIPv4 : _scratchIPv6;
            if (!_sockets.TryGetValue(binding.SocketId, out var socket) || !binding.Remote.TryWriteTo(address)
                || !socket.Send(_transmitBuffer.AsSpan(0, length), address))
            {
                Interlocked.Increment(ref Statistics.SendFailuresCount);
            }
        }

        while (_serverReflexive.TryPollResult(out var result))
        {
            OnServerReflexive(result);
        }

        if (_serverReflexive.Pending == 0)
        {
            _serverReflexiveDone?.TrySetResult();
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

        if (_muxUfrags.Count > 1)
        {
            RetireMuxUfrags();
        }

        // The one timer.
        if (_disposed)
        {
            return;
        }

        var deadline = Math.Min(_agent.PollTimeout() ?? long.MaxValue, _serverReflexive.PollTimeout() ?? long.MaxValue);
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
        if (socket is RelayIceSocket relay)
        {
            relay.BindChannel(remote); // the selected pair's data goes as ChannelData (RFC 8656 §12)
        }
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

    // ---- Server-reflexive and relayed candidates ----

    private async Task GatherServerReflexiveAsync(List<(int Id, IceCandidate Candidate, AddressFamily Family)> hostSockets, CancellationToken cancellationToken)
    {
        // A Binding to every STUN server and every TURN server reached over UDP (RFC 8445 §5.1.1.2).
        var servers = _options.IceServers
            .Where(s => s.Scheme == IceServerScheme.Stun || (s.Scheme == IceServerScheme.Turn && s.Transport == IceServerTransport.Udp))
            .DistinctBy(s => (s.Host, s.Port))
            .ToList();
        if (servers.Count == 0 || hostSockets.Count == 0)
        {
            return;
        }

        var targets = new List<(int SocketId, StunAddress Server)>();
        foreach (var family in hostSockets.Select(h => h.Family).Distinct())
        {
            foreach (var server in servers)
            {
                IPAddress[] addresses;
                try
                {
                    addresses = await server.ResolveAsync(family, cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    IceLog.SocketError(_logger, $"resolving {server}", e.Message);
                    continue;
                }

                if (addresses.Length == 0)
                {
                    continue;
                }

                var address = StunAddress.FromIPAddress(addresses[0], (ushort)server.Port);
                foreach (var host in hostSockets.Where(h => h.Family == family))
                {
                    targets.Add((host.Id, address));
                }
            }
        }

        TaskCompletionSource done;
        lock (_lock)
        {
            if (_disposed || targets.Count == 0)
            {
                return;
            }

            done = _serverReflexiveDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var now = Environment.TickCount64;
            foreach (var (socketId, server) in targets.Distinct())
            {
                _serverReflexive.Start(socketId, server, now);
            }

            AfterAgent();
        }

        _events.Drain();
        await done.Task.WaitAsync(_options.StunServerTimeout + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
    }

    private void OnServerReflexive(ServerReflexiveResult result)
    {
        // Under the lock.
        if (!result.Succeeded || !_hostBySocket.TryGetValue(result.SocketId, out var host) || !host.TryGetIPAddress(out var baseAddress))
        {
            IceLog.SocketError(_logger, "STUN server", $"{result.Server} gave no mapped address");
            return;
        }

        // RFC 8445 §5.1.3: a reflexive candidate equal to its base (no NAT), or to one we have, is redundant.
        var mapped = result.Mapped;
        var duplicate = host.TryGetTransportAddress(out var hostAddress) && hostAddress == mapped;
        duplicate |= _localCandidates.Any(c => c.Type == IceCandidateType.ServerReflexive && c.TryGetTransportAddress(out var a) && a == mapped
            && c.RelatedAddress == host.Address && c.RelatedPort == host.Port);
        if (duplicate)
        {
            Interlocked.Increment(ref Statistics.ServerReflexiveDuplicatesCount);
            return;
        }

        var localPreference = (int)((host.Priority >> 8) & 0xFFFF);
        List<KeyValuePair<string, string>> extensions = [new("generation", "0"), new("ufrag", _agent.LocalUfrag)];
        var candidate = new IceCandidate
        {
            Foundation = IceCandidate.ComputeFoundation(IceCandidateType.ServerReflexive, baseAddress, IceProtocol.Udp, result.Server.ToString()),
            Component = host.Component,
            Priority = IceCandidate.ComputePriority(IceCandidateType.ServerReflexive, localPreference, host.Component),
            Address = mapped.ToIPAddress().ToString(),
            Port = mapped.Port,
            Type = IceCandidateType.ServerReflexive,
            RelatedAddress = host.Address,
            RelatedPort = host.Port,
            Extensions = extensions,
        };
        _localCandidates.Add(candidate);
        _agent.AddLocalCandidate(candidate, result.SocketId);
        IceLog.Gathered(_logger, candidate.ToString());
        _events.Enqueue(() => CandidateGathered?.Invoke(candidate));
    }

    private async Task GatherRelayAsync(IceServer server, IPAddress localAddress, int ordinal, CancellationToken cancellationToken)
    {
        RelayIceSocket relay;
        try
        {
            var addresses = await server.ResolveAsync(localAddress.AddressFamily, cancellationToken).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                return;
            }

            relay = await RelayIceSocket.AllocateAsync(new IPEndPoint(addresses[0], server.Port), localAddress, server.Transport,
                server.Username ?? "", server.Credential ?? "", _options.TurnServerTimeout, server.Host, _logger,
                _options.TurnServerCertificateValidation, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TurnClientException or SocketException or IOException or NotSupportedException
            or System.Security.Authentication.AuthenticationException)
        {
            Interlocked.Increment(ref Statistics.RelayFailuresCount);
            IceLog.SocketError(_logger, $"TURN server {server}", e.Message);
            return;
        }

        Interlocked.Increment(ref Statistics.RelayAllocationsCount);
        var candidate = CreateRelayCandidate(relay, server, ordinal);
        int id;
        lock (_lock)
        {
            if (_disposed)
            {
                _ = relay.DisposeAsync().AsTask();
                return;
            }

            id = ++_nextSocketId;
            _sockets.Add(id, relay);
            _relays.Add(relay);
            _localCandidates.Add(candidate);
            _agent.AddLocalCandidate(candidate, id);
            foreach (var remote in _agent.RemoteCandidates)
            {
                if (remote.TryGetTransportAddress(out var address) && address.ToIPAddress().AddressFamily == relay.LocalEndPoint.AddressFamily)
                {
                    relay.CreatePermission(address);
                }
            }

            AfterAgent();
        }

        IceLog.Gathered(_logger, candidate.ToString());
        relay.Start((s, datagram, remote) => OnReceived(id, datagram, remote));
        _events.Enqueue(() => CandidateGathered?.Invoke(candidate));
        _events.Drain();
    }

    private IceCandidate CreateRelayCandidate(RelayIceSocket relay, IceServer server, int ordinal)
    {
        // RFC 8445 §5.1.2.1: local preference prefers UDP relays, then TCP, then TLS, IPv6 over IPv4.
        var transportPreference = server.Transport switch
        {
            IceServerTransport.Udp => 60000,
            IceServerTransport.Tcp => 40000,
            _ => 20000,
        };
        var localPreference = transportPreference + (relay.LocalEndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? 2000 : 0) - Math.Min(ordinal, 1000);
        var relayed = relay.LocalEndPoint;
        var address = new IPAddress(relayed.Address.GetAddressBytes());
        List<KeyValuePair<string, string>> extensions = [new("generation", "0"), new("ufrag", _agent.LocalUfrag)];
        return new IceCandidate
        {
            Foundation = IceCandidate.ComputeFoundation(IceCandidateType.Relay, address, IceProtocol.Udp, server.ToString()),
            Component = 1,
            Priority = IceCandidate.ComputePriority(IceCandidateType.Relay, localPreference),
            Address = address.ToString(),
            Port = relayed.Port,
            Type = IceCandidateType.Relay,
            RelatedAddress = relay.MappedEndPoint.Address.Equals(IPAddress.None) ? "0.0.0.0" : relay.MappedEndPoint.Address.ToString(),
            RelatedPort = relay.MappedEndPoint.Port,
            Extensions = extensions,
        };
    }

    // ---- Host candidates on a shared UDP port (IceTransportOptions.UdpMux) ----

    private static IceHostAddress MuxHostAddress(IceUdpMux mux) =>
        new(mux.LocalEndPoint.Address, (int)(mux.LocalEndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? mux.LocalEndPoint.Address.ScopeId : 0),
            IPAddress.IsLoopback(mux.LocalEndPoint.Address));

    /// <summary>Stops routing ufrags of generations the agent no longer answers for (a restart completed).</summary>
    private void RetireMuxUfrags()
    {
        var current = _agent.LocalUfrag;
        var previous = _agent.PreviousLocalUfrag;
        for (var i = _muxUfrags.Count - 1; i >= 0; i--)
        {
            var ufrag = _muxUfrags[i];
            if (ufrag != current && ufrag != previous)
            {
                _muxConnection?.UnregisterUfrag(ufrag);
                _muxUfrags.RemoveAt(i);
            }
        }
    }

    private (int Id, IceCandidate Candidate, AddressFamily Family)? GatherOnMux(IceUdpMux mux)
    {
        var connection = mux.CreateConnection();
        connection.RegisterUfrag(_agent.LocalUfrag, _agent.LocalPassword);

        // One host candidate per announced address, all on the mux's one socket. The agent pairs only the
        // first (it knows one candidate per socket); checks to the others arrive on the same socket and are
        // answered for it, so the remote may use any of them (RFC 8445 §7.3.1.4 learns it as peer-reflexive).
        var candidates = mux.AnnouncedEndPoints.Select((endPoint, i) => HostCandidateGatherer.CreateHostCandidate(endPoint, i, _agent.LocalUfrag)).ToList();
        int id;
        lock (_lock)
        {
            if (_disposed)
            {
                _ = connection.DisposeAsync().AsTask();
                return null;
            }

            id = ++_nextSocketId;
            _muxConnection = connection;
            _muxUfrags.Add(_agent.LocalUfrag);
            _sockets.Add(id, connection);
            _hostBySocket.Add(id, candidates[0]);
            _localCandidates.AddRange(candidates);
            if (!mux.LocalEndPoint.Address.Equals(IPAddress.Any) && !mux.LocalEndPoint.Address.Equals(IPAddress.IPv6Any))
            {
                _gatheredAddresses.Add(mux.LocalEndPoint.Address);
            }

            _agent.AddLocalCandidate(candidates[0], id);
            AfterAgent();
        }

        connection.Start((s, datagram, remote) => OnReceived(id, datagram, remote));
        foreach (var candidate in candidates)
        {
            IceLog.Gathered(_logger, candidate.ToString());
            _events.Enqueue(() => CandidateGathered?.Invoke(candidate));
        }

        _events.Drain();
        return (id, candidates[0], mux.LocalEndPoint.AddressFamily);
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
