using System.CommandLine;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PeerNet.Hub;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>
/// <c>peernet share PATH...</c>: seals files and folders (docs/sharing.md §2), prints the link
/// <c>https://HUB/#/get/CID#k=KEY</c> and its QR code, and seeds until Ctrl+C. With no <c>--hub</c>
/// it runs a hub itself (like <c>serve</c>, on a free port unless <c>--port</c>), so the one command
/// works alone. The key is printed in the link for the user and nowhere else.
/// </summary>
internal static class ShareCommand
{
    public static Command Create()
    {
        var options = new SwarmCommandOptions();
        var paths = new Argument<string[]>("PATH") { Description = "Files and folders to share (one item)", Arity = ArgumentArity.OneOrMore };
        var hub = new Option<string?>("--hub") { Description = "The hub whose rooms the swarm meets in: https://host:port. Default: run one here" };
        var pieceSize = new Option<string?>("--piece-size") { Description = "Piece size, a power of two from 16K to 4M (default: 256K, more for payloads over 4 GiB)" };
        var name = new Option<string?>("--name") { Description = "The item's name (default: the file's or folder's name)" };
        var port = new Option<int?>("--port", "-p") { Description = "Without --hub: the port of the hub run here (default: a free one)" };
        var http = new Option<bool>("--http") { Description = "Without --hub: serve plain HTTP (only with a loopback --bind)" };
        var linkHost = new Option<string?>("--link-host") { Description = "Without --hub: the host name or address the link gives for the hub run here (default: this machine's first LAN address)" };
        var noTurn = new Option<bool>("--no-turn") { Description = "Without --hub: do not run the hub's STUN/TURN server" };
        var host = new HostOptions();
        var command = new Command("share", "Share files or folders: prints a link and QR code, and seeds until Ctrl+C.")
        {
            paths, hub, pieceSize, name, port, http, linkHost, noTurn,
        };
        options.AddTo(command, timeout: false);
        host.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            int? log2 = null;
            ShareSwarmOptions swarmOptions;
            ItemSource source;
            try
            {
                swarmOptions = options.SwarmOptions(result);
                if (result.GetValue(pieceSize) is { } text) log2 = PieceSizeLog2(text);
                source = ItemSource.FromPaths(result.GetValue(paths)!, result.GetValue(name));
            }
            catch (ArgumentException e)
            {
                return ShareErrors.Report(e.Message);
            }
            catch (FileNotFoundException e)
            {
                return ShareErrors.Report(e.Message);
            }
            catch (SharingException e)
            {
                return ShareErrors.Report(e);
            }

            using var loggers = options.CreateLoggerFactory(result);
            SealedItem item;
            try
            {
                item = await SealAsync(source, log2, options.PlainProgress(result), cancellationToken).ConfigureAwait(false);
            }
            catch (SharingException e)
            {
                return ShareErrors.Report(e);
            }
            catch (IOException e)
            {
                return ShareErrors.Report($"cannot read the files: {e.Message}");
            }
            catch (OperationCanceledException)
            {
                return 130;
            }

            // The hub: the one given, or one run here.
            HubServer? embedded = null;
            Uri hubUri;
            string? pinnedSha256 = null;
            string linkAuthority;
            var verbose = result.GetValue(options.Verbose);
            if (result.GetValue(hub) is { } given)
            {
                if (!Uri.TryCreate(given, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("https" or "http"))
                {
                    return ShareErrors.Report($"--hub '{given}' is not an https:// (or http:// on loopback) URL");
                }
                hubUri = parsed;
                linkAuthority = parsed.Authority;
            }
            else
            {
                try
                {
                    var hubOptions = host.Load(result);
                    hubOptions.Port = result.GetValue(port) ?? 0;
                    if (result.GetValue(http)) hubOptions.Http = true;
                    if (result.GetValue(noTurn)) hubOptions.Turn.Enabled = false;
                    embedded = await HubServer.StartAsync(hubOptions, cancellationToken, logging => logging
                        .AddSimpleConsole(o =>
                        {
                            o.SingleLine = true;
                            o.TimestampFormat = "HH:mm:ss ";
                        })
                        .SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning)
                        .AddFilter("Microsoft", LogLevel.Warning)).ConfigureAwait(false);
                    hubUri = embedded.Url;
                    pinnedSha256 = embedded.CertificateSha256;
                    linkAuthority = LinkAuthority(result.GetValue(linkHost), hubOptions, embedded.Url);
                }
                catch (Exception e) when (e is HubConfigurationException or IOException or SocketException)
                {
                    return ShareErrors.Report($"cannot run a hub here: {e.Message}");
                }
            }

            await using var hubLifetime = embedded;
            ShareLink link;
            try
            {
                link = item.CreateLink(linkAuthority, hubUri.Scheme);
            }
            catch (SharingException e)
            {
                return ShareErrors.Report(e);
            }

            var signalingUri = embedded is null ? hubUri : embedded.Url;
            await using var signaling = await SwarmCommandOptions.ConnectAsync(options.SignalingOptions(result, signalingUri, pinnedSha256), loggers, cancellationToken).ConfigureAwait(false);
            if (signaling is null) return ShareErrors.NetworkExitCode;
            using var pieces = new PlainPieceSource(item);
            ShareSwarm swarm;
            try
            {
                swarm = await ShareSwarm.StartAsync(signaling, pieces, swarmOptions, loggers, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is PeerNet.Signaling.SignalingException or OperationCanceledException)
            {
                return cancellationToken.IsCancellationRequested ? 130 : ShareErrors.Report($"cannot join the swarm: {e.Message}", ShareErrors.NetworkExitCode);
            }

            await using (swarm.ConfigureAwait(false))
            {
                PrintLink(link, embedded, item);
                var peers = -1;
                var reported = 0;
                long uploaded = 0;
                var lastLine = System.Diagnostics.Stopwatch.StartNew();
                swarm.ProgressChanged += (_, p) =>
                {
                    // A line when peers come or go, and every few seconds while uploading.
                    var uploading = p.BytesUploaded != uploaded && lastLine.Elapsed >= TimeSpan.FromSeconds(5);
                    if (p.Peers == peers && p.PeersReported == reported && !uploading) return;
                    peers = p.Peers;
                    reported = p.PeersReported;
                    uploaded = p.BytesUploaded;
                    lastLine.Restart();
                    var line = $"seeding: {p.Peers} peer(s) connected, {ByteSize.Format(p.BytesUploaded)} uploaded" + (p.PeersReported > 0 ? $", {p.PeersReported} peer(s) reported" : "");
                    AnsiConsole.MarkupLineInterpolated($"{line}");
                };
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            // After the swarm stopped: its last snapshot counts every byte sent (the one taken while
            // it ran can be up to a progress interval old).
            AnsiConsole.MarkupLineInterpolated($"stopped: {ByteSize.Format(swarm.Progress.BytesUploaded)} uploaded in all.");
            return 0;
        });
        return command;
    }

