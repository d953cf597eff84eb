using System.CommandLine;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PeerNet.Hub;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary><c>peernet serve</c>: runs the hub (signaling, ICE servers, web app).</summary>
internal static class ServeCommand
{
    public const string PinTokenVariable = "PEERNET_PIN_TOKEN";
    public const string PinTokenFile = ".pin-token";

    public static Command Create()
    {
        var port = new Option<int?>("--port", "-p") { Description = $"TCP port to listen on (default {HubOptions.DefaultPort}; 0 picks a free one)" };
        var http = new Option<bool>("--http") { Description = "serve plain HTTP instead of HTTPS (only on a loopback --bind)" };
        var webRoot = new Option<string?>("--web-root") { Description = "serve the web app from this folder (development)" };
        var iceServer = new Option<string[]>("--ice-server") { Description = "an ICE server URL to hand to peers, e.g. stun:stun.example.org:3478 (repeatable)", AllowMultipleArgumentsPerToken = false };
        var noTurn = new Option<bool>("--no-turn") { Description = "do not run the built-in STUN/TURN server" };
        var store = new Option<string?>("--store") { Description = "keep replicas here (one folder per content id): re-seed every item already in it, in this hub's rooms" };
        var uploadLimit = SwarmCommandOptions.CreateUploadLimit("with --store: upload at most RATE bytes per second for each item served, e.g. 8MB, 500KiB, 2M (K/M/G and KiB/MiB/GiB are 1024-based, KB/MB/GB 1000-based; default: no limit)");
        var pin = new Option<string[]>("--pin") { Description = "with --store: fetch this link's item from this hub's swarm into the store and serve it (repeatable; no key needed)", AllowMultipleArgumentsPerToken = false };
        var pinToken = new Option<string?>("--pin-token") { Description = $"with --store: the token that lets `peernet pin LINK --to HUB` add items while the hub runs (default: ${PinTokenVariable}, else one kept in DIR/{PinTokenFile})" };
        var host = new HostOptions();
        var turn = TurnOptions.Create();

        var command = new Command("serve", "Run the hub: signaling server, ICE servers and the web app.")
        {
            port, http, webRoot, iceServer, noTurn, store, pin, pinToken, uploadLimit,
        };
        host.AddTo(command);
        turn.AddTo(command, portName: "--turn-port", tlsPortName: "--turn-tls-port");
        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                var options = host.Load(result);
                if (result.GetValue(port) is { } p) options.Port = p;
                if (result.GetValue(http)) options.Http = true;
                if (result.GetValue(webRoot) is { } w) options.WebRoot = w;
                foreach (var url in result.GetValue(iceServer) ?? []) options.IceServers.Add(new IceServerOptions { Urls = [url] });
                if (result.GetValue(noTurn)) options.Turn.Enabled = false;
                turn.Apply(result, options.Turn);

                var pins = new List<PeerNet.Sharing.ShareLink>();
                foreach (var text in result.GetValue(pin) ?? [])
                {
                    if (!PeerNet.Sharing.ShareLink.TryParse(text, out var parsed))
                    {
                        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] --pin: not a PeerNet link (https://HUB/#/get/CID)");
                        return 2;
                    }
                    pins.Add(parsed.ToPinLink());
                }
                long? maxUpload;
                try
                {
                    maxUpload = SwarmCommandOptions.UploadLimitValue(result, uploadLimit);
                }
                catch (ArgumentException e)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                    return 2;
                }
                if (maxUpload is not null && result.GetValue(store) is null)
                {
                    AnsiConsole.MarkupLine("[red]error:[/] --upload-limit needs --store DIR (the hub itself serves no pieces)");
                    return 2;
                }
                if (pins.Count > 0 && result.GetValue(store) is null)
                {
                    AnsiConsole.MarkupLine("[red]error:[/] --pin needs --store DIR (where the replica is kept)");
                    return 2;
                }
                if (result.GetValue(pinToken) is not null && result.GetValue(store) is null)
                {
                    AnsiConsole.MarkupLine("[red]error:[/] --pin-token needs --store DIR (pins are kept there; without a store the hub accepts none)");
                    return 2;
                }

