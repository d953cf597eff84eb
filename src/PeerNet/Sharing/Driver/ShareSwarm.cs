using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Rtc;
using PeerNet.Sharing.Swarm;
using PeerNet.Sharing.Wire;
using PeerNet.Signaling;

namespace PeerNet.Sharing.Driver;

/// <summary>
/// One item's swarm on real connections (docs/sharing.md §4–§7): joins the hub room <c>share/CID</c>,
/// offers to the members already there and answers those who join later (as the browser does), runs
/// the wire on each connection's <c>peernet-share/1</c> channel, and drives one
/// <see cref="SwarmScheduler"/> from one actor loop — every input (messages, opened and closed
/// channels, drained buffers, finished reads and writes, the timer) is a work item on one queue, so
/// the scheduler never sees two threads and no thread is held per connection. Pieces are served from
/// an <see cref="ISealedPieceSource"/> and, when the source is an <see cref="IPieceStore"/>, stored
/// into it. The key is never known here: the stores hold it.
/// </summary>
public sealed class ShareSwarm : IAsyncDisposable
{
    /// <summary>
    /// Most verified pieces waiting to be written to the store (each holds a piece buffer). Beyond
    /// it the loop holds the peers' messages back until writes finish, so a disk slower than the
    /// network slows the download down instead of filling memory at the network's rate minus the disk's.
    /// </summary>
    public const int MaxPiecesAwaitingStore = 16;

    /// <summary>Reconnection attempts to a room member whose connection failed or closed under us (then only if it rejoins).</summary>
    public const int MaxRedials = 6;

    private const int SendBufferLength = 65_536;
    private const int MaxProofLength = MerkleTree.MaxProofHashes * MerkleTree.HashLength;
    private static readonly TimeSpan CloseDrainTime = TimeSpan.FromSeconds(3);

    private readonly SignalingClient _signaling;
    private readonly ShareSwarmOptions _options;
    private readonly Func<ContentInfo, CancellationToken, Task<IPieceStore>>? _openStore;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Channel<Work> _work = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ContentInfo> _infoKnown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SwarmScheduler _scheduler;
    private readonly ContentInfoVerifier _infoVerifier = new();
    private readonly byte[] _sendBuffer = new byte[SendBufferLength];

    // Loop state: touched only by the loop.
    private readonly Dictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly HashSet<string> _banned = new(StringComparer.Ordinal);
    private readonly HashSet<string> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Redial> _redials = new(StringComparer.Ordinal);
    private readonly List<Work> _pendingStores = [];
    private readonly Queue<Work> _heldMessages = new();
    private readonly TransferRate _downloadRate = new();
    private readonly TransferRate _uploadRate = new();
    private ContentPieceVerifier? _verifier;
    private ISealedPieceSource? _source;
    private IPieceStore? _store;
    private bool _storeOpening;
    private long _bytesStored;
    private int _peersReported;
    private int _storeFailures;
    private int _storing;
    private long _nextProgress;
    private bool _changed = true;
    private long _connectionSequence;
    private bool _sourceChangedLogged;

    private PeerRoom? _room;
    private Timer? _timer;
    private Timer? _wakeTimer;
    private long _wakeAt = -1;
    private Task? _loop;
    private volatile ShareSwarmProgress _progress = new();
    private int _disposed;

    private ShareSwarm(SignalingClient signaling, ContentId id, ISealedPieceSource? source,
        Func<ContentInfo, CancellationToken, Task<IPieceStore>>? openStore, ShareSwarmOptions options, ILoggerFactory loggerFactory)
    {
        _signaling = signaling;
        ContentId = id;
        _source = source;
        _store = source as IPieceStore;
        _openStore = openStore;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ShareSwarm>();
        _scheduler = new SwarmScheduler(id.ToArray(), options.Swarm, _infoVerifier) { MaxUploadBytesPerSecond = options.MaxUploadBytesPerSecond };
    }

    /// <summary>The item's content id; the swarm is the hub room <c>share/CID</c>.</summary>
    public ContentId ContentId { get; }

    /// <summary>The hub room of the swarm.</summary>
    public string Room => ShareSwarmOptions.RoomName(ContentId);

    /// <summary>What pieces are served from (and, for a store, stored into); null until a downloader's store is open.</summary>
    public ISealedPieceSource? Source => Volatile.Read(ref _source);

    /// <summary>The latest snapshot.</summary>
    public ShareSwarmProgress Progress => _progress;

    /// <summary>Completes when every piece is stored (at once for a complete source); faults when the swarm gives up (the store cannot be opened, a write keeps failing).</summary>
    public Task Completion => _completion.Task;