    private static async Task<SealedItem> SealAsync(ItemSource source, int? log2, bool plain, CancellationToken cancellationToken)
    {
        var total = source.Manifest.PayloadLength;
        var options = new ItemSealerOptions { PieceSizeLog2 = log2 };
        AnsiConsole.MarkupLineInterpolated($"sealing [bold]{source.Name}[/]: {source.Files.Count} file(s), {ByteSize.Format(total)}");
        if (plain)
        {
            return await ItemSealer.SealAsync(source, options, null, cancellationToken).ConfigureAwait(false);
        }
        SealedItem? item = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("sealing", maxValue: Math.Max(1, total));
                item = await ItemSealer.SealAsync(source, options, new Progress<long>(done => task.Value = done), cancellationToken).ConfigureAwait(false);
                task.Value = Math.Max(1, total);
            }).ConfigureAwait(false);
        return item!;
    }

    private static int PieceSizeLog2(string text)
    {
        var size = PeerCommandOptions.ParseSize(text);
        for (var log2 = PieceLayout.MinPieceSizeLog2; log2 <= PieceLayout.MaxPieceSizeLog2; log2++)
        {
            if (1L << log2 == size) return log2;
        }
        throw new ArgumentException($"--piece-size {text} is not a power of two from 16K to 4M");
    }

    /// <summary>
    /// The hub's authority as the link gives it: --link-host, or, for a hub bound to every interface,
    /// this machine's first LAN address (so another device can use the link), else the hub's own URL.
    /// </summary>
    private static string LinkAuthority(string? linkHost, HubOptions options, Uri url)
    {
        var port = url.Port;
        if (!string.IsNullOrWhiteSpace(linkHost))
        {
            return IPAddress.TryParse(linkHost, out var literal) && literal.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{literal}]:{port}" : $"{linkHost}:{port}";
        }
        if (options.Bind is "*" or "0.0.0.0" or "" && FirstLanAddress() is { } lan) return $"{lan}:{port}";
        return url.Authority;
    }

    private static IPAddress? FirstLanAddress()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        }
        catch (NetworkInformationException)
        {
            return null;
        }
    }

    private static void PrintLink(ShareLink link, HubServer? embedded, SealedItem item)
    {
        AnsiConsole.MarkupLineInterpolated($"content id: {item.Id} ({item.Info.PieceCount} pieces of {ByteSize.Format(item.Info.Layout.PieceSize)})");
        if (embedded is not null)
        {
            AnsiConsole.MarkupLineInterpolated($"hub: running here at {embedded.Url}; the link names it as [bold]{link.HubUri}[/] (--link-host to change it)");
            if (embedded.CertificateSha256 is { } sha256)
            {
                AnsiConsole.MarkupLine("its certificate is self-signed; `peernet get` needs --insecure or --hub-sha256 with this SHA-256:");
                Console.WriteLine(sha256);
            }
        }
        Console.WriteLine();
        Console.WriteLine(TerminalQrCode.Render(link.ToString()));
        AnsiConsole.MarkupLine("[bold]link[/] (anyone with it can download and read the files; the part after #k= is the key):");
        Console.WriteLine(link.ToString());
        Console.WriteLine();
        AnsiConsole.MarkupLine("seeding until [bold]Ctrl+C[/].");
    }
}
