using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using PeerNet.Rtc;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using PeerNet.Signaling;

namespace PeerNet.Cli;

/// <summary>What <c>share</c>, <c>get</c> and <c>pin</c> share: how to trust the hub, how long to wait, logging, ICE, the upload cap.</summary>
internal sealed class SwarmCommandOptions
{
    public Option<bool> Insecure { get; } = new("--insecure") { Description = "Accept any hub certificate (a self-signed hub whose fingerprint you have not checked)" };

    public Option<string?> CertificateSha256 { get; } = new("--hub-sha256") { Description = "Accept the hub's certificate if its SHA-256 fingerprint is this" };

    public Option<int> Timeout { get; } = new("--timeout") { Description = "Seconds to wait for a peer (with nobody connected for this long, get and pin give up)", DefaultValueFactory = _ => 30 };

    public Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Log protocol details (never the key)" };

    public Option<string[]> IceServer { get; } = new("--ice-server")
    {
        Description = "A STUN/TURN server URL (stun:host:port, turn:host:port?transport=udp|tcp, turns:host:port); repeatable. Replaces the hub's servers",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> IceUsername { get; } = new("--ice-username") { Description = "Username for the turn:/turns: URLs of --ice-server" };

    public Option<string?> IceCredential { get; } = new("--ice-credential") { Description = "Password for the turn:/turns: URLs of --ice-server" };

    public Option<string?> UploadLimit { get; } = CreateUploadLimit("Upload at most RATE bytes per second to all peers together, e.g. 8MB, 500KiB, 2M (K/M/G and KiB/MiB/GiB are 1024-based, KB/MB/GB 1000-based; default: no limit)");

    public Option<bool> Plain { get; } = new("--plain") { Description = "Print progress as lines (the default when the output is not a terminal)" };

    public void AddTo(Command command, bool timeout = true)
    {
        command.Options.Add(Insecure);
        command.Options.Add(CertificateSha256);
        if (timeout) command.Options.Add(Timeout);
        command.Options.Add(Verbose);
        command.Options.Add(IceServer);
        command.Options.Add(IceUsername);
        command.Options.Add(IceCredential);
        command.Options.Add(UploadLimit);
        command.Options.Add(Plain);
    }

    /// <summary>The <c>--upload-limit RATE</c> option (also <c>serve</c>'s, with its own description).</summary>
    public static Option<string?> CreateUploadLimit(string description) => new("--upload-limit") { Description = description, HelpName = "RATE" };

    /// <summary>The value of an <c>--upload-limit</c> option: bytes per second, or null when not given.</summary>
    /// <exception cref="ArgumentException">Not a rate.</exception>
    public static long? UploadLimitValue(ParseResult result, Option<string?> option) =>
        result.GetValue(option) is { } text ? ParseRate(text) : null;

    /// <summary>
    /// Reads a rate in bytes per second: "4000000", "8MB" (8,000,000), "500KiB" (512,000), "2M"
    /// (2 MiB, as sizes read elsewhere in the CLI), "1.5MiB", with an optional "/s". At least 1 KiB/s.
    /// </summary>
    /// <exception cref="ArgumentException">Not a rate, or below 1 KiB/s.</exception>
    public static long ParseRate(string text)
    {
        var error = $"--upload-limit '{text}' is not a rate in bytes per second (e.g. 8MB, 500KiB, 2M; at least 1KiB)";
        var s = text.Trim();
        if (s.EndsWith("/s", StringComparison.OrdinalIgnoreCase)) s = s[..^2].TrimEnd();
        var digits = 0;
        while (digits < s.Length && (char.IsAsciiDigit(s[digits]) || s[digits] == '.')) digits++;
        var unit = s[digits..].Trim().ToUpperInvariant();
        long multiplier = unit switch
        {
            "" or "B" => 1,
            "K" or "KIB" => 1L << 10,
            "M" or "MIB" => 1L << 20,
            "G" or "GIB" => 1L << 30,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            _ => 0,
        };
        if (multiplier == 0 || digits == 0
            || !decimal.TryParse(s[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number) || number > 1e15m)
        {
            throw new ArgumentException(error);
        }
        var value = number * multiplier;
        if (value < 1024 || value > long.MaxValue / 1_000) throw new ArgumentException(error);
        return (long)Math.Round(value);
    }

    /// <summary>The swarm's settings: --ice-server URLs replace the hub's servers.</summary>
    /// <exception cref="ArgumentException">A bad --ice-server URL or --upload-limit.</exception>
    public ShareSwarmOptions SwarmOptions(ParseResult result)
    {
        var servers = IceServerArguments.Parse(result, IceServer, IceUsername, IceCredential);
        return new ShareSwarmOptions
        {
            Configuration = new RtcConfiguration { IceServers = servers },
            MaxUploadBytesPerSecond = UploadLimitValue(result, UploadLimit),
        };
    }

    public TimeSpan PeerTimeout(ParseResult result) => TimeSpan.FromSeconds(Math.Max(1, result.GetValue(Timeout)));

    public bool PlainProgress(ParseResult result) => result.GetValue(Plain) || Console.IsOutputRedirected;

    /// <summary>Signaling to the hub of a link (or given with --hub): https://host → wss://host/signal.</summary>
    public SignalingClientOptions SignalingOptions(ParseResult result, Uri hub, string? pinnedSha256 = null) => new()
    {
        Url = PeerCommandOptions.SignalingUrl(hub.ToString()),
        AcceptAnyCertificate = result.GetValue(Insecure),
        CertificateSha256 = result.GetValue(CertificateSha256) ?? pinnedSha256,
    };

    // Logs go to standard error: on standard output a log line written by the logger's own thread
    // could land in the middle of a result line ("complete: …").
    public ILoggerFactory CreateLoggerFactory(ParseResult result) => LoggerFactory.Create(logging => logging
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        })
        .SetMinimumLevel(result.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Warning));

    /// <summary>Connects to the hub; null (with the reason printed) when it cannot.</summary>
    public static async Task<SignalingClient?> ConnectAsync(SignalingClientOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var signaling = new SignalingClient(options, loggers.CreateLogger<SignalingClient>());
        try
        {
            await signaling.ConnectAsync(cancellationToken).ConfigureAwait(false);
            return signaling;
        }
        catch (Exception e) when (e is SignalingException or IOException or System.Net.WebSockets.WebSocketException)
        {
            await signaling.DisposeAsync().ConfigureAwait(false);
            ShareErrors.Print($"cannot reach the hub at {options.Url}: {e.Message}");
            return null;
        }
    }
}