    /// <summary>Completes with the info block once it is known (from the source, or fetched and verified from a peer).</summary>
    public Task<ContentInfo> InfoKnown => _infoKnown.Task;

    /// <summary>A new snapshot, at most every <see cref="ShareSwarmOptions.ProgressIntervalMs"/> while something changes (raised on the swarm's loop: return quickly).</summary>
    public event EventHandler<ShareSwarmProgress>? ProgressChanged;

    /// <summary>A peer was reported and dropped (raised on the swarm's loop).</summary>
    public event EventHandler<ShareSwarmPeerReport>? PeerReported;

    /// <summary>
    /// Seeds or resumes from <paramref name="source"/> (a sharer's <see cref="PlainPieceSource"/>, a
    /// resumed <see cref="DownloadStore"/>, a <see cref="SealedStore"/>): joins the swarm of its content id.
    /// </summary>
    public static Task<ShareSwarm> StartAsync(SignalingClient signaling, ISealedPieceSource source, ShareSwarmOptions? options = null,
        ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return StartAsync(signaling, source.Info.Id, source, null, options, loggerFactory, cancellationToken);
    }

    /// <summary>
    /// Fetches the item of <paramref name="id"/>: joins its swarm, fetches and verifies the info block
    /// from a peer, then calls <paramref name="openStore"/> once (a <see cref="DownloadStore"/> with the
    /// key, or a <see cref="SealedStore"/> for a pin; it may throw, e.g. a wrong key, which faults
    /// <see cref="Completion"/>) and stores every piece into it while serving what it has.
    /// </summary>
    public static Task<ShareSwarm> StartAsync(SignalingClient signaling, ContentId id, Func<ContentInfo, CancellationToken, Task<IPieceStore>> openStore,
        ShareSwarmOptions? options = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(openStore);
        return StartAsync(signaling, id, null, openStore, options, loggerFactory, cancellationToken);
    }

    private static async Task<ShareSwarm> StartAsync(SignalingClient signaling, ContentId id, ISealedPieceSource? source,
        Func<ContentInfo, CancellationToken, Task<IPieceStore>>? openStore, ShareSwarmOptions? options, ILoggerFactory? loggerFactory,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(signaling);
        options ??= new ShareSwarmOptions();
        options.Validate();
        var swarm = new ShareSwarm(signaling, id, source, openStore, options, loggerFactory ?? NullLoggerFactory.Instance);
        try
        {
            await swarm.JoinAsync(cancellationToken).ConfigureAwait(false);
            return swarm;
        }
        catch
        {
            await swarm.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task JoinAsync(CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        if (_source is not null)
        {
            SetKnownInfo(_source, now);
        }

        _loop = Task.Run(RunAsync);
        _timer = new Timer(_ => Post(new Work(WorkKind.Tick)), null, _options.ProgressIntervalMs, _options.ProgressIntervalMs);
        _wakeTimer = new Timer(_ => Post(new Work(WorkKind.Wake)), null, Timeout.Infinite, Timeout.Infinite);
        var configuration = _options.Configuration;
        _room = new PeerRoom(_signaling, Room, initiator => new PeerOptions
        {
            Initiator = initiator,
            ChannelLabel = ShareSwarmOptions.ChannelLabel,
            Configuration = configuration,
        }, _loggerFactory)
        {
            UseHubIceServers = _options.UseHubIceServers,
        };

        // Subscribed at once (not on the loop): the remote's hello may be the channel's first message.
        _room.PeerAccepted += (_, e) => Post(new Work(WorkKind.Accepted, Track(e.RemoteId, e.Peer)));
        _signaling.PeerJoined += OnMemberJoined;
        _signaling.PeerLeft += OnMemberLeft;
        var present = await _room.JoinAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("joined {Room} as {Id}: {Count} peer(s) there", Room, _signaling.Id, present.Count);
        foreach (var remoteId in present)
        {
            Post(new Work(WorkKind.Offer, Text: remoteId));
        }
    }

    private void SetKnownInfo(ISealedPieceSource source, long now)
    {
        var info = source.Info;
        _verifier = new ContentPieceVerifier(info) { IsStored = IsStored };
        var have = new PieceBitfield(info.PieceCount);
        var bytes = new byte[PieceBitfield.ByteLength(info.PieceCount)];
        source.CopyBitfield(bytes);
        have.Load(bytes);
        _bytesStored = ItemProgress.StoredBytes(info.Layout, bytes);
        _scheduler.SetInfo(info.Memory, _verifier, have, now);
        _infoKnown.TrySetResult(info);
    }

    private bool IsStored(int piece) => _scheduler.LocalPieces?.Get(piece) == true;

    /// <summary>A new connection's events go to the loop from the start.</summary>
    private Connection Track(string remoteId, Peer peer)
    {
        var connection = new Connection(remoteId, peer, Environment.TickCount64);
        peer.Connected += (_, _) => Post(new Work(WorkKind.Opened, connection));
        peer.Data += (_, e) => Post(new Work(WorkKind.Message, connection, e.Data));
        peer.Closed += (_, _) => Post(new Work(WorkKind.Closed, connection));
        peer.Error += (_, e) => _logger.LogDebug("connection to {Peer}: {Reason}", remoteId, e.Message);
        if (peer.IsConnected)
        {
            Post(new Work(WorkKind.Opened, connection));
        }

        return connection;
    }

    private void Post(Work work)
    {
        if (!_work.Writer.TryWrite(work))
        {
            work.Release();
        }
    }

    private async Task RunAsync()
    {
        var reader = _work.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                var now = Environment.TickCount64;
                var batch = 0;
                while (batch++ < 512 && reader.TryRead(out var work))
                {
                    try
                    {
                        Handle(work, now);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        _logger.LogError(e, "the share swarm failed to handle {Work}", work.Kind);
                        work.Release();
                    }
                }

                ReleaseHeldMessages(now);

                // While messages are held back, the peers' pieces are late because of our disk, not
                // theirs: no stall timeouts (§6 "Stalls") until they are let through.
                if (_heldMessages.Count == 0 && _scheduler.PollTimeout() is { } deadline && deadline <= now)
                {
                    _scheduler.HandleTimeout(now);
                }

                DrainEvents(now);
                PumpAll(now);
                DrainEvents(now);
                if (_changed && now >= _nextProgress)
                {
                    PublishProgress(now);
                }

                ArmWake(now);
            }
        }
        catch (Exception e)
        {
            _logger.LogError(e, "the share swarm stopped");
            _completion.TrySetException(e);
        }
    }

