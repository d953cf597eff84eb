using System.CommandLine;
using Microsoft.Extensions.Logging;
using PeerNet.Hub;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary><c>peernet turn</c>: the STUN/TURN server alone, like coturn's turnserver.</summary>
internal static class TurnCommand
{
    public static Command Create()
    {
        var hostOptions = new HostOptions();
        var turn = TurnOptions.Create();
        var command = new Command("turn", "Run the STUN/TURN server alone (RFC 8489, RFC 8656), with long-term and REST credentials.");
        hostOptions.AddTo(command);
        turn.AddTo(command, portName: "--port", tlsPortName: "--tls-port");
        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                var options = hostOptions.Load(result);
                turn.Apply(result, options.Turn);

                using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss ";
                }).SetMinimumLevel(LogLevel.Information));
                await using var host = await TurnService.StartAsync(options, loggers, cancellationToken).ConfigureAwait(false);
                var grid = new Grid().AddColumn().AddColumn();
                grid.AddRow(new Markup("[bold]UDP[/]"), new Text(string.Join(", ", host.UdpEndPoints)));
                grid.AddRow(new Markup("[bold]TCP[/]"), new Text(string.Join(", ", host.TcpEndPoints)));
                if (host.TlsEndPoints.Count > 0) grid.AddRow(new Markup("[bold]TLS[/]"), new Text(string.Join(", ", host.TlsEndPoints)));
                grid.AddRow(new Markup("[bold]Relay[/]"), new Text(string.Join(", ", host.RelayAddresses)));
                grid.AddRow(new Markup("[bold]Realm[/]"), new Text(host.Options.Realm));
                var auth = new List<string>();
                if (host.Options.Users.Count > 0) auth.Add($"{host.Options.Users.Count} static user(s)");
                if (host.Options.AuthSecret is not null) auth.Add(options.Turn.AuthSecret is null ? $"REST secret in {Path.Combine(options.ResolveDataDir(), "turn-secret")}" : "REST secret from configuration");
                grid.AddRow(new Markup("[bold]Auth[/]"), new Text(string.Join("; ", auth)));
                AnsiConsole.Write(new Panel(grid).Header("PeerNet STUN/TURN").RoundedBorder());
                AnsiConsole.MarkupLine("Press [bold]Ctrl+C[/] to stop.");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
                return 0;
            }
            catch (HubConfigurationException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
