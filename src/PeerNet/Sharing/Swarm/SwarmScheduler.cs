using PeerNet.Sharing.Wire;

namespace PeerNet.Sharing.Swarm;

/// <summary>
/// One item's swarm (docs/sharing.md §5, §6), sans-I/O: a <see cref="ShareWireSession"/> per
/// connection, and the decisions a good downloader and uploader make across them — info block from
/// one peer at a time, rarest first with per-peer pipelining, a streaming priority window,
/// endgame, stall detection, dropping and reporting corrupt peers, upload slots, an upload rate
/// cap, haves. The driver
/// feeds it each connection's messages and time and takes messages, timers and events
/// (<see cref="TryPollEvent"/>). Not thread-safe: one logical thread drives it. Deterministic for a
/// seeded Random.
/// </summary>
public sealed class SwarmScheduler
{
    private readonly byte[] _contentId;
    private readonly SwarmOptions _options;
    private readonly IContentInfoVerifier? _infoVerifier;
    private readonly Random _random;
    private readonly Dictionary<string, SwarmPeer> _peers = [];
    private readonly List<SwarmPeer> _order = [];
    private readonly Queue<SwarmEvent> _events = new();
    private readonly UploadSlots _slots;
    private readonly List<(SwarmPeer Peer, int Piece)> _stalled = [];
    private readonly List<SwarmPeer> _silent = [];

    // Under an upload cap, the peers' PieceNeeded wait here (oldest first) until the bucket has
    // the piece's bytes: a piece is read and handed to its session only when it may be sent, so
    // the sessions never hold bytes the cap does not allow, and control messages are never held.
    private readonly List<(SwarmPeer Peer, int Piece)> _uploadsWaiting = [];
    private TokenBucket? _uploadBucket;
    private long? _maxUploadBytesPerSecond;

    private IPieceVerifier? _verifier;
    private ReadOnlyMemory<byte> _infoBlock;
    private PiecePicker? _picker;
    private PieceBitfield? _local;
    private SwarmPeer? _infoSource;
    private bool _fillNeeded;
    private long _appliedSlotsVersion = -1;
    private long _nextRechoke = -1;
    private long _nextOptimistic = -1;
    private bool _completedReported;

    /// <summary>
    /// A swarm for <paramref name="contentId"/>. Without the info block, call <see cref="SetInfo"/>
    /// when it is known, or pass <paramref name="infoVerifier"/> so the swarm fetches it from a peer.
    /// </summary>
    public SwarmScheduler(ReadOnlySpan<byte> contentId, SwarmOptions? options = null, IContentInfoVerifier? infoVerifier = null, Random? random = null)
    {
        if (contentId.Length != ShareWireLimits.ContentIdLength)
        {
            throw new ArgumentException("A content id is 32 bytes.", nameof(contentId));
        }

        _contentId = contentId.ToArray();
        _options = options ?? new SwarmOptions();
        _options.Validate();
        _infoVerifier = infoVerifier;
        _random = random ?? new Random();
        _slots = new UploadSlots(_options.UploadSlots, _random);
    }

    /// <summary>The item's content id.</summary>
    public ReadOnlySpan<byte> ContentId => _contentId;

    /// <summary>Whether the info block is known.</summary>
    public bool HasInfo => _verifier is not null;

    /// <summary>pieceCount, or -1 before the info block is known.</summary>
    public int PieceCount => _verifier?.PieceCount ?? -1;

    /// <summary>The pieces we have stored (shared with every session's bitfield).</summary>
    public PieceBitfield? LocalPieces => _local;

    /// <summary>Every piece is stored.</summary>
    public bool IsComplete => _local is { IsComplete: true };

    /// <summary>The piece picker, once the info block is known (for inspection).</summary>
    public PiecePicker? Picker => _picker;

    /// <summary>Counters.</summary>
    public SwarmStatistics Statistics { get; } = new();

    /// <summary>The connections, in the order they were added.</summary>
    public IEnumerable<string> PeerIds => _order.Select(p => p.Id);

    /// <summary>A connection's session (for inspection; drive it through the scheduler).</summary>
    public ShareWireSession? GetSession(string peerId) => _peers.TryGetValue(peerId, out var p) ? p.Session : null;