    private void Handle(Work work, long now)
    {
        var connection = work.Connection;
        switch (work.Kind)
        {
            case WorkKind.Offer:
                _members.Add(work.Text!);
                Dial(work.Text!, now);
                break;

            case WorkKind.MemberJoined:
                _members.Add(work.Text!);
                break;

            case WorkKind.MemberLeft:
                _members.Remove(work.Text!);
                _redials.Remove(work.Text!);
                break;

            case WorkKind.Accepted:
                if (_stopping.IsCancellationRequested || _connections.Count >= _options.MaxConnections || _banned.Contains(connection!.RemoteId))
                {
                    _logger.LogDebug("turned away {Peer} ({Count} connections)", connection!.RemoteId, _connections.Count);
                    _ = connection.Peer.DisposeAsync().AsTask();
                }
                else
                {
                    Admit(connection, now);
                }

                break;

            case WorkKind.Opened:
                OnOpened(connection!, now);
                break;

            case WorkKind.Message:
                if (_heldMessages.Count > 0 || StoreBacklogFull)
                {
                    _heldMessages.Enqueue(work); // in arrival order: the wire's messages depend on their order
                }
                else
                {
                    HandleMessage(work, now);
                }

                break;

            case WorkKind.Drained:
                connection!.WaitingForDrain = false;
                break;

            case WorkKind.Closed:
                Forget(connection!, now, redial: true);
                break;

            case WorkKind.PieceRead:
                if (connection!.Added)
                {
                    _scheduler.ProvidePiece(connection.Key, work.Piece, work.Data.AsSpan(0, work.Length), work.Proof.AsSpan(0, work.ProofLength));
                }

                work.Release();
                break;

            case WorkKind.PieceReadFailed:
                if (work.Error is SharingException { Code: SharingErrorCode.SourceChanged } && !_sourceChangedLogged)
                {
                    _sourceChangedLogged = true;
                    _logger.LogError("cannot serve piece {Piece}: {Reason}", work.Piece, work.Error.Message);
                }
                else
                {
                    _logger.LogDebug("cannot serve piece {Piece}: {Reason}", work.Piece, work.Error?.Message);
                }

                _scheduler.RejectPieceRequest(connection!.Key, work.Piece, now);
                break;

            case WorkKind.PieceStored:
                _storing--;
                OnStored(work.Piece, now);
                break;

            case WorkKind.PieceStoreFailed:
                _storing--;
                OnStoreFailed(work.Piece, work.Error!, now);
                break;

            case WorkKind.StoreOpened:
                OnStoreOpened((IPieceStore)work.Extra!, now);
                break;

            case WorkKind.StoreOpenFailed:
                _storeOpening = false;
                foreach (var pending in _pendingStores)
                {
                    pending.Release();
                }

                _pendingStores.Clear();
                Fail(work.Error!);
                break;

            case WorkKind.Tick:
                OnTick(now);
                break;

            case WorkKind.Wake:
                // The loop runs the scheduler's timeout after this batch.
                _wakeAt = -1;
                break;

            case WorkKind.Stop:
                foreach (var c in _connections.Values)
                {
                    if (c.Added)
                    {
                        _scheduler.ClosePeer(c.Key, ShareErrorCode.ShuttingDown, "this peer is stopping", now);
                    }
                }

                DrainEvents(now);
                PumpAll(now);
                PublishProgress(now); // the last snapshot: what callers read once disposed
                _work.Writer.TryComplete();
                break;
        }
    }

