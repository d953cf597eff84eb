using System.Diagnostics;
using System.Globalization;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>How a download or pin ended.</summary>
internal enum TransferOutcome
{
    Completed,
    NoPeers,
    Failed,
    Cancelled,
}

/// <summary>
/// Shows a swarm's progress until every piece is stored: a Spectre.Console display (each file and
/// overall, peers, speed, ETA) on a terminal, or a line a second otherwise (scripts, tests). Gives up
/// when nobody sends the info block, or nobody is connected, for the peer timeout.
/// </summary>
internal sealed class TransferDisplay(ShareSwarm swarm, bool plain, TimeSpan peerTimeout)
{
    private const int MaxFileRows = 8;

    /// <summary>The error when the outcome is <see cref="TransferOutcome.Failed"/>.</summary>
    public Exception? Error { get; private set; }

    /// <summary>Why the outcome is <see cref="TransferOutcome.NoPeers"/>.</summary>
    public string? NoPeersReason { get; private set; }

    public async Task<TransferOutcome> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var info = await WaitForInfoAsync(cancellationToken).ConfigureAwait(false);
            if (info is null) return Error is null ? TransferOutcome.NoPeers : TransferOutcome.Failed;
            return plain
                ? await RunPlainAsync(cancellationToken).ConfigureAwait(false)
                : await RunLiveAsync(info, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return TransferOutcome.Cancelled;
        }
    }

    private async Task<ContentInfo?> WaitForInfoAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await swarm.InfoKnown.WaitAsync(peerTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var peers = swarm.Progress.Peers;
            NoPeersReason = peers == 0
                ? $"no peers: nobody in the swarm connected within {peerTimeout.TotalSeconds:0} s (is the sharer still running, and on this hub?)"
                : $"no peers: {peers} connected but none sent the item within {peerTimeout.TotalSeconds:0} s";
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Error = e;
            return null;
        }
    }

    /// <summary>Checks completion and the peer timeout; null while the transfer goes on.</summary>
    private TransferOutcome? Check(Stopwatch sincePeer)
    {
        var completion = swarm.Completion;
        if (completion.IsCompletedSuccessfully) return TransferOutcome.Completed;
        if (completion.IsFaulted)
        {
            Error = completion.Exception!.InnerException;
            return TransferOutcome.Failed;
        }
        if (swarm.Progress.Peers > 0) sincePeer.Restart();
        else if (sincePeer.Elapsed > peerTimeout)
        {
            var p = swarm.Progress;
            NoPeersReason = string.Create(CultureInfo.InvariantCulture,
                $"no peers: nobody connected for {peerTimeout.TotalSeconds:0} s with {Percent(p):0}% stored; run the same command again to resume");
            return TransferOutcome.NoPeers;
        }
        return null;
    }

    private async Task<TransferOutcome> RunPlainAsync(CancellationToken cancellationToken)
    {
        var sincePeer = Stopwatch.StartNew();
        string? last = null;
        var lastAt = Stopwatch.StartNew();
        while (true)
        {
            var outcome = Check(sincePeer);
            var line = Line(swarm.Progress);
            if (outcome is not null || (line != last && lastAt.Elapsed >= TimeSpan.FromSeconds(1)))
            {
                Console.WriteLine("progress: " + line);
                last = line;
                lastAt.Restart();
            }
            if (outcome is { } done) return done;
            await Task.WhenAny(swarm.Completion, Task.Delay(250, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task<TransferOutcome> RunLiveAsync(ContentInfo info, CancellationToken cancellationToken)
    {
        var sincePeer = Stopwatch.StartNew();
        TransferOutcome outcome = TransferOutcome.Cancelled;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var overall = context.AddTask("overall", maxValue: Math.Max(1, info.Layout.PayloadLength));
                Manifest? manifest = null;
                List<(int File, ProgressTask Task)> rows = [];
                while (true)
                {
                    var p = swarm.Progress;
                    if (manifest is null && swarm.Source is DownloadStore store)
                    {
                        manifest = store.Manifest;
                        for (var f = 0; f < Math.Min(manifest.Files.Count, MaxFileRows); f++)
                        {
                            var file = manifest.Files[f];
                            rows.Add((f, context.AddTask(Markup.Escape(file.Path), maxValue: Math.Max(1, file.Size))));
                        }
                    }
                    overall.Description = Markup.Escape($"overall · {p.Peers} peer(s) · ↓ {ByteSize.Rate(p.DownloadRate)} · ↑ {ByteSize.Rate(p.UploadRate)}"
                        + (p.PeersReported > 0 ? $" · {p.PeersReported} reported" : ""));
                    overall.Value = p.TotalBytes <= 0 ? (p.IsComplete ? 1 : 0) : p.BytesStored;
                    if (manifest is not null && p.Have.Length > 0)
                    {
                        var bytes = p.GetFileBytes(manifest);
                        foreach (var (file, task) in rows) task.Value = manifest.Files[file].Size == 0 ? 1 : bytes[file];
                    }
                    if (Check(sincePeer) is { } done)
                    {
                        outcome = done;
                        return;
                    }
                    context.Refresh();
                    await Task.WhenAny(swarm.Completion, Task.Delay(200, cancellationToken)).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }).ConfigureAwait(false);
        return outcome;
    }

    private static double Percent(ShareSwarmProgress p) => p.TotalBytes <= 0 ? (p.IsComplete ? 100 : 0) : 100.0 * p.BytesStored / p.TotalBytes;

    /// <summary>"12.0 MiB of 64.0 MiB (18%), 3 peers, 10.2 MiB/s, ETA 5 s".</summary>
    public static string Line(ShareSwarmProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"{ByteSize.Format(p.BytesStored)} of {ByteSize.Format(Math.Max(0, p.TotalBytes))} ({Math.Floor(Percent(p)):0}%), {p.PiecesStored}/{Math.Max(0, p.PieceCount)} pieces, {p.Peers} peer(s), {ByteSize.Rate(p.DownloadRate)}, ETA {ByteSize.Duration(p.Eta)}")
        + (p.PeersReported > 0 ? $", {p.PeersReported} peer(s) reported" : "");
}
