using PeerNet.Rtc;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>How echo and ping end when a connection fails: the layer in words, exit code 1.</summary>
internal static class PeerCommandFailure
{
    public const int ExitCode = 1;

    public static int Report(RtcFailureLayer layer, string message)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] connection failed at {RtcConnectionException.LayerName(layer)}: {message}");
        return ExitCode;
    }

    public static int Report(Exception error) => error is RtcConnectionException rtc
        ? Report(rtc.Layer, rtc.Reason)
        : Report(RtcFailureLayer.Signaling, error.Message);
}