                await using var hub = await HubServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
                PrintBanner(hub);
                using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss ";
                }).SetMinimumLevel(LogLevel.Warning));
                await using var replicas = result.GetValue(store) is { } storeDir
                    ? await StoreReplicas.StartAsync(hub, storeDir, pins, new PeerNet.Sharing.Driver.ShareSwarmOptions { MaxUploadBytesPerSecond = maxUpload }, loggers, cancellationToken).ConfigureAwait(false)
                    : null;
                if (replicas is not null)
                {
                    var (token, from) = LoadPinToken(result.GetValue(pinToken), replicas.Root);
                    hub.Pins.Attach(replicas, token);
                    AnsiConsole.MarkupLineInterpolated($"store: accepting pins at {new Uri(hub.Url, "api/pins")} (token {from}): peernet pin LINK --to {hub.Url} --token TOKEN");
                }
                try
                {
                    await hub.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
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
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the port is already in use ({e.Message}). Stop the other server or pick another --port.");
                return 2;
            }
            catch (SocketException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] cannot listen: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>
    /// The pin token: --pin-token, else $PEERNET_PIN_TOKEN, else the store's own (made once, kept
    /// owner-only in DIR/.pin-token so it survives restarts). Returns it and where it came from.
    /// </summary>
    internal static (string Token, string From) LoadPinToken(string? given, string storeRoot)
    {
        if (!string.IsNullOrWhiteSpace(given)) return (Checked(given.Trim(), "--pin-token"), "from --pin-token");
        if (Environment.GetEnvironmentVariable(PinTokenVariable) is { Length: > 0 } variable) return (Checked(variable.Trim(), PinTokenVariable), $"from ${PinTokenVariable}");
        var path = Path.Combine(storeRoot, PinTokenFile);
        if (File.Exists(path))
        {
            var kept = File.ReadAllText(path).Trim();
            if (kept.Length >= 16) return (kept, $"in {path}");
        }
        var token = HubPins.NewToken();
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(path, options))
        {
            writer.WriteLine(token);
        }
        return (token, $"in {path}");

        static string Checked(string token, string what) => token.Length >= 16
            ? token
            : throw new HubConfigurationException($"{what}: the pin token must be at least 16 characters");
    }

    private static void PrintBanner(HubServer hub)
    {
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow(new Markup("[bold]Open[/]"), new Markup($"[link]{Markup.Escape(hub.Url.ToString())}[/]"));
        grid.AddRow(new Markup("[bold]Signaling[/]"), new Text(hub.SignalingUrl.ToString()));
        if (hub.CertificateSha256 is { } fingerprint)
        {
            var origin = hub.CertificateGenerated ? "self-signed, created now in " + hub.DataDir : "from " + hub.DataDir;
            grid.AddRow(new Markup("[bold]Certificate[/]"), new Text(origin));
        }
        else
        {
            grid.AddRow(new Markup("[bold]Transport[/]"), new Markup("[yellow]plain HTTP (loopback only)[/]"));
        }
        if (hub.TurnPorts is { } turnPorts)
        {
            var text = $"UDP {turnPorts.Udp}, TCP {turnPorts.Tcp}" + (turnPorts.Tls is { } tls ? $", TLS {tls}" : "") + " (time-limited credentials via /api/ice-servers)";
            grid.AddRow(new Markup("[bold]STUN/TURN[/]"), new Text(text));
        }
        else
        {
            grid.AddRow(new Markup("[bold]STUN/TURN[/]"), new Text("off"));
        }
        AnsiConsole.Write(new Panel(grid).Header("PeerNet hub").RoundedBorder());
        if (hub.CertificateSha256 is { } sha256)
        {
            // On one line, outside the panel, so it can be copied whole.
            AnsiConsole.MarkupLine("Certificate SHA-256 (check that your browser shows the same):");
            Console.WriteLine(sha256);
        }
        AnsiConsole.MarkupLine("Press [bold]Ctrl+C[/] to stop.");
    }
}
