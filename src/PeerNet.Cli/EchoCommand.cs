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
        var udpPort = new Option<int?>("--udp-port") { Description = "Serve every peer on this one UDP port (server-side ICE: one firewall rule for all peers)" };
        var udpBind = new Option<string?>("--udp-bind") { Description = "The address --udp-port binds (default 0.0.0.0, which needs --announce)" };
        var announce = new Option<string[]>("--announce") { Description = "The address peers reach --udp-port at, e.g. the public address of a 1:1 NAT (repeatable; default: the --udp-bind address)" };
        command.Options.Add(udpPort);
        command.Options.Add(udpBind);
        command.Options.Add(announce);
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
            PeerNet.Ice.IceUdpMux? mux = null;
            if (result.GetValue(udpPort) is { } port)
            {
                try
                {
                    mux = BindMux(port, result.GetValue(udpBind), result.GetValue(announce) ?? [], loggers);
                }
                catch (Exception e) when (e is ArgumentException or FormatException or System.Net.Sockets.SocketException)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] --udp-port {port}: {e.Message}");
                    return 2;
                }
                configuration = configuration with { IceUdpMux = mux };
                AnsiConsole.MarkupLineInterpolated($"echo: every peer on UDP [bold]{mux.LocalEndPoint}[/] (announced as {string.Join(", ", mux.AnnouncedEndPoints)})");
            }
            await using var muxLifetime = mux;
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

    private static PeerNet.Ice.IceUdpMux BindMux(int port, string? bind, string[] announce, ILoggerFactory loggers)
    {
        if (port is < 1 or > 65535) throw new ArgumentException("a UDP port is 1 to 65535");
        var address = bind is null ? System.Net.IPAddress.Any : System.Net.IPAddress.Parse(bind);
        var options = new PeerNet.Ice.IceUdpMuxOptions { LocalEndPoint = new System.Net.IPEndPoint(address, port) };
        foreach (var text in announce) options.AnnouncedAddresses.Add(System.Net.IPAddress.Parse(text));
        if (options.AnnouncedAddresses.Count == 0 && (address.Equals(System.Net.IPAddress.Any) || address.Equals(System.Net.IPAddress.IPv6Any)))
            throw new ArgumentException("bound to every address, it needs --announce with the address peers reach it at (or --udp-bind with one address)");
        return PeerNet.Ice.IceUdpMux.Bind(options, loggers.CreateLogger("PeerNet.Ice.Mux"));
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
