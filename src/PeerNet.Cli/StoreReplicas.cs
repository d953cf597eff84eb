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
/// <c>share/CID</c>, and each <c>--pin LINK</c> is fetched into <c>DIR/CID/</c> from this hub's
/// swarm of that CID and then served too. Each item has its own signaling connection to the hub
/// (a room's peers are told apart by connection). Nothing needs a key.
/// </summary>
internal sealed class StoreReplicas : IAsyncDisposable
{
    private readonly List<ShareSwarm> _swarms = [];
    private readonly List<SignalingClient> _clients = [];

    public int Count => _swarms.Count;

    public static async Task<StoreReplicas> StartAsync(HubServer hub, string store, IReadOnlyList<ShareLink> pins, ShareSwarmOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var replicas = new StoreReplicas();
        var root = Path.GetFullPath(store);
        Directory.CreateDirectory(root);
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
                var swarm = await ShareSwarm.StartAsync(await replicas.ConnectAsync(hub, loggers, cancellationToken).ConfigureAwait(false), existing, options, loggers, cancellationToken).ConfigureAwait(false);
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
            var directory = Path.Combine(root, pin.ContentId.ToString());
            var swarm = await PinCommand.StartReplicaAsync(await replicas.ConnectAsync(hub, loggers, cancellationToken).ConfigureAwait(false),
                pin.ContentId, directory, options, loggers, cancellationToken).ConfigureAwait(false);
            replicas.Add(swarm, pin.ContentId, "pinning from this hub's swarm");
            ids.Add(pin.ContentId);
        }
        AnsiConsole.MarkupLineInterpolated($"store: {root}: {seeded} item(s) re-seeded, {replicas.Count - seeded} pinned by --pin");
        return replicas;
    }

    private async Task<SignalingClient> ConnectAsync(HubServer hub, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var client = new SignalingClient(new SignalingClientOptions { Url = hub.SignalingUrl, CertificateSha256 = hub.CertificateSha256 }, loggers.CreateLogger<SignalingClient>());
        _clients.Add(client);
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        return client;
    }

    private void Add(ShareSwarm swarm, ContentId id, string what)
    {
        _swarms.Add(swarm);
        AnsiConsole.MarkupLineInterpolated($"store: {id}: {what}");
        _ = swarm.Completion.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) AnsiConsole.MarkupLineInterpolated($"store: {id}: complete, serving");
            else if (t.IsFaulted) AnsiConsole.MarkupLineInterpolated($"[red]store:[/] {id}: {t.Exception!.InnerException!.Message}");
        }, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var swarm in _swarms)
        {
            await swarm.DisposeAsync().ConfigureAwait(false);
            if (swarm.Source is IAsyncDisposable store) await store.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var client in _clients) await client.DisposeAsync().ConfigureAwait(false);
    }
}
