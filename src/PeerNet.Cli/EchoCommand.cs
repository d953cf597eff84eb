using System.CommandLine;
using Microsoft.Extensions.Logging;
using PeerNet.Rtc;
using PeerNet.Signaling;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>
/// <c>peernet echo</c>: the netcat of PeerNet. Joins a room, answers every peer that offers, and
/// sends every data-channel message back on the channel it came from, whatever its label,
/// ordering or reliability.
/// </summary>
internal static class EchoCommand
{
    public static Command Create()
    {
        var options = new PeerCommandOptions();
        var command = new Command("echo", "Join a room and echo every data-channel message back to its sender.");
        options.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            RtcConfiguration configuration;
            try
            {
                configuration = options.Configuration(result);
            }
            catch (ArgumentException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                return 2;
            }
            using var loggers = options.CreateLoggerFactory(result);
            var logger = loggers.CreateLogger("PeerNet.Echo");
            await using var signaling = new SignalingClient(options.SignalingOptions(result), loggers.CreateLogger<SignalingClient>());
            try
            {
                await signaling.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SignalingException or OperationCanceledException or IOException)
            {
                return PeerCommandFailure.Report(RtcFailureLayer.Signaling, e.Message);
            }
            try
            {
                // Compile the stack before anyone connects, so the first peer's setup is not the JIT's.
                await StackWarmUp.RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or RtcConnectionException)
            {
                logger.LogDebug("warm-up skipped: {Reason}", e.Message);
            }
            var room = result.GetValue(options.Room)!;
            await using var peers = new PeerRoom(signaling, room, initiator => new PeerOptions { Initiator = initiator, Configuration = configuration }, loggers)
            {
                UseHubIceServers = options.UseHubIceServers(result),
            };
            peers.PeerAccepted += (_, e) => Serve(e.RemoteId, e.Peer, logger);
            var present = await peers.JoinAsync(cancellationToken).ConfigureAwait(false);
            AnsiConsole.MarkupLineInterpolated($"echo: in room [bold]{room}[/] as [bold]{signaling.Id}[/] ({present.Count} other peer(s) there); answering every offer. Ctrl+C stops.");
            try
            {
                await Task.Delay(System.Threading.Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        });
        return command;
    }

    private static void Serve(string remoteId, Peer peer, ILogger logger)
    {
        var connection = peer.Connection;
        var started = DateTime.UtcNow;
        AnsiConsole.MarkupLineInterpolated($"peer [bold]{remoteId}[/] offered");
        connection.ConnectionStateChange += (_, state) =>
        {
            if (state == RtcPeerConnectionState.Connected)
                AnsiConsole.MarkupLineInterpolated($"peer [bold]{remoteId}[/] connected in {(DateTime.UtcNow - started).TotalMilliseconds:F0} ms over {connection.GetSelectedCandidatePair()?.ToString() ?? "?"}");
            else if (state == RtcPeerConnectionState.Failed)
                AnsiConsole.MarkupLineInterpolated($"[red]peer {remoteId} failed:[/] {connection.Failure?.Message ?? "unknown"}");
        };
        connection.DataChannel += (_, channel) =>
        {
            long messages = 0;
            AnsiConsole.MarkupLineInterpolated($"peer [bold]{remoteId}[/] opened channel '{channel.Label}' (ordered={channel.Ordered}, maxRetransmits={channel.MaxRetransmits?.ToString() ?? "-"}, maxPacketLifeTime={channel.MaxPacketLifeTime?.ToString() ?? "-"})");
            channel.Message += (_, e) =>
            {
                messages++;
                try
                {
                    if (e.IsText) channel.Send(e.Text);
                    else channel.Send(e.Data);
                }
                catch (Exception error) when (error is InvalidOperationException or ArgumentException)
                {
                    logger.LogWarning("could not echo on '{Label}': {Reason}", channel.Label, error.Message);
                }
            };
            channel.Closed += (_, _) => AnsiConsole.MarkupLineInterpolated($"peer [bold]{remoteId}[/] closed channel '{channel.Label}' after {messages} message(s)");
        };
        peer.Closed += (_, _) => AnsiConsole.MarkupLineInterpolated($"peer [bold]{remoteId}[/] is gone");
    }
}
