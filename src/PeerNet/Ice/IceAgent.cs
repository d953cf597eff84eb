using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>
/// A sans-I/O ICE agent (RFC 8445) for one data stream: connectivity checks over the STUN codec with
/// short-term credentials, role conflicts, peer-reflexive candidates, trickle, regular nomination and
/// consent freshness (RFC 7675, first cut). Bytes and the time in, datagrams, timers and events out:
/// a driver owns the sockets and the clock and calls it under one lock.
/// </summary>
/// <remarks>
/// <para>Local candidates are tied to a socket id; host and relay candidates are paired (their base is
/// themselves), server- and peer-reflexive ones only advertised (RFC 8445 §6.1.2.4 replaces them by
/// their base). A TURN client later adds its relay candidate with its own socket id.</para>
/// <para>Time is <c>long now</c> in monotonic milliseconds. Methods without <c>now</c> use the time of
/// the last call that had one; new work they create is due at once (see <see cref="PollTimeout"/>).</para>
/// <para>Not thread-safe: one caller at a time.</para>
/// </remarks>
public sealed class IceAgent
{
    /// <summary>The smallest buffer <see cref="PollTransmit"/> accepts (RFC 8489 §6.1: STUN over UDP stays under 548 bytes).</summary>
    public const int MinTransmitBuffer = 548;

    private const int MaxQueuedTransmits = 256;

    private readonly IceAgentOptions _options;
    private readonly ILogger _logger;
    private readonly Random _jitter;
    private readonly List<LocalCandidate> _localCandidates = [];
    private readonly Dictionary<int, LocalCandidate> _localBySocket = [];
    private readonly Dictionary<StunAddress, RemoteCandidate> _remoteByAddress = [];
    private readonly List<RemoteCandidate> _remoteCandidates = [];
    private readonly List<CandidatePair> _pairs = [];
    private readonly Dictionary<(int SocketId, StunAddress Remote), CandidatePair> _pairIndex = [];
    private readonly Queue<CandidatePair> _triggered = new();
    private readonly Dictionary<StunTransactionId, IceCheckTransaction> _transactions = [];
    private readonly List<IceCheckTransaction> _transactionList = [];
    private readonly Queue<Outgoing> _outgoing = new();
    private readonly Queue<IceEvent> _events = new();
    private readonly List<EarlyCheck> _earlyChecks = [];

    private IceGeneration _generation;
    private IceGeneration? _previousGeneration; // until a pair of the current one is selected (RFC 8445 §9)
    private bool _remoteEndOfCandidates;
    private long _now;
    private long _lastCheckAt = long.MinValue / 2;
    private long _checkingStartedAt;
    private long? _firstValidAt;
    private long _nextConsentAt;
    private bool _checksFailed;
    private bool _checkingStartPending;
    private bool _consentLost;
    private int _prflxCounter;
    private CandidatePair? _selected;
    private CandidatePair? _nominating;

    /// <summary>Creates an agent; credentials and the tie-breaker are generated unless the options give them.</summary>
    /// <exception cref="ArgumentException">Given credentials that are not valid ice-chars of the RFC 8839 lengths.</exception>
    public IceAgent(IceAgentOptions? options = null)
    {
        _options = options ?? new IceAgentOptions();
        _logger = _options.Logger ?? NullLogger.Instance;
        Role = _options.Role;
        TieBreaker = _options.TieBreaker ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        _generation = NewGeneration(_options.LocalUfrag, _options.LocalPassword, nameof(options));
        _jitter = new Random(unchecked((int)TieBreaker ^ (int)(TieBreaker >> 32)));
    }

    /// <summary>The current role; a role conflict (RFC 8445 §7.3.1.1) may switch it.</summary>
    public IceRole Role { get; private set; }

    /// <summary>The tie-breaker sent in ICE-CONTROLLING / ICE-CONTROLLED.</summary>
    public ulong TieBreaker { get; }

    /// <summary>The local ice-ufrag (of the current generation: <see cref="Restart"/> replaces it).</summary>
    public string LocalUfrag => _generation.LocalUfrag;

    /// <summary>The local ice-pwd (of the current generation).</summary>
    public string LocalPassword => _generation.LocalPassword;

    /// <summary>The remote ice-ufrag of the current generation, once <see cref="SetRemoteCredentials"/> was called.</summary>
    public string? RemoteUfrag => _generation.RemoteUfrag;

    /// <summary>Whether an ICE restart is under way: the selected pair still runs on the previous credentials.</summary>
    public bool IsRestarting => _previousGeneration is not null;

    /// <summary>During a restart, the local ufrag the selected pair still runs on; otherwise null.</summary>
    public string? PreviousLocalUfrag => _previousGeneration?.LocalUfrag;

    /// <summary>The W3C connection state.</summary>
    public IceConnectionState ConnectionState { get; private set; }

    /// <summary>Counters.</summary>
    public IceAgentStatistics Statistics { get; } = new();

    /// <summary>The local candidates, with peer-reflexive ones learned from responses.</summary>
    public IReadOnlyList<IceCandidate> LocalCandidates => _localCandidates.Select(c => c.Candidate).ToArray();

    /// <summary>The remote candidates, signalled and peer-reflexive.</summary>
    public IReadOnlyList<IceCandidate> RemoteCandidates => _remoteCandidates.Select(c => c.Candidate).ToArray();

    /// <summary>The selected pair, or null.</summary>
    public IceCandidatePair? SelectedCandidatePair => _selected?.ToPublic();

    /// <summary>How many candidate pairs are in each state (diagnostics).</summary>
    public int CountPairs(CandidatePairState state) => _pairs.Count(p => p.State == state);