    /// <summary>
    /// Arms the one-shot timer for the scheduler's next deadline (the upload cap's next piece, a
    /// stall), so the loop wakes exactly then instead of at the next tick. A deadline already past
    /// after this batch's timeout ran is left to the tick: re-arming it at once would spin.
    /// </summary>
    private void ArmWake(long now)
    {
        if (_scheduler.PollTimeout() is not { } deadline || deadline <= now || deadline == _wakeAt || _stopping.IsCancellationRequested)
        {
            return;
        }

        _wakeAt = deadline;
        try
        {
            _wakeTimer?.Change(deadline - now, Timeout.Infinite);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private bool StoreBacklogFull => _storing + _pendingStores.Count >= MaxPiecesAwaitingStore;

    private void HandleMessage(Work work, long now)
    {
        if (work.Connection!.Added)
        {
            _scheduler.HandleMessage(work.Connection.Key, work.Data, now);

            // A verified piece goes to the store at once, so the next message sees the backlog it makes.
            DrainEvents(now);
        }
    }

    /// <summary>Lets held messages through, in order, while the store's backlog has room.</summary>
    private void ReleaseHeldMessages(long now)
    {
        while (_heldMessages.Count > 0 && !StoreBacklogFull)
        {
            HandleMessage(_heldMessages.Dequeue(), now);
        }
    }

    private bool IsConnectedTo(string remoteId)
    {
        foreach (var c in _connections.Values)
        {
            if (c.RemoteId == remoteId)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Offers a connection to a room member (the room's convention: the one who joined later offers).</summary>
    private void Dial(string remoteId, long now)
    {
        if (_stopping.IsCancellationRequested || _connections.Count >= _options.MaxConnections || _banned.Contains(remoteId) || IsConnectedTo(remoteId))
        {
            return;
        }

        try
        {
            var connection = Track(remoteId, _room!.Connect(remoteId));
            connection.Initiated = true;
            Admit(connection, now);
        }
        catch (InvalidOperationException)
        {
            // Already connecting to it (it offered first).
        }
    }

    /// <summary>
    /// A connection we offered failed to open or closed under us (not ended by either session) while
    /// its peer is still in the room: offer again after 2, 4, 8, 16, 30, 30 s — a network hiccup, or
    /// a peer that turned us away while full, must not cost the swarm that peer for good. Only the
    /// side that offered redials, so the two never offer at once.
    /// </summary>
    private void ScheduleRedial(Connection connection, long now)
    {
        var id = connection.RemoteId;
        if (!connection.Initiated || _stopping.IsCancellationRequested || _banned.Contains(id) || !_members.Contains(id))
        {
            return;
        }

        var attempts = _redials.TryGetValue(id, out var previous) ? previous.Attempts : 0;
        if (attempts >= MaxRedials)
        {
            _logger.LogDebug("{Peer}: no more reconnection attempts", id);
            return;
        }

        var delay = Math.Min(30_000L, 2_000L << attempts);
        _redials[id] = new Redial(attempts + 1, now + delay);
        _logger.LogDebug("{Peer}: reconnecting in {Seconds} s (attempt {Attempt} of {Max})", id, delay / 1000, attempts + 1, MaxRedials);
    }

    private void RedialDue(long now)
    {
        List<string>? due = null;
        foreach (var (id, redial) in _redials)
        {
            if (redial.DueAt <= now)
            {
                (due ??= []).Add(id);
            }
        }

        if (due is null)
        {
            return;
        }

        foreach (var id in due)
        {
            _redials[id] = _redials[id] with { DueAt = long.MaxValue }; // until this attempt fails too
            Dial(id, now);
        }
    }

    private void OnMemberJoined(object? sender, RoomPeerEventArgs e)
    {
        if (e.Room == Room)
        {
            Post(new Work(WorkKind.MemberJoined, Text: e.PeerId));
        }
    }

    private void OnMemberLeft(object? sender, RoomPeerEventArgs e)
    {
        if (e.Room == Room)
        {
            Post(new Work(WorkKind.MemberLeft, Text: e.PeerId));
        }
    }

    private void Admit(Connection connection, long now)
    {
        connection.Key = connection.RemoteId + "#" + ++_connectionSequence;
        connection.Admitted = true;
        _connections[connection.Key] = connection;
        if (connection.OpenPending)
        {
            OnOpened(connection, now);
        }
    }

    private void OnOpened(Connection connection, long now)
    {
        if (!connection.Admitted)
        {
            // Opened before the loop admitted it (an answer is fast on loopback): add it then.
            connection.OpenPending = true;
            return;
        }

        if (connection.Added || connection.Gone)
        {
            return;
        }

        var channel = connection.Peer.Channel;
        if (channel is null || channel.Label != ShareSwarmOptions.ChannelLabel)
        {
            _logger.LogDebug("{Peer} opened '{Label}', not {Expected}: closing", connection.RemoteId, channel?.Label, ShareSwarmOptions.ChannelLabel);
            _ = connection.Peer.DisposeAsync().AsTask();
            return;
        }

        connection.Channel = channel;
        channel.BufferedAmountLowThreshold = _options.LowWaterMark;
        channel.BufferedAmountLow += (_, _) => Post(new Work(WorkKind.Drained, connection));
        connection.Added = true;
        _redials.Remove(connection.RemoteId);
        _scheduler.AddPeer(connection.Key, now);
        _changed = true;
        _logger.LogInformation("connected to {Peer}", connection.RemoteId);
    }

    private void Forget(Connection connection, long now, bool drainFirst = false, bool redial = false)
    {
        if (connection.Gone)
        {
            return;
        }

        connection.Gone = true;
        if (redial)
        {
            ScheduleRedial(connection, now);
        }

        if (connection.Admitted)
        {
            _connections.Remove(connection.Key);
        }

        if (connection.Added)
        {
            _scheduler.RemovePeer(connection.Key, now);
            connection.Added = false;
            _changed = true;
            _logger.LogInformation("{Peer} is gone", connection.RemoteId);
        }

        var peer = connection.Peer;
        if (drainFirst && connection.Channel is { } channel)
        {
            _ = Task.Run(async () =>
            {
                await WaitDrainedAsync(channel, CloseDrainTime).ConfigureAwait(false);
                await peer.DisposeAsync().ConfigureAwait(false);
            });
        }
        else
        {
            _ = peer.DisposeAsync().AsTask();
        }
    }

    private void OnTick(long now)
    {
        // Connections that never opened are given up.
        List<Connection>? stale = null;
        foreach (var c in _connections.Values)
        {
            if (!c.Added && now - c.CreatedAt > _options.ConnectTimeout.TotalMilliseconds)
            {
                (stale ??= []).Add(c);
            }
        }

        if (stale is not null)
        {
            foreach (var c in stale)
            {
                _logger.LogDebug("{Peer} did not connect within {Seconds} s", c.RemoteId, _options.ConnectTimeout.TotalSeconds);
                Forget(c, now, redial: true);
            }
        }

        // A drained-event may be missed when the amount fell before the threshold was crossed: look again.
        foreach (var c in _connections.Values)
        {
            if (c.WaitingForDrain && c.Channel is { } ch && ch.BufferedAmount < _options.HighWaterMark)
            {
                c.WaitingForDrain = false;
            }
        }

        RedialDue(now);
        _changed = true;
    }

    private void DrainEvents(long now)
    {
        while (_scheduler.TryPollEvent(out var e))
        {
            switch (e.Kind)
            {
                case SwarmEventKind.InfoVerified:
                    OnInfoVerified(now);
                    break;

                case SwarmEventKind.PieceVerified:
                    OnPieceVerified(e, now);
                    break;

                case SwarmEventKind.PieceNeeded:
                    ReadPiece(e.PeerId!, e.Piece, now);
                    break;

                case SwarmEventKind.PeerReported:
                    OnPeerReported(e);
                    break;

                case SwarmEventKind.PeerClosed:
                    if (_connections.TryGetValue(e.PeerId!, out var closed))
                    {
                        // The session's last message (an error) may still be in the buffer: let it go first.
                        // A channel on which no hello ever came is worth offering again; other drops are deliberate.
                        Forget(closed, now, drainFirst: true, redial: e.Reason == SwarmPeerReason.NoHello);
                    }

                    break;

                case SwarmEventKind.Completed:
                    _changed = true;
                    PublishProgress(now);
                    _logger.LogInformation("every piece of {Cid} is stored", ContentId);
                    _completion.TrySetResult();
                    break;
            }
        }
    }

    private void OnInfoVerified(long now)
    {
        _verifier = _infoVerifier.Accepted!;
        _verifier.IsStored = IsStored;
        var info = _verifier.Info;
        _logger.LogInformation("info block of {Cid} verified: {Layout}", ContentId, info.Layout);
        _infoKnown.TrySetResult(info);
        _changed = true;
        if (_source is null && _openStore is not null && !_storeOpening)
        {
            _storeOpening = true;
            var token = _stopping.Token;
            _ = Task.Run(async () =>
            {
                try
                {
                    var store = await _openStore(info, token).ConfigureAwait(false);
                    Post(new Work(WorkKind.StoreOpened, Extra: store));
                }
                catch (Exception e)
                {
                    Post(new Work(WorkKind.StoreOpenFailed, Error: e));
                }
            }, CancellationToken.None);
        }
    }

    private void OnStoreOpened(IPieceStore store, long now)
    {
        _storeOpening = false;
        if (_stopping.IsCancellationRequested)
        {
            _ = store.DisposeAsync().AsTask();
            return;
        }

        Volatile.Write(ref _source, store);
        _store = store;

        // Pieces an earlier run already stored (resume) are announced at once and never fetched.
        var info = store.Info;
        var bits = new byte[PieceBitfield.ByteLength(info.PieceCount)];
        store.CopyBitfield(bits);
        var local = _scheduler.LocalPieces!;
        var resumed = 0;
        for (var p = 0; p < info.PieceCount; p++)
        {
            if ((bits[p >> 3] & (0x80 >> (p & 7))) != 0 && !local.Get(p))
            {
                _scheduler.MarkPieceStored(p, now);
                _bytesStored += info.Layout.PieceLength(p);
                resumed++;
            }
        }

        if (resumed > 0)
        {
            _logger.LogInformation("resuming: {Count} pieces already stored", resumed);
        }

        foreach (var pending in _pendingStores)
        {
            StorePiece(pending.Piece, pending.Data!, pending.Length, pending.Proof!);
        }

        _pendingStores.Clear();
        _changed = true;
    }

    private void OnPieceVerified(SwarmEvent e, long now)
    {
        if (!_verifier!.TryTakeProof(e.Piece, out var proof))
        {
            // Cannot happen: a verified piece's proof was kept when it was checked.
            e.ReturnData();
            _scheduler.MarkPieceStoreFailed(e.Piece, now);
            return;
        }

        if (_store is null)
        {
            if (_storeOpening)
            {
                _pendingStores.Add(new Work(WorkKind.PieceStored, Data: e.Data, Length: e.Length, Piece: e.Piece, Proof: proof, Pooled: true));
            }
            else
            {
                e.ReturnData();
                _scheduler.MarkPieceStoreFailed(e.Piece, now);
            }

            return;
        }

        StorePiece(e.Piece, e.Data!, e.Length, proof);
    }

    private void StorePiece(int piece, byte[] data, int length, byte[] proof)
    {
        var store = _store!;
        var token = _stopping.Token;
        _storing++; // until its PieceStored or PieceStoreFailed
        _ = Task.Run(async () =>
        {
            try
            {
                await store.StorePieceAsync(piece, data.AsMemory(0, length), proof, token).ConfigureAwait(false);
                Post(new Work(WorkKind.PieceStored, Piece: piece));
            }
            catch (Exception e)
            {
                Post(new Work(WorkKind.PieceStoreFailed, Piece: piece, Error: e));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }, CancellationToken.None);
    }

    private void OnStored(int piece, long now)
    {
        _storeFailures = 0;
        if (_scheduler.LocalPieces is { } local && !local.Get(piece))
        {
            var length = _verifier!.Info.Layout.PieceLength(piece);
            _bytesStored += length;
            _downloadRate.Add(length, now);
            _scheduler.MarkPieceStored(piece, now);
            _changed = true;
        }

        _verifier?.Forget(piece); // a copy that verified while this one was being stored
    }

    private void OnStoreFailed(int piece, Exception error, long now)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _logger.LogWarning("storing piece {Piece} failed: {Reason}", piece, error.Message);
        _scheduler.MarkPieceStoreFailed(piece, now);
        if (error is SharingException { Code: SharingErrorCode.FileExists or SharingErrorCode.UnsafePath } || ++_storeFailures >= _options.MaxStoreFailures)
        {
            Fail(error);
        }
    }

    private void ReadPiece(string key, int piece, long now)
    {
        var source = _source;
        if (source is null || !_connections.TryGetValue(key, out var connection) || !source.HasPiece(piece))
        {
            _scheduler.RejectPieceRequest(key, piece, now);
            return;
        }

        var length = source.Info.Layout.SealedPieceLength(piece);
        var token = _stopping.Token;
        _ = Task.Run(async () =>
        {
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            var proof = ArrayPool<byte>.Shared.Rent(MaxProofLength);
            try
            {
                var read = await source.ReadSealedPieceAsync(piece, buffer, token).ConfigureAwait(false);
                if (!source.TryGetProof(piece, proof, out var proofLength))
                {
                    throw new SharingException(SharingErrorCode.PieceNotAvailable, $"no proof of piece {piece}");
                }

                Post(new Work(WorkKind.PieceRead, connection, buffer, piece, read, proof, proofLength, Pooled: true));
            }
            catch (Exception e)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                ArrayPool<byte>.Shared.Return(proof);
                Post(new Work(WorkKind.PieceReadFailed, connection, Piece: piece, Error: e));
            }
        }, CancellationToken.None);
    }

    private void OnPeerReported(SwarmEvent e)
    {
        _peersReported++;
        _changed = true;
        if (!_connections.TryGetValue(e.PeerId!, out var connection))
        {
            return;
        }

        var report = new ShareSwarmPeerReport(connection.RemoteId, e.Reason, e.Piece, e.Text);
        if (report.IsCorrupt)
        {
            _banned.Add(connection.RemoteId);
        }

        _logger.LogWarning("peer {Peer} reported: {Reason} {Text}", connection.RemoteId, e.Reason, e.Text);
        try
        {
            PeerReported?.Invoke(this, report);
        }
        catch (Exception error)
        {
            _logger.LogError(error, "a PeerReported handler threw");
        }
    }

    /// <summary>§4 back-pressure: messages are taken from the scheduler only while the channel's buffer is below the high-water mark.</summary>
    private void PumpAll(long now)
    {
        foreach (var connection in _connections.Values)
        {
            if (connection.Added && !connection.WaitingForDrain)
            {
                Pump(connection, now);
            }
        }
    }

    private void Pump(Connection connection, long now)
    {
        var channel = connection.Channel!;
        while (true)
        {
            if (channel.BufferedAmount >= _options.HighWaterMark)
            {
                connection.WaitingForDrain = true;

                // The event may have fired between the check and the flag; the tick looks again.
                return;
            }

            var n = _scheduler.PollTransmit(connection.Key, _sendBuffer, now);
            if (n == 0)
            {
                return;
            }

            try
            {
                channel.Send(_sendBuffer.AsSpan(0, n));
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                _logger.LogDebug("sending to {Peer} failed: {Reason}", connection.RemoteId, e.Message);
                Forget(connection, now);
                return;
            }

            if (_sendBuffer[0] == (byte)ShareMessageType.Piece && n > 9)
            {
                _uploadRate.Add(n - 9, now);
                _changed = true;
            }
        }
    }

    private void PublishProgress(long now)
    {
        _changed = false;
        _nextProgress = now + _options.ProgressIntervalMs;
        var info = _verifier?.Info;
        var local = _scheduler.LocalPieces;
        var peers = 0;
        foreach (var c in _connections.Values)
        {
            if (c.Added)
            {
                peers++;
            }
        }

        var rate = _downloadRate.BytesPerSecond(now);
        var total = info?.Layout.PayloadLength ?? -1;
        TimeSpan? eta = null;
        if (info is not null && _bytesStored >= total)
        {
            eta = TimeSpan.Zero;
        }
        else if (info is not null && rate > 1)
        {
            eta = TimeSpan.FromSeconds(Math.Min((total - _bytesStored) / rate, TimeSpan.FromDays(365).TotalSeconds));
        }

        var progress = new ShareSwarmProgress
        {
            Info = info,
            PieceCount = info?.PieceCount ?? -1,
            PiecesStored = local?.Count ?? 0,
            BytesStored = _bytesStored,
            TotalBytes = total,
            Have = local is null ? ReadOnlyMemory<byte>.Empty : local.Bytes.ToArray(),
            Peers = peers,
            DownloadRate = rate,
            UploadRate = _uploadRate.BytesPerSecond(now),
            BytesUploaded = _uploadRate.Total,
            BytesDownloaded = _downloadRate.Total,
            Eta = eta,
            PeersReported = _peersReported,
            IsComplete = local is { IsComplete: true },
        };
        _progress = progress;
        try
        {
            ProgressChanged?.Invoke(this, progress);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "a ProgressChanged handler threw");
        }
    }

    private void Fail(Exception error)
    {
        _logger.LogWarning("the swarm of {Cid} gives up: {Reason}", ContentId, error.Message);
        _completion.TrySetException(error);
        _infoKnown.TrySetException(error);
    }

    /// <summary>Says goodbye to every peer (error shutting-down), closes the connections and leaves the room. The source or store is the caller's to dispose.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        if (_wakeTimer is not null)
        {
            await _wakeTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            Post(new Work(WorkKind.Stop));
            try
            {
                await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _logger.LogWarning("the share swarm's loop did not stop in time");
            }

            // Give the goodbyes a moment to leave.
            var drains = _connections.Values.Where(c => c.Channel is not null).Select(c => WaitDrainedAsync(c.Channel!, TimeSpan.FromSeconds(1))).ToArray();
            await Task.WhenAll(drains).ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _work.Writer.TryComplete();
        while (_work.Reader.TryRead(out var work))
        {
            work.Release();
        }

        foreach (var pending in _pendingStores)
        {
            pending.Release();
        }

        _pendingStores.Clear();
        _heldMessages.Clear();
        _signaling.PeerJoined -= OnMemberJoined;
        _signaling.PeerLeft -= OnMemberLeft;
        if (_room is not null)
        {
            await _room.DisposeAsync().ConfigureAwait(false);
            try
            {
                if (_signaling.IsConnected)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await _signaling.LeaveAsync(Room, timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SignalingException or OperationCanceledException or InvalidOperationException or ObjectDisposedException or System.Net.WebSockets.WebSocketException)
            {
                _logger.LogDebug("leaving {Room}: {Reason}", Room, e.Message);
            }
        }

        foreach (var c in _connections.Values)
        {
            await c.Peer.DisposeAsync().ConfigureAwait(false);
        }

        _connections.Clear();
        _completion.TrySetCanceled();
        _infoKnown.TrySetCanceled();
        _stopping.Dispose();
    }

    private static async Task WaitDrainedAsync(RtcDataChannel channel, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await channel.WaitForBufferedAmountAsync(0, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
        }
    }

    private enum WorkKind
    {
        Offer,
        Accepted,
        Opened,
        Message,
        Drained,
        Closed,
        PieceRead,
        PieceReadFailed,
        PieceStored,
        PieceStoreFailed,
        StoreOpened,
        StoreOpenFailed,
        Tick,
        Wake,
        Stop,
        MemberJoined,
        MemberLeft,
    }

    /// <summary>Reconnection to a room member: attempts made, and when the next is due.</summary>
    private readonly record struct Redial(int Attempts, long DueAt);

    /// <summary>One input of the loop. <see cref="Pooled"/>: <see cref="Data"/> and <see cref="Proof"/> are rented and go back with <see cref="Release"/>.</summary>
    private readonly record struct Work(WorkKind Kind, Connection? Connection = null, byte[]? Data = null, int Piece = -1, int Length = 0,
        byte[]? Proof = null, int ProofLength = 0, bool Pooled = false, Exception? Error = null, object? Extra = null, string? Text = null)
    {
        public void Release()
        {
            if (!Pooled)
            {
                return;
            }

            if (Data is not null)
            {
                ArrayPool<byte>.Shared.Return(Data);
            }

            if (Proof is not null && Kind == WorkKind.PieceRead)
            {
                ArrayPool<byte>.Shared.Return(Proof);
            }
        }
    }

    /// <summary>One connection of the swarm: the peer, its channel, and where it stands.</summary>
    private sealed class Connection(string remoteId, Peer peer, long createdAt)
    {
        public string RemoteId { get; } = remoteId;

        public Peer Peer { get; } = peer;

        public long CreatedAt { get; } = createdAt;

        /// <summary>The scheduler's name for it (remote id and a sequence number, so a reconnect is another connection).</summary>
        public string Key { get; set; } = "";

        public bool Admitted { get; set; }

        public bool OpenPending { get; set; }

        public RtcDataChannel? Channel { get; set; }

        /// <summary>In the scheduler.</summary>
        public bool Added { get; set; }

        public bool Gone { get; set; }

        /// <summary>We offered it (so we are the side that reconnects).</summary>
        public bool Initiated { get; set; }

        /// <summary>Over the high-water mark: not pumped until BufferedAmountLow (or the tick) says it drained.</summary>
        public bool WaitingForDrain { get; set; }
    }
}
