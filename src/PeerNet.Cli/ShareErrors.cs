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