    /// <summary>
    /// Adds a local candidate that <paramref name="socketId"/> sends and receives for. Host and relay
    /// candidates are paired with the remote ones; reflexive ones are only kept.
    /// </summary>
    /// <exception cref="ArgumentException">The address is not an IP literal, the protocol is not UDP, or the socket already has a paired candidate.</exception>
    public void AddLocalCandidate(IceCandidate candidate, int socketId)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.Protocol != IceProtocol.Udp || !candidate.TryGetTransportAddress(out var address))
        {
            throw new ArgumentException("Local candidates are UDP with an IP address.", nameof(candidate));
        }

        var local = new LocalCandidate(candidate, socketId, address);
        if (candidate.Type is IceCandidateType.Host or IceCandidateType.Relay)
        {
            if (!_localBySocket.TryAdd(socketId, local))
            {
                throw new ArgumentException($"Socket {socketId} already has a candidate.", nameof(socketId));
            }

            _localCandidates.Add(local);
            foreach (var remote in _remoteCandidates)
            {
                TryCreatePair(local, remote, triggered: false);
            }
        }
        else
        {
            _localCandidates.Add(local);
        }
    }

    /// <summary>
    /// Sets the remote ice-ufrag and ice-pwd (from the SDP): checks can start, and checks that arrived
    /// earlier are processed now (RFC 8445 §7.3.1.3 early checks).
    /// </summary>
    /// <exception cref="ArgumentException">Not ice-chars of the RFC 8839 §5.4 lengths.</exception>
    /// <exception cref="InvalidOperationException">Other credentials are set already: the peer restarted ICE, so call <see cref="Restart"/> first.</exception>
    public void SetRemoteCredentials(string ufrag, string password)
    {
        if (!IceCredentials.IsValidUfrag(ufrag))
        {
            throw new ArgumentException("A ufrag is 4 to 256 ice-chars (RFC 8839 §5.4).", nameof(ufrag));
        }

        if (!IceCredentials.IsValidPassword(password))
        {
            throw new ArgumentException("A password is 22 to 256 ice-chars (RFC 8839 §5.4).", nameof(password));
        }

        if (RemoteUfrag is not null)
        {
            if (RemoteUfrag == ufrag && _generation.RemotePassword == password)
            {
                return;
            }

            throw new InvalidOperationException("Other remote credentials are already set: the peer restarted ICE, so the agent must restart too (RFC 8445 §9).");
        }

        if (ConnectionState == IceConnectionState.Closed)
        {
            return;
        }

        _generation.SetRemote(ufrag, password);
        _checkingStartPending = true; // stamped by the next call that brings the time
        if (_selected is null)
        {
            SetState(IceConnectionState.Checking);
        }

        foreach (var early in _earlyChecks)
        {
            if (_localBySocket.TryGetValue(early.SocketId, out var local))
            {
                ProcessIncomingCheck(local, early.Source, early.Priority, early.UseCandidate);
            }
        }

        _earlyChecks.Clear();
        Update();
    }

    /// <summary>
    /// Restarts ICE (RFC 8445 §9): new local credentials (given, or generated), a new checklist once the
    /// peer's new credentials arrive through <see cref="SetRemoteCredentials"/>, and its candidates again.
    /// Local candidates are kept (their sockets stay open). The selected pair keeps carrying data, and
    /// its consent keeps being checked with the previous credentials, until a pair of the new generation
    /// is selected; after a failure (consent lost) the agent starts checking afresh.
    /// </summary>
    /// <exception cref="ArgumentException">Given credentials that are not ice-chars of the RFC 8839 lengths, or the current ones.</exception>
    public void Restart(string? ufrag = null, string? password = null)
    {
        if (ConnectionState == IceConnectionState.Closed)
        {
            return;
        }

        var next = NewGeneration(ufrag, password, ufrag is null ? nameof(password) : nameof(ufrag));
        if (next.LocalUfrag == LocalUfrag || next.LocalPassword == LocalPassword)
        {
            throw new ArgumentException("An ICE restart needs a new ufrag and a new password (RFC 8445 §9).", ufrag is null ? nameof(password) : nameof(ufrag));
        }

        Statistics.Restarts++;
        IceLog.Restarted(_logger, LocalUfrag, next.LocalUfrag);
        if (_consentLost || ConnectionState == IceConnectionState.Failed)
        {
            // Nothing worth keeping: the restart is a fresh start.
            _selected = null;
            _consentLost = false;
            _previousGeneration = null;
        }
        else if (_selected is not null)
        {
            // The generation to keep alive is the selected pair's, however many restarts came since.
            _previousGeneration = _selected.Generation;
        }

        _generation = next;

        // A new checklist (RFC 8445 §9): the peer's candidates come again with its new credentials.
        for (var i = _transactionList.Count - 1; i >= 0; i--)
        {
            var transaction = _transactionList[i];
            if (transaction.Pair != _selected)
            {
                RemoveTransaction(transaction);
            }
        }

        _pairs.Clear();
        _pairIndex.Clear();
        _triggered.Clear();
        _remoteCandidates.Clear();
        _remoteByAddress.Clear();
        _earlyChecks.Clear();
        _remoteEndOfCandidates = false;
        _firstValidAt = null;
        _nominating = null;
        _checksFailed = false;
        if (_selected is not null)
        {
            _selected.Check = null;
        }
        else if (ConnectionState != IceConnectionState.New)
        {
            SetState(IceConnectionState.Checking);
        }
    }

    private static IceGeneration NewGeneration(string? ufrag, string? password, string parameterName)
    {
        ufrag ??= IceCredentials.GenerateUfrag();
        password ??= IceCredentials.GeneratePassword();
        if (!IceCredentials.IsValidUfrag(ufrag))
        {
            throw new ArgumentException("A ufrag is 4 to 256 ice-chars (RFC 8839 §5.4).", parameterName);
        }

        if (!IceCredentials.IsValidPassword(password))
        {
            throw new ArgumentException("A password is 22 to 256 ice-chars (RFC 8839 §5.4).", parameterName);
        }

        return new IceGeneration(ufrag, password);
    }

    /// <summary>
    /// Adds a remote candidate (trickle: any time, before or after the credentials). TCP candidates,
    /// duplicates and candidates of an earlier generation (a "ufrag" extension that is not the current
    /// remote ufrag) are ignored (false). The address must be an IP literal: resolve ".local" names first.
    /// </summary>
    /// <exception cref="ArgumentException">The address is a host name.</exception>
    public bool AddRemoteCandidate(IceCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (!candidate.TryGetTransportAddress(out var address))
        {
            throw new ArgumentException("The remote candidate's address must be an IP literal; resolve host names (mDNS) first.", nameof(candidate));
        }

        if (ConnectionState == IceConnectionState.Closed || candidate.Protocol != IceProtocol.Udp || address.Port == 0)
        {
            return false;
        }

        if (RemoteUfrag is { } remoteUfrag && candidate.UsernameFragment is { } candidateUfrag && candidateUfrag != remoteUfrag)
        {
            IceLog.RemoteCandidateDropped(_logger, candidate.ToString(), "it belongs to an earlier ICE generation");
            return false;
        }

        if (_remoteByAddress.TryGetValue(address, out var existing))
        {
            // A signalled candidate replaces the peer-reflexive one learned from its checks (RFC 8445 §7.3.1.3).
            if (existing.Candidate.Type == IceCandidateType.PeerReflexive && candidate.Type != IceCandidateType.PeerReflexive)
            {
                existing.Candidate = candidate;
                foreach (var pair in _pairs)
                {
                    if (pair.Remote == existing)
                    {
                        pair.ComputePriority(Role);
                    }
                }

                SortPairs();
                if (_selected?.Remote == existing)
                {
                    // Same path, better description: report the signalled candidate.
                    _events.Enqueue(new IceEvent(IceEventKind.SelectedCandidatePairChanged, Pair: _selected.ToPublic()));
                }

                return true;
            }

            return false;
        }

        if (_remoteCandidates.Count >= _options.MaxRemoteCandidates)
        {
            IceLog.RemoteCandidateDropped(_logger, candidate.ToString(), "too many remote candidates");
            return false;
        }

        var remote = new RemoteCandidate(candidate, address);
        _remoteByAddress.Add(address, remote);
        _remoteCandidates.Add(remote);
        foreach (var local in _localBySocket.Values)
        {
            TryCreatePair(local, remote, triggered: false);
        }

        return true;
    }

    /// <summary>The remote side has sent all its candidates (trickle end-of-candidates): failure can now be declared.</summary>
    public void AddRemoteEndOfCandidates()
    {
        _remoteEndOfCandidates = true;
        Update();
    }

    /// <summary>
    /// Handles a STUN packet received on <paramref name="socketId"/> from <paramref name="remote"/>:
    /// Binding requests are answered (success, 400, 401, 420 or 487) and start triggered checks; Binding
    /// responses complete our checks. Anything malformed is dropped and counted.
    /// </summary>
    public void HandleStunPacket(int socketId, StunAddress remote, ReadOnlySpan<byte> packet, long now)
    {
        SetNow(now);
        if (ConnectionState == IceConnectionState.Closed)
        {
            Drop(IceDropReason.Closed, remote);
            return;
        }

        if (!StunMessageReader.TryParse(packet, out var message, out var error))
        {
            Drop(IceDropReason.Malformed, remote, error.Describe());
            return;
        }

        if (!_localBySocket.TryGetValue(socketId, out var local))
        {
            Drop(IceDropReason.UnknownSocket, remote);
            return;
        }

        switch (message.Class)
        {
            case StunClass.Request when message.Method == StunMethod.Binding:
                HandleRequest(local, remote, message);
                break;
            case StunClass.Request:
                Reject(local, remote, message, StunErrorCode.BadRequest, "not a Binding request");
                break;
            case StunClass.SuccessResponse or StunClass.ErrorResponse when message.Method == StunMethod.Binding:
                HandleResponse(local, remote, message);
                break;
            case StunClass.Indication when message.Method == StunMethod.Binding:
                break; // a keepalive (RFC 8445 §11)
            default:
                Drop(IceDropReason.UnsupportedMessage, remote);
                break;
        }

        Update();
    }

    /// <summary>
    /// <see cref="HandleStunPacket(int, StunAddress, ReadOnlySpan{byte}, long)"/> with the sender as a
    /// <see cref="System.Net.SocketAddress"/> (as <c>Socket.ReceiveFromAsync</c> fills it); no allocation.
    /// Senders of another family than IPv4/IPv6 are dropped.
    /// </summary>
    public void HandleStunPacket(int socketId, System.Net.SocketAddress remote, ReadOnlySpan<byte> packet, long now)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (!StunAddress.TryFromSocketAddress(remote, out var address))
        {
            Statistics.Drop(IceDropReason.Malformed);
            return;
        }

        HandleStunPacket(socketId, address, packet, now);
    }

    /// <summary>
    /// Writes the next datagram to send into <paramref name="destination"/> and says where it goes;
    /// 0 when there is nothing to send.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="MinTransmitBuffer"/>.</exception>
    public int PollTransmit(Span<byte> destination, out IceTransmit transmit)
    {
        if (destination.Length < MinTransmitBuffer)
        {
            throw new ArgumentException($"The buffer must hold at least {MinTransmitBuffer} bytes.", nameof(destination));
        }

        while (_outgoing.TryDequeue(out var item))
        {
            var length = Write(item, destination);
            if (length > 0)
            {
                transmit = new IceTransmit(item.SocketId, item.Remote);
                return length;
            }
        }

        transmit = default;
        return 0;
    }

    /// <summary>The next time <see cref="HandleTimeout"/> must be called (absolute ms), or null. May be in the past: call it at once.</summary>
    public long? PollTimeout()
    {
        if (ConnectionState == IceConnectionState.Closed)
        {
            return null;
        }

        if (_checkingStartPending)
        {
            return _now;
        }

        var deadline = long.MaxValue;
        foreach (var transaction in _transactionList)
        {
            deadline = Math.Min(deadline, transaction.Deadline);
        }

        if (HasCheckToSend())
        {
            deadline = Math.Min(deadline, _lastCheckAt + _options.CheckInterval);
        }

        // Deadlines of conditions are only worth a wake-up while they lie ahead: once passed, every
        // call re-evaluates them anyway.
        if (Role == IceRole.Controlling && !HasCurrentSelection && _nominating is null && _firstValidAt is { } firstValid)
        {
            deadline = Later(deadline, firstValid + _options.NominationTimeout);
            deadline = Later(deadline, firstValid + _options.ReachablePairNominationTimeout);
        }

        if (_selected is { } selected && !_consentLost)
        {
            deadline = Math.Min(deadline, _nextConsentAt);
            deadline = Later(deadline, selected.LastResponseAt + _options.DisconnectedTimeout);
            deadline = Later(deadline, selected.LastResponseAt + _options.ConsentTimeout);
        }

        if (ConnectionState == IceConnectionState.Checking && !_checksFailed)
        {
            deadline = Later(deadline, _checkingStartedAt + _options.CheckingTimeout);
        }

        return deadline == long.MaxValue ? null : deadline;
    }

    private void SetNow(long now)
    {
        _now = now;
        if (_checkingStartPending)
        {
            _checkingStartPending = false;
            _checkingStartedAt = now;
        }
    }

    private long Later(long deadline, long candidate) => candidate > _now ? Math.Min(deadline, candidate) : deadline;

    /// <summary>Retransmits or fails checks, paces new checks (Ta), nominates, sends consent checks and updates the state.</summary>
    public void HandleTimeout(long now)
    {
        SetNow(now);
        if (ConnectionState == IceConnectionState.Closed)
        {
            return;
        }

        for (var i = _transactionList.Count - 1; i >= 0; i--)
        {
            if (i >= _transactionList.Count)
            {
                continue;
            }

            var transaction = _transactionList[i];
            if (now < transaction.Deadline)
            {
                continue;
            }

            if (transaction.Transmissions < transaction.MaxTransmissions)
            {
                transaction.Transmissions++;
                transaction.Rto = Math.Min(transaction.Rto * 2, _options.MaxRetransmissionTimeout);
                transaction.Deadline = now + transaction.Rto;
                Enqueue(new Outgoing(OutgoingKind.Request, transaction.Pair.Local.SocketId, transaction.Pair.Remote.Address, transaction.Id, transaction));
            }
            else
            {
                RemoveTransaction(transaction);
                OnTransactionTimeout(transaction);
            }
        }

        if (HasCheckToSend() && now >= _lastCheckAt + _options.CheckInterval)
        {
            SendNextCheck();
        }

        if (_selected is { } selected && !_consentLost && now >= _nextConsentAt)
        {
            StartTransaction(selected, IceCheckKind.Consent);
            _nextConsentAt = now + NextConsentDelay();
        }

        Update();
    }

    /// <summary>The next event, if any.</summary>
    public bool TryPollEvent(out IceEvent e) => _events.TryDequeue(out e);

    /// <summary>The socket and remote address of the selected pair, for the data path (no allocation).</summary>
    public bool TryGetSelectedPair(out int socketId, out StunAddress remote)
    {
        if (_selected is { } selected && ConnectionState is not (IceConnectionState.Failed or IceConnectionState.Closed))
        {
            socketId = selected.Local.SocketId;
            remote = selected.Remote.Address;
            return true;
        }

        socketId = 0;
        remote = default;
        return false;
    }

    /// <summary>Whether <paramref name="remote"/> is the remote side of a candidate pair on <paramref name="socketId"/> (so a driver can drop non-STUN datagrams from strangers).</summary>
    public bool IsKnownRemote(int socketId, StunAddress remote) =>
        ConnectionState != IceConnectionState.Closed
        && (_pairIndex.ContainsKey((socketId, remote)) || (_selected is { } selected && selected.Local.SocketId == socketId && selected.Remote.Address == remote));

    /// <summary><see cref="IsKnownRemote(int, StunAddress)"/> for a <see cref="System.Net.SocketAddress"/>; no allocation.</summary>
    public bool IsKnownRemote(int socketId, System.Net.SocketAddress remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        return StunAddress.TryFromSocketAddress(remote, out var address) && IsKnownRemote(socketId, address);
    }

    /// <summary>Stops everything: no more transmissions, state "closed".</summary>
    public void Close()
    {
        if (ConnectionState == IceConnectionState.Closed)
        {
            return;
        }

        _outgoing.Clear();
        _transactions.Clear();
        _transactionList.Clear();
        _triggered.Clear();
        SetState(IceConnectionState.Closed);
    }

    // ---- Incoming requests (RFC 8445 §7.3) ----

    private void HandleRequest(LocalCandidate local, StunAddress source, StunMessageReader message)
    {
        if (!message.HasFingerprint)
        {
            Reject(local, source, message, StunErrorCode.BadRequest, "no FINGERPRINT");
            return;
        }

        if (message.UnknownComprehensionRequiredCount > 0)
        {
            Span<ushort> unknown = stackalloc ushort[4];
            var count = message.CopyUnknownComprehensionRequired(unknown);
            ulong packed = 0;
            for (var i = 0; i < count; i++)
            {
                packed |= (ulong)unknown[i] << (16 * i);
            }

            Statistics.RequestsRejected++;
            IceLog.Rejected(_logger, source.ToString(), 420, "unknown comprehension-required attribute");
            Enqueue(new Outgoing(OutgoingKind.Error, local.SocketId, source, message.TransactionId, null, _generation, (ushort)StunErrorCode.UnknownAttribute, packed, (byte)count));
            return;
        }

        if (!message.TryGetUsername(out var username) || !message.HasMessageIntegrity)
        {
            Reject(local, source, message, StunErrorCode.BadRequest, "no USERNAME or MESSAGE-INTEGRITY");
            return;
        }

        // USERNAME is "ours:theirs" (RFC 8445 §7.2.2); only our half is known before the answer arrives.
        // During a restart the previous generation's still counts: the peer checks consent with it.
        var generation = _generation.MatchesIncoming(username) ? _generation
            : _previousGeneration is { } previous && previous.MatchesIncoming(username) ? previous
            : null;
        if (generation is null)
        {
            Reject(local, source, message, StunErrorCode.Unauthenticated, "wrong USERNAME");
            return;
        }

        if (!message.VerifyMessageIntegrity(generation.LocalKey))
        {
            Reject(local, source, message, StunErrorCode.Unauthenticated, "MESSAGE-INTEGRITY mismatch");
            return;
        }

        var hasControlling = message.TryGetIceControlling(out var theirControlling);
        var hasControlled = message.TryGetIceControlled(out var theirControlled);
        if (!message.TryGetPriority(out var priority) || hasControlling == hasControlled)
        {
            Reject(local, source, message, StunErrorCode.BadRequest, "no PRIORITY or no single role attribute");
            return;
        }

        // Role conflicts (RFC 8445 §7.3.1.1): the larger tie-breaker keeps controlling.
        if (Role == IceRole.Controlling && hasControlling)
        {
            if (TieBreaker >= theirControlling)
            {
                Reject(local, source, message, StunErrorCode.RoleConflict, "both controlling, ours wins", generation);
                return;
            }

            SwitchRole(IceRole.Controlled, "both controlling, theirs wins");
        }
        else if (Role == IceRole.Controlled && hasControlled)
        {
            if (TieBreaker < theirControlled)
            {
                Reject(local, source, message, StunErrorCode.RoleConflict, "both controlled, theirs wins", generation);
                return;
            }

            SwitchRole(IceRole.Controlling, "both controlled, ours wins");
        }

        Statistics.RequestsAnswered++;
        Enqueue(new Outgoing(OutgoingKind.Success, local.SocketId, source, message.TransactionId, null, generation));
        if (generation != _generation)
        {
            return; // answered for the old selected pair's consent; the new checklist is not the old one's
        }

        var useCandidate = hasControlling && message.HasUseCandidate;
        if (_generation.RemoteKey is null)
        {
            RememberEarlyCheck(new EarlyCheck(local.SocketId, source, priority, useCandidate));
            return;
        }

        ProcessIncomingCheck(local, source, priority, useCandidate);
    }

    private void RememberEarlyCheck(EarlyCheck check)
    {
        for (var i = 0; i < _earlyChecks.Count; i++)
        {
            if (_earlyChecks[i].SocketId == check.SocketId && _earlyChecks[i].Source == check.Source)
            {
                _earlyChecks[i] = check with { UseCandidate = check.UseCandidate || _earlyChecks[i].UseCandidate };
                return;
            }
        }

        if (_earlyChecks.Count < _options.MaxEarlyChecks)
        {
            _earlyChecks.Add(check);
        }
    }

    // RFC 8445 §7.3.1.3–§7.3.1.5: learn a peer-reflexive candidate, trigger a check, note nomination.
    private void ProcessIncomingCheck(LocalCandidate local, StunAddress source, uint priority, bool useCandidate)
    {
        if (!_remoteByAddress.TryGetValue(source, out var remote))
        {
            if (_remoteCandidates.Count >= _options.MaxRemoteCandidates)
            {
                return;
            }

            var candidate = new IceCandidate
            {
                Foundation = "prflx" + (++_prflxCounter).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Component = local.Candidate.Component,
                Priority = priority,
                Address = source.ToIPAddress().ToString(),
                Port = source.Port,
                Type = IceCandidateType.PeerReflexive,
            };
            remote = new RemoteCandidate(candidate, source);
            _remoteByAddress.Add(source, remote);
            _remoteCandidates.Add(remote);
            IceLog.PeerReflexive(_logger, "remote", source.ToString());
            _events.Enqueue(new IceEvent(IceEventKind.RemoteCandidateAdded, Candidate: candidate));
        }

        if (!_pairIndex.TryGetValue((local.SocketId, source), out var pair))
        {
            pair = TryCreatePair(local, remote, triggered: true);
            if (pair is null)
            {
                return;
            }

            pair.CheckReceived = true;
        }
        else
        {
            pair.CheckReceived = true;
            switch (pair.State)
            {
                case CandidatePairState.Frozen or CandidatePairState.Waiting or CandidatePairState.Failed:
                    pair.State = CandidatePairState.Waiting;
                    Trigger(pair);
                    break;

                // In progress: the outstanding check will answer (RFC 8445 §7.3.1.4 would restart it;
                // letting it run avoids restarting on every retransmission of a fast peer).
                // Succeeded: nothing to do.
            }
        }

        if (useCandidate && Role == IceRole.Controlled)
        {
            pair.RemoteNominated = true;
            if (pair.State == CandidatePairState.Succeeded)
            {
                Nominate(pair);
            }
        }
    }

    private void Reject(LocalCandidate local, StunAddress source, StunMessageReader message, StunErrorCode code, string reason, IceGeneration? generation = null)
    {
        Statistics.RequestsRejected++;
        IceLog.Rejected(_logger, source.ToString(), (int)code, reason);
        Enqueue(new Outgoing(OutgoingKind.Error, local.SocketId, source, message.TransactionId, null, generation ?? _generation, (ushort)code));
    }

    // ---- Responses (RFC 8445 §7.2.5) ----

    private void HandleResponse(LocalCandidate local, StunAddress source, StunMessageReader message)
    {
        if (!_transactions.TryGetValue(message.TransactionId, out var transaction))
        {
            Drop(IceDropReason.UnknownTransaction, source);
            return;
        }

        if (transaction.Pair.Generation.RemoteKey is not { } remoteKey || !message.VerifyMessageIntegrity(remoteKey))
        {
            Drop(IceDropReason.BadResponseIntegrity, source);
            return;
        }

        Statistics.ResponsesReceived++;
        RemoveTransaction(transaction);
        var pair = transaction.Pair;
        if (pair.Check == transaction)
        {
            pair.Check = null;
        }

        // Non-symmetric answers fail the check (RFC 8445 §7.2.5.2.1).
        if (local != pair.Local || source != pair.Remote.Address)
        {
            Fail(transaction, "answered from another address");
            return;
        }

        if (message.Class == StunClass.ErrorResponse)
        {
            message.TryGetErrorCode(out var code, out _);
            if (code == (int)StunErrorCode.RoleConflict && transaction.Kind != IceCheckKind.Consent)
            {
                // RFC 8445 §7.2.5.1: take the role opposite to the one the request claimed, check again.
                if (Role == transaction.Role)
                {
                    SwitchRole(transaction.Role == IceRole.Controlling ? IceRole.Controlled : IceRole.Controlling, "487 from the peer");
                }

                if (transaction.Kind == IceCheckKind.Nomination && _nominating == pair)
                {
                    _nominating = null;
                }

                if (pair.State != CandidatePairState.Succeeded)
                {
                    pair.State = CandidatePairState.Waiting;
                }

                Trigger(pair);
                return;
            }

            Fail(transaction, $"error {code}");
            return;
        }

        pair.LastResponseAt = _now;
        if (message.TryGetXorMappedAddress(out var mapped) && mapped != local.Base)
        {
            LearnLocalPeerReflexive(local, mapped);
            pair.MappedLocal ??= FindReflexive(local.SocketId, mapped);
        }

        if (pair.State != CandidatePairState.Succeeded)
        {
            pair.State = CandidatePairState.Succeeded;
            IceLog.CheckResult(_logger, pair.ToString(), "succeeded");
            _firstValidAt ??= _now;

            // RFC 8445 §7.2.5.3.3: pairs of the same foundation need not wait any more.
            foreach (var other in _pairs)
            {
                if (other.State == CandidatePairState.Frozen && other.Foundation == pair.Foundation)
                {
                    other.State = CandidatePairState.Waiting;
                }
            }
        }

        if (transaction.Kind == IceCheckKind.Nomination)
        {
            if (_nominating == pair)
            {
                _nominating = null;
            }

            if (Role == IceRole.Controlling)
            {
                Nominate(pair);
            }
        }
        else if (Role == IceRole.Controlled && pair.RemoteNominated)
        {
            Nominate(pair);
        }
    }

    /// <summary>The server- or peer-reflexive candidate of <paramref name="socketId"/> at <paramref name="mapped"/>, if any.</summary>
    private IceCandidate? FindReflexive(int socketId, StunAddress mapped)
    {
        foreach (var existing in _localCandidates)
        {
            if (existing.SocketId == socketId
                && existing.Candidate.Type is IceCandidateType.ServerReflexive or IceCandidateType.PeerReflexive
                && existing.Candidate.Port == mapped.Port
                && existing.Candidate.TryGetTransportAddress(out var address) && address == mapped)
            {
                return existing.Candidate;
            }
        }

        return null;
    }

    private void LearnLocalPeerReflexive(LocalCandidate local, StunAddress mapped)
    {
        foreach (var existing in _localCandidates)
        {
            if (existing.Base == mapped || (existing.Candidate.Type == IceCandidateType.PeerReflexive && existing.SocketId == local.SocketId
                && existing.Candidate.Address == mapped.ToIPAddress().ToString() && existing.Candidate.Port == mapped.Port))
            {
                return;
            }
        }

        var ip = mapped.ToIPAddress();
        var candidate = new IceCandidate
        {
            Foundation = IceCandidate.ComputeFoundation(IceCandidateType.PeerReflexive, local.Base.ToIPAddress()),
            Component = local.Candidate.Component,
            Priority = PeerReflexivePriority(local),
            Address = ip.ToString(),
            Port = mapped.Port,
            Type = IceCandidateType.PeerReflexive,
            RelatedAddress = local.Candidate.Address,
            RelatedPort = local.Candidate.Port,
        };
        _localCandidates.Add(new LocalCandidate(candidate, local.SocketId, local.Base));
        IceLog.PeerReflexive(_logger, "local", mapped.ToString());
        _events.Enqueue(new IceEvent(IceEventKind.LocalCandidateAdded, Candidate: candidate));
    }

    private void Fail(IceCheckTransaction transaction, string reason)
    {
        var pair = transaction.Pair;
        if (transaction.Kind == IceCheckKind.Consent)
        {
            return; // consent is judged by silence (RFC 7675), not by one answer
        }

        if (_nominating == pair)
        {
            _nominating = null;
        }

        pair.State = CandidatePairState.Failed;
        pair.Nominated = false;
        IceLog.CheckResult(_logger, pair.ToString(), "failed: " + reason);
        if (_selected == pair)
        {
            _selected = null;
            SelectBestNominated();
        }
    }

    private void OnTransactionTimeout(IceCheckTransaction transaction)
    {
        if (transaction.Pair.Check == transaction)
        {
            transaction.Pair.Check = null;
        }

        if (transaction.Kind == IceCheckKind.Check && transaction.Pair.State != CandidatePairState.InProgress)
        {
            return; // the pair moved on (e.g. succeeded through another transaction)
        }

        Fail(transaction, "timed out");
    }

    // ---- Checks out (RFC 8445 §6.1.4, §7.2.4) ----

    private bool HasCheckToSend()
    {
        if (_generation.RemoteKey is null)
        {
            return false;
        }

        if (_triggered.Count > 0)
        {
            return true;
        }

        if (HasCurrentSelection)
        {
            return false; // ordinary checks stop once a pair is nominated (RFC 8445 §8.1.2)
        }

        foreach (var pair in _pairs)
        {
            if (pair.State is CandidatePairState.Waiting or CandidatePairState.Frozen)
            {
                return true;
            }
        }

        return false;
    }

    private void SendNextCheck()
    {
        CandidatePair? next = null;
        while (_triggered.TryDequeue(out var candidate))
        {
            candidate.Triggered = false;
            if (candidate.Check is null && candidate.State != CandidatePairState.Failed)
            {
                next = candidate;
                break;
            }
        }

        if (next is null && !HasCurrentSelection)
        {
            next = _pairs.FirstOrDefault(p => p.State == CandidatePairState.Waiting)
                ?? _pairs.FirstOrDefault(p => p.State == CandidatePairState.Frozen);
        }

        if (next is null)
        {
            return;
        }

        _lastCheckAt = _now;
        if (next.State != CandidatePairState.Succeeded)
        {
            next.State = CandidatePairState.InProgress;
        }

        next.Check = StartTransaction(next, IceCheckKind.Check);
    }

    private IceCheckTransaction StartTransaction(CandidatePair pair, IceCheckKind kind)
    {
        var consent = kind == IceCheckKind.Consent;
        var transaction = new IceCheckTransaction(StunTransactionId.NewRandom(), pair, kind, Role,
            consent ? 1 : Math.Max(1, _options.MaxTransmissions), _options.InitialRetransmissionTimeout)
        {
            Transmissions = 1,
        };

        // A consent check is sent once; an unanswered one simply does not refresh consent.
        transaction.Deadline = _now + (consent ? _options.MaxRetransmissionTimeout : transaction.Rto);
        _transactions.Add(transaction.Id, transaction);
        _transactionList.Add(transaction);
        Enqueue(new Outgoing(OutgoingKind.Request, pair.Local.SocketId, pair.Remote.Address, transaction.Id, transaction));
        return transaction;
    }

    private void RemoveTransaction(IceCheckTransaction transaction)
    {
        _transactions.Remove(transaction.Id);
        _transactionList.Remove(transaction);
    }

    private void Trigger(CandidatePair pair)
    {
        if (!pair.Triggered)
        {
            pair.Triggered = true;
            _triggered.Enqueue(pair);
        }
    }

    // ---- Nomination and selection (RFC 8445 §8) ----

    private void TryNominate()
    {
        if (Role != IceRole.Controlling || HasCurrentSelection || _nominating is not null
            || _generation.RemoteKey is null)
        {
            return;
        }

        CandidatePair? best = null;
        var betterPending = false;
        var betterReachable = false;
        foreach (var pair in _pairs)
        {
            if (pair.State == CandidatePairState.Succeeded)
            {
                best = pair;
                break;
            }

            var pending = pair.State is CandidatePairState.Frozen or CandidatePairState.Waiting or CandidatePairState.InProgress;
            betterPending |= pending;
            betterReachable |= pending && pair.CheckReceived;
        }

        // Regular nomination (RFC 8445 §8.1.1) lets the controlling agent wait for better pairs.
        // Nominating once is final (no renomination), so a direct pair whose answer a lossy link
        // delays past the short wait would leave the session on a relay for good: a better pair
        // the remote has already reached us on gets the longer wait.
        var waitUntil = betterReachable ? _firstValidAt + Math.Max(_options.NominationTimeout, _options.ReachablePairNominationTimeout)
            : betterPending ? _firstValidAt + _options.NominationTimeout
            : null;
        if (best is null || _now < waitUntil)
        {
            return;
        }

        // A check with USE-CANDIDATE on the best valid pair, sent before other checks.
        _nominating = best;
        best.Check = StartTransaction(best, IceCheckKind.Nomination);
    }

    private void Nominate(CandidatePair pair)
    {
        if (pair.Nominated)
        {
            return;
        }

        pair.Nominated = true;
        IceLog.CheckResult(_logger, pair.ToString(), "nominated");
        SelectBestNominated();
    }

    /// <summary>A pair is selected and it belongs to the current generation (not the one a restart left running).</summary>
    private bool HasCurrentSelection => _selected is { } selected && selected.Generation == _generation;

    private void SelectBestNominated()
    {
        CandidatePair? best = null;
        foreach (var pair in _pairs)
        {
            if (pair.Nominated && pair.State == CandidatePairState.Succeeded)
            {
                best = pair;
                break;
            }
        }

        if (best is null || best == _selected)
        {
            return;
        }

        if (_previousGeneration is not null)
        {
            // The restart is done: the old pair and its credentials retire (RFC 8445 §9).
            for (var i = _transactionList.Count - 1; i >= 0; i--)
            {
                if (_transactionList[i].Pair.Generation == _previousGeneration)
                {
                    RemoveTransaction(_transactionList[i]);
                }
            }

            _previousGeneration = null;
        }

        _selected = best;
        _consentLost = false;
        _checksFailed = false;
        best.LastResponseAt = Math.Max(best.LastResponseAt, _now);
        _nextConsentAt = _now + NextConsentDelay();
        var pairView = best.ToPublic();
        IceLog.Selected(_logger, pairView.ToString());
        _events.Enqueue(new IceEvent(IceEventKind.SelectedCandidatePairChanged, Pair: pairView));
    }

    private long NextConsentDelay() => (long)(_options.ConsentInterval * (0.8 + (0.4 * _jitter.NextDouble())));

    // ---- State ----

    private void Update()
    {
        TryNominate();
        if (ConnectionState == IceConnectionState.Closed)
        {
            return;
        }

        if (_selected is { } selected && !_consentLost)
        {
            var silent = _now - selected.LastResponseAt;
            if (silent >= _options.ConsentTimeout)
            {
                // RFC 7675 §5.1: consent expired; stop sending on the pair.
                _consentLost = true;
                SetState(IceConnectionState.Failed);
                return;
            }

            if (silent >= _options.DisconnectedTimeout)
            {
                SetState(IceConnectionState.Disconnected);
                return;
            }

            SetState(IsCheckingOver() && _remoteEndOfCandidates ? IceConnectionState.Completed : IceConnectionState.Connected);
            return;
        }

        if (_consentLost || _generation.RemoteKey is null)
        {
            return;
        }

        if (!_checksFailed && !_checkingStartPending && IsCheckingOver() && !_pairs.Any(p => p.State == CandidatePairState.Succeeded)
            && ((_remoteEndOfCandidates && _pairs.Count > 0) || _now - _checkingStartedAt >= _options.CheckingTimeout))
        {
            _checksFailed = true;
        }

        SetState(_checksFailed ? IceConnectionState.Failed : IceConnectionState.Checking);
    }

    private bool IsCheckingOver()
    {
        if (_triggered.Count > 0 || _nominating is not null)
        {
            return false;
        }

        foreach (var transaction in _transactionList)
        {
            if (transaction.Kind != IceCheckKind.Consent)
            {
                return false;
            }
        }

        if (HasCurrentSelection)
        {
            return true;
        }

        foreach (var pair in _pairs)
        {
            if (pair.State is CandidatePairState.Frozen or CandidatePairState.Waiting or CandidatePairState.InProgress)
            {
                return false;
            }
        }

        return true;
    }

    private void SetState(IceConnectionState state)
    {
        if (ConnectionState == state)
        {
            return;
        }

        // Like browsers, pass through "connected" on the way to "completed".
        if (state == IceConnectionState.Completed && ConnectionState is not (IceConnectionState.Connected or IceConnectionState.Closed))
        {
            SetState(IceConnectionState.Connected);
        }

        ConnectionState = state;
        IceLog.StateChanged(_logger, state.ToW3CName());
        _events.Enqueue(new IceEvent(IceEventKind.ConnectionStateChanged, state));
    }

    private void SwitchRole(IceRole role, string reason)
    {
        if (Role == role)
        {
            return;
        }

        Role = role;
        IceLog.RoleSwitched(_logger, role, reason);
        foreach (var pair in _pairs)
        {
            pair.ComputePriority(role);
        }

        SortPairs();
        if (role == IceRole.Controlled)
        {
            _nominating = null;
        }
    }

    // ---- Pairs ----

    private CandidatePair? TryCreatePair(LocalCandidate local, RemoteCandidate remote, bool triggered)
    {
        if (local.Candidate.Component != remote.Candidate.Component || local.Base.Family != remote.Address.Family
            || _pairIndex.ContainsKey((local.SocketId, remote.Address)))
        {
            return null;
        }

        if (_pairs.Count >= _options.MaxCandidatePairs)
        {
            IceLog.RemoteCandidateDropped(_logger, remote.Candidate.ToString(), "checklist full");
            return null;
        }

        var pair = new CandidatePair(local, remote, _generation);
        pair.ComputePriority(Role);

        // RFC 8445 §6.1.2.6: one pair per foundation starts Waiting, the others wait Frozen for it.
        pair.State = triggered || !_pairs.Any(p => p.Foundation == pair.Foundation && p.State != CandidatePairState.Failed)
            ? CandidatePairState.Waiting
            : CandidatePairState.Frozen;
        var index = 0;
        while (index < _pairs.Count && _pairs[index].Priority >= pair.Priority)
        {
            index++;
        }

        _pairs.Insert(index, pair);
        _pairIndex.Add((local.SocketId, remote.Address), pair);
        if (triggered)
        {
            Trigger(pair);
        }

        return pair;
    }

    private void SortPairs() => _pairs.Sort(static (a, b) => b.Priority.CompareTo(a.Priority));

    private static uint PeerReflexivePriority(LocalCandidate local) =>
        ((uint)IceCandidateType.PeerReflexive.TypePreference() << 24) | (local.Candidate.Priority & 0x00FFFFFF);

    // ---- Output ----

    private void Enqueue(in Outgoing item)
    {
        if (_outgoing.Count >= MaxQueuedTransmits)
        {
            Statistics.Drop(IceDropReason.QueueFull);
            return;
        }

        _outgoing.Enqueue(item);
    }

    private int Write(in Outgoing item, Span<byte> destination)
    {
        switch (item.Kind)
        {
            case OutgoingKind.Request:
            {
                var transaction = item.Transaction!;
                var generation = transaction.Pair.Generation;
                if (!_transactions.ContainsKey(transaction.Id) || generation.RemoteKey is null)
                {
                    return 0; // answered or abandoned before it left
                }

                var writer = new StunMessageWriter(destination, StunMethod.Binding, StunClass.Request, transaction.Id);
                writer.AddUsername(generation.OutgoingUsername);
                writer.AddPriority(PeerReflexivePriority(transaction.Pair.Local));
                if (transaction.Role == IceRole.Controlling)
                {
                    writer.AddIceControlling(TieBreaker);
                    if (transaction.UseCandidate)
                    {
                        writer.AddUseCandidate();
                    }
                }
                else
                {
                    writer.AddIceControlled(TieBreaker);
                }

                writer.AddMessageIntegrity(generation.RemoteKey);
                writer.AddFingerprint();
                Statistics.RequestsSent++;
                return writer.TryGetMessage(out var message) ? message.Length : 0;
            }

            case OutgoingKind.Success:
            {
                var writer = new StunMessageWriter(destination, StunMethod.Binding, StunClass.SuccessResponse, item.TransactionId);
                writer.AddXorMappedAddress(item.Remote);
                writer.AddMessageIntegrity(item.Generation!.LocalKey);
                writer.AddFingerprint();
                return writer.TryGetMessage(out var message) ? message.Length : 0;
            }

            default:
            {
                var writer = new StunMessageWriter(destination, StunMethod.Binding, StunClass.ErrorResponse, item.TransactionId);
                var code = (StunErrorCode)item.ErrorCode;
                writer.AddErrorCode(code);
                if (code == StunErrorCode.UnknownAttribute)
                {
                    Span<ushort> unknown = stackalloc ushort[4];
                    for (var i = 0; i < item.UnknownCount; i++)
                    {
                        unknown[i] = (ushort)(item.Unknown >> (16 * i));
                    }

                    writer.AddUnknownAttributes(unknown[..item.UnknownCount]);
                }

                // A 487 is authenticated (RFC 8445 §7.3.1.1); 400 and 401 cannot be (RFC 8489 §9.1.3).
                if (code == StunErrorCode.RoleConflict)
                {
                    writer.AddMessageIntegrity(item.Generation!.LocalKey);
                }

                writer.AddFingerprint();
                return writer.TryGetMessage(out var message) ? message.Length : 0;
            }
        }
    }

    private void Drop(IceDropReason reason, StunAddress remote, string? detail = null)
    {
        Statistics.Drop(reason);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            IceLog.Dropped(_logger, remote.ToString(), detail is null ? reason.ToString() : $"{reason} ({detail})");
        }
    }

    private enum OutgoingKind : byte
    {
        Request,
        Success,
        Error,
    }

    private readonly record struct Outgoing(
        OutgoingKind Kind,
        int SocketId,
        StunAddress Remote,
        StunTransactionId TransactionId,
        IceCheckTransaction? Transaction,
        IceGeneration? Generation = null,
        ushort ErrorCode = 0,
        ulong Unknown = 0,
        byte UnknownCount = 0);

    private readonly record struct EarlyCheck(int SocketId, StunAddress Source, uint Priority, bool UseCandidate);
}
