using Microsoft.Extensions.Logging;
using PeerNet.Hub;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using PeerNet.Signaling;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>
/// <c>peernet serve --store DIR</c>: the hub also keeps replicas (docs/sharing.md §7). Every
/// <c>DIR/CID/</c> that holds a pin (an info block of that CID) is re-seeded in this hub's room
/// <c>share/CID</c>, and each <c>--pin LINK</c> — or content id posted to the hub's
/// <c>/api/pins</c> while it runs — is fetched into <c>DIR/CID/</c> from this hub's swarm of that
/// CID and then served too. Each item has its own signaling connection to the hub (a room's peers
/// are told apart by connection). Nothing needs a key.
/// </summary>
internal sealed class StoreReplicas : IAsyncDisposable, IHubPinService
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ContentId, Entry> _items = [];
    private readonly List<SignalingClient> _clients = [];
    private readonly List<Task> _starting = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly HubServer _hub;
    private readonly string _root;
    private readonly ILoggerFactory _loggers;

    private readonly ShareSwarmOptions _options;

    private StoreReplicas(HubServer hub, string root, ShareSwarmOptions options, ILoggerFactory loggers)
    {
        _hub = hub;
        _root = root;
        _options = options;
        _loggers = loggers;
    }

    public int Count
    {
        get
        {
            lock (_gate) return _items.Count;
        }
    }

    public string Root => _root;

    public static async Task<StoreReplicas> StartAsync(HubServer hub, string store, IReadOnlyList<ShareLink> pins, ShareSwarmOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(store);
        Directory.CreateDirectory(root);
        var replicas = new StoreReplicas(hub, root, options, loggers);
        var ids = new List<ContentId>();
        foreach (var folder in Directory.EnumerateDirectories(root))
        {
            if (ContentId.TryParse(Path.GetFileName(folder), out var id)) ids.Add(id);
        }
        var seeded = 0;
        foreach (var id in ids)
        {
            var directory = Path.Combine(root, id.ToString());
            var existing = await SealedStore.TryOpenExistingAsync(directory, id, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                AnsiConsole.MarkupLineInterpolated($"[yellow]store:[/] {directory} holds no valid info block of {id}; skipped");
                continue;
            }
            try
            {
                var swarm = await ShareSwarm.StartAsync(await replicas.ConnectAsync(cancellationToken).ConfigureAwait(false), existing, options, loggers, cancellationToken).ConfigureAwait(false);
                replicas.Add(swarm, id, existing.IsComplete ? "re-seeding" : $"resuming ({existing.StoredPieceCount} of {existing.Info.PieceCount} pieces)");
                seeded++;
            }
            catch
            {
                await existing.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        foreach (var pin in pins)
        {
            if (ids.Contains(pin.ContentId)) continue;
            var swarm = await replicas.StartReplicaAsync(pin.ContentId, cancellationToken).ConfigureAwait(false);
            replicas.Add(swarm, pin.ContentId, "pinning from this hub's swarm");
            ids.Add(pin.ContentId);
        }
        AnsiConsole.MarkupLineInterpolated($"store: {root}: {seeded} item(s) re-seeded, {replicas.Count - seeded} pinned by --pin");
        return replicas;
    }

    /// <summary>POST /api/pins: starts fetching an item this store does not keep yet.</summary>
    public HubPinStatus Pin(ContentId contentId)
    {
        Entry entry;
        lock (_gate)
        {
            // A replica that could not even start (e.g. the hub was stopping) may be asked for again.
            if (_items.TryGetValue(contentId, out var known) && !(known.Failure is not null && known.Swarm is null)) return Status(contentId, known);
            if (_stopping.IsCancellationRequested) return new HubPinStatus(contentId.ToString(), "failed", 0, -1);
            entry = new Entry();
            _items.Add(contentId, entry);
            _starting.Add(Task.Run(async () =>
            {
                try
                {
                    var swarm = await StartReplicaAsync(contentId, _stopping.Token).ConfigureAwait(false);
                    Watch(swarm, contentId, entry, "pinning from this hub's swarm (asked through /api/pins)");
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    entry.Failure = e.Message;
                    if (!_stopping.IsCancellationRequested) AnsiConsole.MarkupLineInterpolated($"[red]store:[/] {contentId}: cannot start the replica: {e.Message}");
                }
            }));
        }
        return Status(contentId, entry) with { New = true };
    }

    public IReadOnlyList<HubPinStatus> List()
    {
        lock (_gate) return _items.Select(kv => Status(kv.Key, kv.Value)).OrderBy(s => s.ContentId, StringComparer.Ordinal).ToArray();
    }

    private static HubPinStatus Status(ContentId id, Entry entry)
    {
        if (entry.Failure is { } failure) return new HubPinStatus(id.ToString(), "failed", 0, -1);
        if (entry.Swarm is not { } swarm) return new HubPinStatus(id.ToString(), "pinning", 0, -1);
        var progress = swarm.Progress;
        var complete = progress.PieceCount >= 0 && progress.PiecesStored == progress.PieceCount;
        return new HubPinStatus(id.ToString(), complete ? "complete" : "pinning", progress.PiecesStored, progress.PieceCount);
    }

    private async Task<ShareSwarm> StartReplicaAsync(ContentId id, CancellationToken cancellationToken) =>
        await PinCommand.StartReplicaAsync(await ConnectAsync(cancellationToken).ConfigureAwait(false),
            id, Path.Combine(_root, id.ToString()), _options, _loggers, cancellationToken).ConfigureAwait(false);

    private async Task<SignalingClient> ConnectAsync(CancellationToken cancellationToken)
    {
        var client = new SignalingClient(new SignalingClientOptions { Url = _hub.SignalingUrl, CertificateSha256 = _hub.CertificateSha256 }, _loggers.CreateLogger<SignalingClient>());
        lock (_gate) _clients.Add(client);
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        return client;
    }

    private void Add(ShareSwarm swarm, ContentId id, string what)
    {
        var entry = new Entry();
        lock (_gate) _items[id] = entry;
        Watch(swarm, id, entry, what);
    }

    private void Watch(ShareSwarm swarm, ContentId id, Entry entry, string what)
    {
        entry.Swarm = swarm;
        AnsiConsole.MarkupLineInterpolated($"store: {id}: {what}");
        _ = swarm.Completion.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) AnsiConsole.MarkupLineInterpolated($"store: {id}: complete, serving");
            else if (t.IsFaulted)
            {
                entry.Failure = t.Exception!.InnerException!.Message;
                AnsiConsole.MarkupLineInterpolated($"[red]store:[/] {id}: {entry.Failure}");
            }
        }, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        Task[] starting;
        lock (_gate)
        {
            _stopping.Cancel();
            starting = [.. _starting];
        }
        await Task.WhenAll(starting).ConfigureAwait(false); // each catches its own failure
        ShareSwarm[] swarms;
        SignalingClient[] clients;
        lock (_gate)
        {
            swarms = [.. _items.Values.Select(e => e.Swarm).OfType<ShareSwarm>()];
            clients = [.. _clients];
        }
        foreach (var swarm in swarms)
        {
            await swarm.DisposeAsync().ConfigureAwait(false);
            if (swarm.Source is IAsyncDisposable store) await store.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var client in clients) await client.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private sealed class Entry
    {
        public volatile ShareSwarm? Swarm;
        public volatile string? Failure;
    }
}
