using System.CommandLine;
using Microsoft.Extensions.Logging;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>
/// <c>peernet get LINK [-o DIR]</c>: downloads a shared item from every peer of its swarm at once,
/// verifying each piece against the link's content id, serving what it has to the others meanwhile,
/// and resuming from what is on disk when run again after an interruption. Exit 0 when every file is
/// complete; 2 for a bad link, a pin link, a wrong key, files in the way, or nobody to download from;
/// 1 when the hub cannot be reached. The key is never sent anywhere nor logged.
/// </summary>
internal static class GetCommand
{
    public static Command Create()
    {
        var options = new SwarmCommandOptions();
        var link = new Argument<string>("LINK") { Description = "The link: https://HUB/#/get/CID#k=KEY (quote it: it contains #)" };
        var output = new Option<string>("--output", "-o") { Description = "The folder to download into (default: the current folder)", DefaultValueFactory = _ => "." };
        var seed = new Option<bool>("--seed") { Description = "Keep serving the item to others after it is complete, until Ctrl+C" };
        var command = new Command("get", "Download a shared item from everyone who has it, verified piece by piece; resumes when run again.")
        {
            link, output, seed,
        };
        options.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(result, options, result.GetValue(link)!, result.GetValue(output)!, result.GetValue(seed), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, SwarmCommandOptions options, string linkText, string output, bool seed, CancellationToken cancellationToken)
    {
        var link = ShareErrors.ParseLinkWithKey(linkText, out var exitCode);
        if (link is null) return exitCode;
        var key = link.RequireKey();
        ShareSwarmOptions swarmOptions;
        try
        {
            swarmOptions = options.SwarmOptions(result);
        }
        catch (ArgumentException e)
        {
            return ShareErrors.Report(e.Message);
        }
        var directory = Path.GetFullPath(output);
        Directory.CreateDirectory(directory);
        using var loggers = options.CreateLoggerFactory(result);
        var logger = loggers.CreateLogger("PeerNet.Get");
        var plain = options.PlainProgress(result);
        // The link without its key: what may be shown.
        AnsiConsole.MarkupLineInterpolated($"get: [bold]{link.ContentId}[/] from the swarm on {link.HubUri} into {directory}");

        DownloadStore? store = null;
        try
        {
            // A download begun before: resume at once from its info block and state.
            if (await DownloadInfoFile.TryReadAsync(directory, link.ContentId, cancellationToken).ConfigureAwait(false) is { } known)
            {
                store = await DownloadStore.OpenAsync(directory, known, key, cancellationToken).ConfigureAwait(false);
                Describe(store);
            }
        }
        catch (SharingException e)
        {
            return ShareErrors.Report(e);
        }

        await using var signaling = await SwarmCommandOptions.ConnectAsync(options.SignalingOptions(result, link.HubUri), loggers, cancellationToken).ConfigureAwait(false);
        if (signaling is null)
        {
            if (store is not null) await store.DisposeAsync().ConfigureAwait(false);
            return ShareErrors.NetworkExitCode;
        }

        ShareSwarm swarm;
        try
        {
            swarm = store is not null
                ? await ShareSwarm.StartAsync(signaling, store, swarmOptions, loggers, cancellationToken).ConfigureAwait(false)
                : await ShareSwarm.StartAsync(signaling, link.ContentId, async (info, token) =>
                {
                    var opened = await DownloadStore.OpenAsync(directory, info, key, token).ConfigureAwait(false);
                    await DownloadInfoFile.WriteAsync(directory, info, token).ConfigureAwait(false);
                    Describe(opened);
                    return opened;
                }, swarmOptions, loggers, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PeerNet.Signaling.SignalingException or OperationCanceledException)
        {
            if (store is not null) await store.DisposeAsync().ConfigureAwait(false);
            return cancellationToken.IsCancellationRequested ? 130 : ShareErrors.Report($"cannot join the swarm: {e.Message}", ShareErrors.NetworkExitCode);
        }

        try
        {
            var display = new TransferDisplay(swarm, plain, options.PeerTimeout(result));
            var outcome = await display.RunAsync(cancellationToken).ConfigureAwait(false);
            switch (outcome)
            {
                case TransferOutcome.Completed:
                    var done = (DownloadStore)swarm.Source!;
                    var manifest = done.Manifest;
                    for (var f = 0; f < manifest.Files.Count; f++)
                    {
                        AnsiConsole.MarkupLineInterpolated($"  {done.GetFinalPath(f)} ({ByteSize.Format(manifest.Files[f].Size)})");
                    }
                    AnsiConsole.MarkupLineInterpolated($"[green]complete:[/] {manifest.Files.Count} file(s), {manifest.PayloadLength} bytes, every piece verified against {link.ContentId}");
                    if (seed)
                    {
                        AnsiConsole.MarkupLine("seeding: serving it to others until Ctrl+C.");
                        await ShareErrors.ServeUntilStoppedAsync(cancellationToken).ConfigureAwait(false);
                    }
                    return 0;
                case var incomplete:
                    return ShareErrors.ReportIncomplete(incomplete, display, "download");
            }
        }
        finally
        {
            await swarm.DisposeAsync().ConfigureAwait(false);
            if (swarm.Source is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
            else if (store is not null) await store.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void Describe(DownloadStore store)
    {
        var manifest = store.Manifest;
        AnsiConsole.MarkupLineInterpolated($"item: [bold]{manifest.Name}[/], {manifest.Files.Count} file(s), {ByteSize.Format(manifest.PayloadLength)} ({store.Info.PieceCount} pieces of {ByteSize.Format(store.Info.Layout.PieceSize)})");
        if (store.StoredPieceCount > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"resuming: {store.StoredPieceCount} of {store.Info.PieceCount} pieces already stored");
        }
    }
}
