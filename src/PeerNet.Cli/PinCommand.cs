using System.CommandLine;
using PeerNet.Hub;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>
/// <c>peernet pin LINK [--store DIR]</c>: keeps a replica of a shared item (docs/sharing.md §7): its
/// info block and <em>sealed</em> pieces in <c>DIR/CID/</c>, verified against the link's content id,
/// served to everyone in the swarm until Ctrl+C. It never needs the key: a pin link
/// (<c>https://HUB/#/get/CID</c>) is enough, and a full link's key is ignored, never stored.
/// </summary>
internal static class PinCommand
{
    public static Command Create()
    {
        var options = new SwarmCommandOptions();
        var link = new Argument<string>("LINK") { Description = "The link or pin link: https://HUB/#/get/CID (a #k=KEY is not needed and not kept)" };
        var store = new Option<string?>("--store") { Description = "Where replicas are kept, one folder per content id (default: the data folder's store/)" };
        var to = new Option<string?>("--to") { Description = "Ask this running hub (peernet serve --store) to keep the replica instead, e.g. https://hub.example:8443/ (sends the content id only)" };
        var token = new Option<string?>("--token") { Description = $"With --to: the hub store's pin token (default: ${ServeCommand.PinTokenVariable})" };
        var command = new Command("pin", "Keep and serve a replica of a shared item (sealed: no key needed) until Ctrl+C, or ask a hub to keep it (--to).")
        {
            link, store, to, token,
        };
        options.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            ShareLink parsed;
            ShareSwarmOptions swarmOptions;
            try
            {
                parsed = ShareLink.Parse(result.GetValue(link)!).ToPinLink();
                swarmOptions = options.SwarmOptions(result);
            }
            catch (SharingException e)
            {
                return ShareErrors.Report(e);
            }
            catch (ArgumentException e)
            {
                return ShareErrors.Report(e.Message);
            }
            if (result.GetValue(to) is { } hub)
            {
                return await RemotePin.RunAsync(parsed, hub, result.GetValue(token) ?? Environment.GetEnvironmentVariable(ServeCommand.PinTokenVariable),
                    result.GetValue(options.Insecure), result.GetValue(options.CertificateSha256), options.PeerTimeout(result), cancellationToken).ConfigureAwait(false);
            }
            var root = result.GetValue(store) ?? DefaultStore();
            var directory = Path.Combine(Path.GetFullPath(root), parsed.ContentId.ToString());
            using var loggers = options.CreateLoggerFactory(result);
            AnsiConsole.MarkupLineInterpolated($"pin: [bold]{parsed.ContentId}[/] from the swarm on {parsed.HubUri} into {directory}");
            await using var signaling = await SwarmCommandOptions.ConnectAsync(options.SignalingOptions(result, parsed.HubUri), loggers, cancellationToken).ConfigureAwait(false);
            if (signaling is null) return ShareErrors.NetworkExitCode;
            ShareSwarm swarm;
            try
            {
                swarm = await StartReplicaAsync(signaling, parsed.ContentId, directory, swarmOptions, loggers, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is PeerNet.Signaling.SignalingException or OperationCanceledException or IOException)
            {
                return cancellationToken.IsCancellationRequested ? 130 : ShareErrors.Report($"cannot start the replica: {e.Message}", ShareErrors.NetworkExitCode);
            }
            try
            {
                var display = new TransferDisplay(swarm, options.PlainProgress(result), options.PeerTimeout(result));
                switch (await display.RunAsync(cancellationToken).ConfigureAwait(false))
                {
                    case TransferOutcome.Completed:
                        AnsiConsole.MarkupLineInterpolated($"[green]pinned:[/] a complete replica of {parsed.ContentId} ({swarm.Progress.PieceCount} sealed pieces) in {directory}");
                        AnsiConsole.MarkupLine("serving it until [bold]Ctrl+C[/].");
                        await ShareErrors.ServeUntilStoppedAsync(cancellationToken).ConfigureAwait(false);
                        return 0;
                    case var incomplete:
                        return ShareErrors.ReportIncomplete(incomplete, display, "replica");
                }
            }
            finally
            {
                await swarm.DisposeAsync().ConfigureAwait(false);
                if (swarm.Source is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
            }
        });
        return command;
    }

    /// <summary>The default store: the data folder's <c>store/</c> (e.g. ~/.local/share/peernet/store).</summary>
    public static string DefaultStore() => Path.Combine(new HubOptions().ResolveDataDir(), "store");

    /// <summary>
    /// A replica of <paramref name="id"/> in <paramref name="directory"/>: resumed from what is there
    /// (info block and state), else fetched from the swarm. The swarm's <see cref="ShareSwarm.Source"/>
    /// is the <see cref="SealedStore"/>, the caller's to dispose after the swarm.
    /// </summary>
    public static async Task<ShareSwarm> StartReplicaAsync(PeerNet.Signaling.SignalingClient signaling, ContentId id, string directory,
        ShareSwarmOptions options, Microsoft.Extensions.Logging.ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var existing = await SealedStore.TryOpenExistingAsync(directory, id, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            if (existing.StoredPieceCount > 0)
            {
                AnsiConsole.MarkupLineInterpolated($"resuming: {existing.StoredPieceCount} of {existing.Info.PieceCount} pieces already stored");
            }
            try
            {
                return await ShareSwarm.StartAsync(signaling, existing, options, loggers, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await existing.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        return await ShareSwarm.StartAsync(signaling, id,
            async (info, token) => await SealedStore.OpenAsync(directory, info, token).ConfigureAwait(false),
            options, loggers, cancellationToken).ConfigureAwait(false);
    }
}
