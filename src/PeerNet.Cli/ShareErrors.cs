using PeerNet.Sharing;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>How share, get and pin end on an error: one clear sentence, and an exit code (2: the link, the key or the files; 1: the network).</summary>
internal static class ShareErrors
{
    /// <summary>Bad usage, a bad link or key, a manifest or path that cannot be written, nobody to download from.</summary>
    public const int UsageExitCode = 2;

    /// <summary>The hub or the network failed.</summary>
    public const int NetworkExitCode = 1;

    public static void Print(string message) => AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {message}");

    public static int Report(string message, int exitCode = UsageExitCode)
    {
        Print(message);
        return exitCode;
    }

    /// <summary>How a transfer that did not complete ends: no peers, a failure of <paramref name="what"/>, or stopped (130, resumable).</summary>
    public static int ReportIncomplete(TransferOutcome outcome, TransferDisplay display, string what)
    {
        switch (outcome)
        {
            case TransferOutcome.NoPeers:
                return Report(display.NoPeersReason!);
            case TransferOutcome.Failed:
                return display.Error is SharingException sharing
                    ? Report(sharing)
                    : Report(display.Error?.Message ?? $"the {what} failed", NetworkExitCode);
            default:
                AnsiConsole.MarkupLine("stopped; run the same command again to resume.");
                return 130;
        }
    }

    /// <summary>Keeps serving until Ctrl+C.</summary>
    public static async Task ServeUntilStoppedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A sharing error in words, with the code's name first (bad-link, missing-key, wrong-key, ...).</summary>
    public static int Report(SharingException e)
    {
        var advice = e.Code switch
        {
            SharingErrorCode.MissingKey => "this is a pin link (it has no #k=KEY): it can replicate the content but not read it. Use `peernet pin LINK` to keep a replica, or ask for the full link.",
            SharingErrorCode.WrongKey => "the key in the link does not open this item (the link was changed or mixed up with another). Ask for the link again.",
            SharingErrorCode.BadLink => e.Message,
            SharingErrorCode.FileExists => e.Message,
            _ => e.Message,
        };
        return Report($"{e.CodeName}: {advice}");
    }

    /// <summary>Parses a link for reading; prints the error and returns null when it is bad or has no key.</summary>
    public static ShareLink? ParseLinkWithKey(string text, out int exitCode)
    {
        exitCode = 0;
        try
        {
            var link = ShareLink.Parse(text);
            link.RequireKey();
            return link;
        }
        catch (SharingException e)
        {
            exitCode = Report(e);
            return null;
        }
    }
}