    /// <summary>
    /// Most bytes of sealed pieces served per second over all peers together (null: no cap). A
    /// token bucket whose burst is one piece or 100 ms worth, whichever is larger, lets each
    /// requested piece go (<see cref="SwarmEventKind.PieceNeeded"/>) only when its bytes are in the
    /// bucket; <see cref="PollTimeout"/> says when the next may go. May be changed at any time (the
    /// bucket starts full again).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A value below 1.</exception>
    public long? MaxUploadBytesPerSecond
    {
        get => _maxUploadBytesPerSecond;
        set
        {
            if (value is < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(value), "An upload cap is at least 1 byte per second.");
            }

            _maxUploadBytesPerSecond = value;
            _uploadBucket = null;
        }
    }

    /// <summary>Requested pieces waiting for the upload cap.</summary>
    public int UploadsWaiting => _uploadsWaiting.Count;

    /// <summary>How many requests we keep outstanding at <paramref name="peerId"/> now.</summary>
    public int GetPipelineDepth(string peerId) => _peers.TryGetValue(peerId, out var p) ? p.PipelineDepth : 0;

    /// <summary>
    /// Makes the info block known (a seeder, a resumed download, or one fetched by the driver).
    /// <paramref name="have"/> is what is already stored (null: nothing).
    /// </summary>
    public void SetInfo(ReadOnlyMemory<byte> infoBlock, IPieceVerifier verifier, PieceBitfield? have, long now)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        if (_verifier is not null)
        {
            throw new InvalidOperationException("The info block is already known.");
        }

        if (have is not null && have.PieceCount != verifier.PieceCount)
        {
            throw new ArgumentException("The bitfield's count is not the verifier's pieceCount.", nameof(have));
        }

        _verifier = verifier;
        _infoBlock = infoBlock;
        _local = have ?? new PieceBitfield(verifier.PieceCount);
        _picker = new PiecePicker(verifier.PieceCount, _random);
        for (var p = _local.NextSet(0); p >= 0; p = _local.NextSet(p + 1))
        {
            _picker.MarkHave(p);
        }

        foreach (var peer in _order.ToArray())
        {
            if (!peer.Detached)
            {
                peer.Session.SetInfo(infoBlock, verifier, _local);
                Process(peer, now);
            }
        }

        _fillNeeded = true;
        AfterChange(now);
    }

    /// <summary>A data channel to <paramref name="peerId"/> opened: its session starts (our hello is queued).</summary>
    public void AddPeer(string peerId, long now)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        if (_peers.ContainsKey(peerId))
        {
            throw new InvalidOperationException($"Peer {peerId} is already in the swarm.");
        }

        var session = new ShareWireSession(_contentId, _options.Session);
        if (_verifier is not null)
        {
            session.SetInfo(_infoBlock, _verifier, _local!);
        }

        session.Start();
        var peer = new SwarmPeer(peerId, session) { PipelineDepth = _options.InitialPipelineDepth, AddedAt = now };
        _peers.Add(peerId, peer);
        _order.Add(peer);
        _slots.Add(peerId);
        if (_nextRechoke < 0)
        {
            _nextRechoke = now + _options.RechokeIntervalMs;
            _nextOptimistic = now + _options.OptimisticUnchokeIntervalMs;
        }

        AfterChange(now);
    }

    /// <summary>The channel to <paramref name="peerId"/> closed (or the driver gave up on it). No event follows.</summary>
    public void RemovePeer(string peerId, long now)
    {
        if (!_peers.TryGetValue(peerId, out var peer))
        {
            return;
        }

        Detach(peer);
        Forget(peer);
        AfterChange(now);
    }

    /// <summary>Ends a connection on our side: with a code, <c>error</c> goes first (poll it), then PeerClosed.</summary>
    public void ClosePeer(string peerId, ShareErrorCode? code, string? text, long now)
    {
        if (_peers.TryGetValue(peerId, out var peer))
        {
            Drop(peer, SwarmPeerReason.Closed, code, text, now);
            AfterChange(now);
        }
    }

    /// <summary>One message from <paramref name="peerId"/>'s channel. Never throws on its content.</summary>
    public void HandleMessage(string peerId, ReadOnlySpan<byte> message, long now)
    {
        if (!_peers.TryGetValue(peerId, out var peer))
        {
            return;
        }

        peer.Session.HandleMessage(message, now);
        Process(peer, now);
        AfterChange(now);
    }

    /// <summary>Whether <paramref name="peerId"/> has a message to send now.</summary>
    public bool HasTransmit(string peerId) => _peers.TryGetValue(peerId, out var p) && p.Session.HasTransmit;

    /// <summary>
    /// The next message for <paramref name="peerId"/> (see <see cref="ShareWireSession.PollTransmit"/>);
    /// 0 when none. <paramref name="destination"/> holds at least 65,536 bytes.
    /// </summary>
    public int PollTransmit(string peerId, Span<byte> destination, long now)
    {
        if (!_peers.TryGetValue(peerId, out var peer))
        {
            return 0;
        }

        var n = peer.Session.PollTransmit(destination);
        Process(peer, now);
        AfterChange(now);
        return n;
    }

    /// <summary>Answers <see cref="SwarmEventKind.PieceNeeded"/>. False when the request is gone.</summary>
    public bool ProvidePiece(string peerId, int piece, ReadOnlySpan<byte> sealedPiece, ReadOnlySpan<byte> proofHashes) =>
        _peers.TryGetValue(peerId, out var peer) && peer.Session.ProvidePiece(piece, sealedPiece, proofHashes);

    /// <summary>Answers <see cref="SwarmEventKind.PieceNeeded"/> with <c>reject</c>.</summary>
    public bool RejectPieceRequest(string peerId, int piece, long now)
    {
        if (!_peers.TryGetValue(peerId, out var peer))
        {
            return false;
        }

        var done = peer.Session.RejectRequest(piece);
        Process(peer, now);
        AfterChange(now);
        return done;
    }

    /// <summary>A verified piece is stored: announce it (have) to every peer.</summary>
    public void MarkPieceStored(int piece, long now)
    {
        var picker = RequirePicker();
        if (picker.GetState(piece) == PieceState.Have)
        {
            return;
        }

        if (picker.GetState(piece) != PieceState.Storing)
        {
            // Stored by other means (e.g. found on disk): count it as verified first.
            CancelOtherCopies(piece, except: null);
            MarkVerified(piece);
        }

        picker.MarkHave(piece);
        _local!.Set(piece);
        foreach (var peer in _order)
        {
            if (!peer.Detached)
            {
                peer.Session.SendHave(piece);
            }
        }

        AfterChange(now);
    }

    /// <summary>Storing a verified piece failed: it will be fetched again.</summary>
    public void MarkPieceStoreFailed(int piece, long now)
    {
        var picker = RequirePicker();
        if (picker.GetState(piece) != PieceState.Storing)
        {
            return;
        }

        picker.MarkStoreFailed(piece);
        foreach (var peer in _order)
        {
            if (!peer.Detached && peer.Counted is { } c && c[piece] && peer.Useful++ == 0)
            {
                peer.Session.SetInterested(true);
            }
        }

        _fillNeeded = true;
        AfterChange(now);
    }

    /// <summary>
    /// Streaming (§6 "Sequential priority"): request the wanted pieces in [first, first + count)
    /// before any other, in order. Move it as playback moves; count 0 turns it off.
    /// </summary>
    public void SetPriorityWindow(int firstPiece, int count, long now)
    {
        RequirePicker().SetPriorityWindow(firstPiece, count);
        _fillNeeded = true;
        foreach (var peer in _order)
        {
            peer.NothingWantedAt = -1;
        }

        AfterChange(now);
    }

    /// <summary>The next deadline (stalls, rechoke, the upload cap's next piece), or null.</summary>
    public long? PollTimeout()
    {
        long? deadline = _nextRechoke >= 0 && _order.Count > 0 ? Math.Min(_nextRechoke, _nextOptimistic) : null;
        if (_uploadsWaiting.Count > 0)
        {
            // No bucket yet (the cap was just changed): due at once.
            var next = _uploadBucket is { } bucket && _verifier is not null ? bucket.NextAvailableAt(_verifier.GetSealedPieceLength(_uploadsWaiting[0].Piece)) : 0;
            deadline = deadline is { } d ? Math.Min(d, next) : next;
        }

        foreach (var peer in _order)
        {
            if (!peer.Detached && !peer.Session.HasRemoteHello)
            {
                var due = peer.AddedAt + _options.HelloTimeoutMs;
                deadline = deadline is { } d0 ? Math.Min(d0, due) : due;
            }

            if (peer.Detached || peer.Requests.Count == 0)
            {
                continue;
            }

            var limit = StallLimit(peer);
            foreach (var at in peer.Requests.Values)
            {
                var d = at + limit;
                if (deadline is null || d < deadline)
                {
                    deadline = d;
                }
            }
        }

        return deadline;
    }

    /// <summary>Runs what is due: stalled requests (§6 "Stalls"), rechoke and optimistic unchoke (§5).</summary>
    public void HandleTimeout(long now)
    {
        _stalled.Clear();
        _silent.Clear();
        foreach (var peer in _order)
        {
            if (peer.Detached)
            {
                continue;
            }

            if (!peer.Session.HasRemoteHello && now - peer.AddedAt >= _options.HelloTimeoutMs)
            {
                _silent.Add(peer);
                continue;
            }

            var limit = StallLimit(peer);
            foreach (var (piece, at) in peer.Requests)
            {
                if (now - at >= limit)
                {
                    _stalled.Add((peer, piece));
                }
            }
        }

        foreach (var peer in _silent)
        {
            Drop(peer, SwarmPeerReason.NoHello, null, $"no hello within {_options.HelloTimeoutMs / 1000.0:0.#} s", now);
        }

        foreach (var (peer, piece) in _stalled)
        {
            if (peer.Detached || !peer.Requests.Remove(piece, out var requestedAt))
            {
                continue;
            }

            // Cancel it here and ask elsewhere (§6). Whether the peer stalled, which three times
            // drops it, is stricter: it sent no piece data at all since this request went out (a
            // slow but working uplink is not a stall), and requests queued together stall
            // together, so only a request sent after its last stall was noticed counts again.
            peer.Session.Cancel(piece);
            _picker!.RemoveRequest(piece);
            Statistics.Stalls++;
            Statistics.CancelsSent++;
            _fillNeeded = true;
            var episode = peer.Session.LastPieceDataAt < requestedAt && (peer.LastStallAt < 0 || requestedAt >= peer.LastStallAt);
            if (episode)
            {
                peer.LastStallAt = now;
            }

            if (episode && ++peer.Stalls >= _options.MaxStalls)
            {
                Drop(peer, SwarmPeerReason.Stalled, null, $"{peer.Stalls} requests stalled", now);
            }
        }

        if (_nextRechoke >= 0 && now >= Math.Min(_nextRechoke, _nextOptimistic))
        {
            var rotate = now >= _nextOptimistic;
            _slots.Rechoke(rotate);

            // A reject is not forever (an overloaded uploader may serve later): each round forgets them.
            foreach (var peer in _order)
            {
                if (peer.Rejected.Count > 0)
                {
                    peer.Rejected.Clear();
                    peer.NothingWantedAt = -1;
                    _fillNeeded = true;
                }
            }

            _nextRechoke = now + _options.RechokeIntervalMs;
            if (rotate)
            {
                _nextOptimistic = now + _options.OptimisticUnchokeIntervalMs;
            }
        }

        AfterChange(now);
    }

    /// <summary>Takes the next event.</summary>
    public bool TryPollEvent(out SwarmEvent e) => _events.TryDequeue(out e);

    private PiecePicker RequirePicker() => _picker ?? throw new InvalidOperationException("The info block is not known yet.");

    private long StallLimit(SwarmPeer peer)
    {
        if (peer.Completions < 2)
        {
            return _options.StallTimeoutMs;
        }

        var usual = (long)Math.Ceiling(_options.StallFactor * peer.UsualDuration);
        return Math.Clamp(usual, Math.Min(_options.MinStallTimeoutMs, _options.StallTimeoutMs), _options.StallTimeoutMs);
    }

    /// <summary>Handles what a session reported.</summary>
    private void Process(SwarmPeer peer, long now)
    {
        while (peer.Session.TryPollEvent(out var e))
        {
            if (peer.Detached && e.Kind != ShareWireEventKind.Closed)
            {
                e.ReturnData();
                continue;
            }

            switch (e.Kind)
            {
                case ShareWireEventKind.HelloReceived:
                    if (_verifier is null && _infoSource is null)
                    {
                        AskForInfo();
                    }

                    break;

                case ShareWireEventKind.InfoReceived:
                    OnInfo(peer, e.Data!, now);
                    break;

                case ShareWireEventKind.BitfieldReceived:
                    CountPieces(peer);
                    break;

                case ShareWireEventKind.HaveReceived:
                    CountPiece(peer, e.Piece);
                    break;

                case ShareWireEventKind.Choked:
                    ReleaseRequests(peer);
                    break;

                case ShareWireEventKind.Unchoked:
                    // Its rejects may have come from the choke crossing our requests: ask again.
                    peer.Rejected.Clear();
                    peer.NothingWantedAt = -1;
                    _fillNeeded = true;
                    break;

                case ShareWireEventKind.Interested:
                case ShareWireEventKind.NotInterested:
                    _slots.SetInterested(peer.Id, e.Kind == ShareWireEventKind.Interested);
                    break;

                case ShareWireEventKind.PieceNeeded:
                    if (_maxUploadBytesPerSecond is null && _uploadsWaiting.Count == 0)
                    {
                        _events.Enqueue(new SwarmEvent(SwarmEventKind.PieceNeeded, peer.Id, e.Piece));
                    }
                    else
                    {
                        _uploadsWaiting.Add((peer, e.Piece));
                    }

                    break;

                case ShareWireEventKind.CancelReceived:
                    _uploadsWaiting.Remove((peer, e.Piece));
                    break;

                case ShareWireEventKind.Rejected:
                    if (peer.Requests.Remove(e.Piece))
                    {
                        _picker!.RemoveRequest(e.Piece);
                    }

                    peer.Rejected.Add(e.Piece);
                    _fillNeeded = true;
                    break;

                case ShareWireEventKind.PieceReceived:
                    OnPiece(peer, e, now);
                    break;

                case ShareWireEventKind.PieceFailed:
                    if (peer.Requests.Remove(e.Piece))
                    {
                        _picker!.RemoveRequest(e.Piece);
                    }

                    Statistics.CorruptPieces++;
                    Report(peer, SwarmPeerReason.CorruptPiece, e.Piece, $"piece {e.Piece} failed verification");
                    Detach(peer);
                    break;

                case ShareWireEventKind.ProtocolError:
                    var reason = e.WireError is ShareWireError.WrongContent or ShareWireError.BadMagic or ShareWireError.UnsupportedVersion or ShareWireError.BadPieceCount
                        ? SwarmPeerReason.WrongContent
                        : SwarmPeerReason.ProtocolError;
                    Report(peer, reason, e.Piece, e.Text);
                    Detach(peer);
                    break;

                case ShareWireEventKind.ErrorReceived:
                    peer.CloseReason = SwarmPeerReason.PeerError;
                    peer.CloseText = $"error {e.ErrorCode}: {e.Text}";
                    Detach(peer);
                    break;

                case ShareWireEventKind.Closed:
                    Detach(peer);
                    Forget(peer);
                    _events.Enqueue(new SwarmEvent(SwarmEventKind.PeerClosed, peer.Id, reason: peer.CloseReason, text: peer.CloseText));
                    break;
            }
        }
    }

    private void OnInfo(SwarmPeer peer, byte[] block, long now)
    {
        if (_infoSource == peer)
        {
            _infoSource = null;
        }

        if (_verifier is not null)
        {
            return;
        }

        if (_infoVerifier is not null && _infoVerifier.TryAccept(_contentId, block, out var verifier))
        {
            _events.Enqueue(new SwarmEvent(SwarmEventKind.InfoVerified, peer.Id, data: block, length: block.Length));
            SetInfo(block, verifier, null, now);
            return;
        }

        // §5 "Info": a peer sending a bad info block is dropped and reported.
        Report(peer, SwarmPeerReason.BadInfo, -1, "the info block does not match the content id");
        Drop(peer, SwarmPeerReason.BadInfo, ShareErrorCode.Protocol, "bad info block", now);
        AskForInfo();
    }

    private void AskForInfo()
    {
        if (_verifier is not null || _infoVerifier is null || _infoSource is not null)
        {
            return;
        }

        foreach (var peer in _order)
        {
            if (!peer.Detached && !peer.InfoAsked && peer.Session.RequestInfo())
            {
                peer.InfoAsked = true;
                _infoSource = peer;
                return;
            }
        }
    }

    private void OnPiece(SwarmPeer peer, ShareWireEvent e, long now)
    {
        var piece = e.Piece;
        if (peer.Requests.Remove(piece, out var requestedAt))
        {
            LearnTiming(peer, now - requestedAt, now);
        }

        _slots.AddReceived(peer.Id, e.Length);
        _fillNeeded = true;
        if (_picker!.GetState(piece) != PieceState.InFlight)
        {
            // An endgame copy that arrived after the first: already verified, so only its bytes count.
            Statistics.DuplicatePieces++;
            e.ReturnData();
            return;
        }

        // §6 "Endgame": keep the first verified copy, cancel the rest.
        CancelOtherCopies(piece, peer);
        MarkVerified(piece);
        Statistics.PiecesVerified++;
        _events.Enqueue(new SwarmEvent(SwarmEventKind.PieceVerified, peer.Id, piece, e.Data, e.Length));
    }

    private void CancelOtherCopies(int piece, SwarmPeer? except)
    {
        foreach (var other in _order)
        {
            if (other != except && !other.Detached && other.Requests.Remove(piece))
            {
                other.Session.Cancel(piece);
                Statistics.CancelsSent++;
                Statistics.EndgameCancels++;
            }
        }
    }

    /// <summary>A piece verified (first copy): no peer's copy of it is useful to us any more.</summary>
    private void MarkVerified(int piece)
    {
        _picker!.MarkVerified(piece);
        foreach (var other in _order)
        {
            if (!other.Detached && other.Counted is { } c && c[piece] && --other.Useful == 0)
            {
                other.Session.SetInterested(false);
            }
        }
    }

    /// <summary>
    /// §6 "Pipelining": grow the requests kept at a peer toward its bandwidth-delay product. The
    /// shortest request time is about a round trip plus one piece; the time between completions
    /// is one piece at the peer's rate once the pipe is full, longer while it is not. So
    /// ceil(shortest / gap) + 1 requests keep it full; grow by one per completion toward that.
    /// </summary>
    private void LearnTiming(SwarmPeer peer, long duration, long now)
    {
        peer.Completions++;
        peer.UsualDuration = peer.Completions == 1 ? duration : (0.8 * peer.UsualDuration) + (0.2 * duration);
        peer.MinDuration = Math.Min(peer.MinDuration, duration);
        if (peer.LastCompletionAt >= 0)
        {
            var gap = now - peer.LastCompletionAt;
            peer.CompletionGap = peer.Completions == 2 ? gap : (0.8 * peer.CompletionGap) + (0.2 * gap);
            var wanted = (long)Math.Ceiling(peer.MinDuration / Math.Max(peer.CompletionGap, 0.5)) + 1;
            var cap = Math.Min(_options.MaxPipelineDepth, Math.Max(peer.Session.RemoteMaxRequests, 1));
            if (wanted > peer.PipelineDepth && peer.PipelineDepth < cap)
            {
                peer.PipelineDepth++;
            }
        }

        peer.LastCompletionAt = now;
    }

    private void CountPieces(SwarmPeer peer)
    {
        if (peer.Session.RemotePieces is not { } remote || _picker is null)
        {
            return;
        }

        for (var p = remote.NextSet(0); p >= 0; p = remote.NextSet(p + 1))
        {
            CountPiece(peer, p);
        }
    }

    private void CountPiece(SwarmPeer peer, int piece)
    {
        if (_picker is null)
        {
            return;
        }

        peer.Counted ??= new PieceBitfield(_picker.PieceCount);
        if (!peer.Counted.Set(piece))
        {
            return;
        }

        _picker.AddAvailability(piece);
        peer.NothingWantedAt = -1;
        _fillNeeded = true;
        if (_picker.GetState(piece) is PieceState.Wanted or PieceState.InFlight && peer.Useful++ == 0)
        {
            peer.Session.SetInterested(true);
        }
    }

    private void ReleaseRequests(SwarmPeer peer)
    {
        foreach (var piece in peer.Requests.Keys)
        {
            _picker!.RemoveRequest(piece);
        }

        peer.Requests.Clear();
        _fillNeeded = true;
    }

    private void Report(SwarmPeer peer, SwarmPeerReason reason, int piece, string? text)
    {
        peer.CloseReason = reason;
        peer.CloseText = text;
        Statistics.PeersReported++;
        _events.Enqueue(new SwarmEvent(SwarmEventKind.PeerReported, peer.Id, piece, reason: reason, text: text));
    }

    private void Drop(SwarmPeer peer, SwarmPeerReason reason, ShareErrorCode? code, string? text, long now)
    {
        if (peer.Detached)
        {
            return;
        }

        peer.CloseReason = reason;
        peer.CloseText ??= text;
        Detach(peer);
        peer.Session.Close(code, text);
        Process(peer, now);
    }

    /// <summary>Takes a peer out of every decision at once; its session may still flush an error before it closes.</summary>
    private void Detach(SwarmPeer peer)
    {
        if (peer.Detached)
        {
            return;
        }

        peer.Detached = true;
        if (_picker is not null)
        {
            ReleaseRequests(peer);
            if (peer.Counted is { } counted)
            {
                for (var p = counted.NextSet(0); p >= 0; p = counted.NextSet(p + 1))
                {
                    _picker.RemoveAvailability(p);
                }
            }
        }

        _slots.Remove(peer.Id);
        DropWaitingUploads(peer);
        if (_infoSource == peer)
        {
            _infoSource = null;
            AskForInfo();
        }

        _fillNeeded = true;
    }

    private void Forget(SwarmPeer peer)
    {
        if (_peers.Remove(peer.Id))
        {
            _order.Remove(peer);
            peer.Session.HandleChannelClosed();

            // Anything the session still reports (its own Closed) is moot now.
            while (peer.Session.TryPollEvent(out var e))
            {
                e.ReturnData();
            }
        }
    }

    /// <summary>After every input: send requests where there is room, apply upload-slot decisions, report completion.</summary>
    private void AfterChange(long now)
    {
        if (_slots.Version != _appliedSlotsVersion)
        {
            _appliedSlotsVersion = _slots.Version;
            foreach (var peer in _order)
            {
                if (peer.Detached)
                {
                    continue;
                }

                if (_slots.IsUnchoked(peer.Id))
                {
                    peer.Session.Unchoke();
                }
                else
                {
                    // A choke drops the peer's requests (§5): its pieces no longer wait for the cap.
                    peer.Session.Choke();
                    DropWaitingUploads(peer);
                }
            }
        }

        ReleaseUploads(now);

        if (_fillNeeded && _picker is not null)
        {
            _fillNeeded = false;
            foreach (var peer in _order)
            {
                Fill(peer, now);
            }
        }

        if (!_completedReported && IsComplete)
        {
            _completedReported = true;
            _events.Enqueue(new SwarmEvent(SwarmEventKind.Completed));
        }
    }

    /// <summary>Lets waiting pieces go, oldest first, while the upload cap's bucket holds their bytes.</summary>
    private void ReleaseUploads(long now)
    {
        while (_uploadsWaiting.Count > 0)
        {
            var (peer, piece) = _uploadsWaiting[0];
            if (_maxUploadBytesPerSecond is { } rate && _verifier is not null)
            {
                _uploadBucket ??= new TokenBucket(rate, Math.Max(rate / 10, _verifier.GetSealedPieceLength(0)), now);
                if (!_uploadBucket.TryTake(_verifier.GetSealedPieceLength(piece), now))
                {
                    return;
                }
            }

            _uploadsWaiting.RemoveAt(0);
            _events.Enqueue(new SwarmEvent(SwarmEventKind.PieceNeeded, peer.Id, piece));
        }
    }

    private void DropWaitingUploads(SwarmPeer peer)
    {
        if (_uploadsWaiting.Count > 0)
        {
            _uploadsWaiting.RemoveAll(w => w.Peer == peer);
        }
    }

    /// <summary>Tops up a peer's requests to its pipeline depth: window, rarest first, then endgame copies.</summary>
    private void Fill(SwarmPeer peer, long now)
    {
        var session = peer.Session;
        if (peer.Detached || session.AmChoked || session.RemotePieces is not { } remote || peer.Useful == 0 || session.IsClosing)
        {
            return;
        }

        var picker = _picker!;
        var depth = Math.Min(peer.PipelineDepth, session.RemoteMaxRequests);
        while (peer.Requests.Count < depth)
        {
            var piece = -1;
            var endgame = false;
            if (peer.NothingWantedAt != picker.WantedVersion)
            {
                piece = picker.PickWanted(remote, peer.Rejected.Count > 0 ? peer.WasRejected : null);
                if (piece < 0)
                {
                    peer.NothingWantedAt = picker.WantedVersion;
                }
            }

            if (piece < 0 && picker.IsEndgame)
            {
                piece = picker.PickEndgame(remote, peer.IsRequestedHere, _options.MaxEndgameCopies);
                endgame = true;
            }

            if (piece < 0 || (endgame && peer.Rejected.Contains(piece)) || !session.Request(piece, now))
            {
                return;
            }

            picker.AddRequest(piece);
            peer.Requests.Add(piece, now);
            if (endgame)
            {
                Statistics.EndgameRequests++;
            }
        }
    }
}
