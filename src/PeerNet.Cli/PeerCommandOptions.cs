using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using PeerNet.Rtc;
using PeerNet.Signaling;

namespace PeerNet.Cli;

/// <summary>What <c>peernet echo</c> and <c>peernet ping</c> share: where the hub is and how to trust it.</summary>
internal sealed class PeerCommandOptions
{
    public Option<string> Hub { get; } = new("--hub") { Description = "The hub: https://host:port (or wss://host:port/signal)", Required = true };

    public Option<string> Room { get; } = new("--room") { Description = "The room to meet in", Required = true };

    public Option<bool> Insecure { get; } = new("--insecure") { Description = "Accept any hub certificate (a self-signed hub whose fingerprint you have not checked)" };

    public Option<string?> CertificateSha256 { get; } = new("--hub-sha256") { Description = "Accept the hub's certificate if its SHA-256 fingerprint is this" };

    public Option<int> Timeout { get; } = new("--timeout") { Description = "Seconds to wait for a peer and for the connection", DefaultValueFactory = _ => 30 };

    public Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Log protocol details" };

    public Option<string[]> IceServer { get; } = new("--ice-server")
    {
        Description = "A STUN/TURN server URL (stun:host:port, turn:host:port?transport=udp|tcp, turns:host:port); repeatable. Replaces the hub's servers",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> IceUsername { get; } = new("--ice-username") { Description = "Username for the turn:/turns: URLs of --ice-server" };

    public Option<string?> IceCredential { get; } = new("--ice-credential") { Description = "Password for the turn:/turns: URLs of --ice-server" };

    public Option<bool> NoHubIceServers { get; } = new("--no-hub-ice-servers") { Description = "Do not use the STUN/TURN servers the hub hands out" };

    public Option<bool> Relay { get; } = new("--relay") { Description = "Use TURN relays only (iceTransportPolicy \"relay\")" };

    public void AddTo(Command command)
    {
        command.Options.Add(Hub);
        command.Options.Add(Room);
        command.Options.Add(Insecure);
        command.Options.Add(CertificateSha256);
        command.Options.Add(Timeout);
        command.Options.Add(Verbose);
        command.Options.Add(IceServer);
        command.Options.Add(IceUsername);
        command.Options.Add(IceCredential);
        command.Options.Add(NoHubIceServers);
        command.Options.Add(Relay);
    }

    /// <summary>
    /// The peers' configuration: --ice-server URLs (stun: alone, turn:/turns: with --ice-username and
    /// --ice-credential) and --relay. With no --ice-server the hub's servers are used (see <see cref="UseHubIceServers"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A URL is invalid, or a TURN URL has no credentials.</exception>
    public RtcConfiguration Configuration(ParseResult result)
    {
        var servers = IceServerArguments.Parse(result, IceServer, IceUsername, IceCredential);
        return new RtcConfiguration
        {
            IceServers = servers,
            IceTransportPolicy = result.GetValue(Relay) ? PeerNet.Ice.IceTransportPolicy.Relay : PeerNet.Ice.IceTransportPolicy.All,
        };
    }

    /// <summary>Whether peers take the hub's STUN/TURN entries when no --ice-server is given.</summary>
    public bool UseHubIceServers(ParseResult result) => !result.GetValue(NoHubIceServers);

    public SignalingClientOptions SignalingOptions(ParseResult result) => new()
    {
        Url = SignalingUrl(result.GetValue(Hub)!),
        AcceptAnyCertificate = result.GetValue(Insecure),
        CertificateSha256 = result.GetValue(CertificateSha256),
    };

    public ILoggerFactory CreateLoggerFactory(ParseResult result) => LoggerFactory.Create(logging => logging
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        })
        .SetMinimumLevel(result.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Warning));

    /// <summary>https://host:port → wss://host:port/signal; ws(s) URLs are taken as they are.</summary>
    public static Uri SignalingUrl(string hub)
    {
        if (!Uri.TryCreate(hub, UriKind.Absolute, out var uri))
            throw new ArgumentException($"'{hub}' is not a URL (expected e.g. https://localhost:8443)");
        return uri.Scheme switch
        {
            "ws" or "wss" => uri,
            "https" => new UriBuilder(uri) { Scheme = "wss", Path = "/signal" }.Uri,
            "http" => new UriBuilder(uri) { Scheme = "ws", Path = "/signal" }.Uri,
            _ => throw new ArgumentException($"'{hub}' is not an http(s) or ws(s) URL"),
        };
    }

    /// <summary>Reads "1048576", "64K", "10M", "1G" (binary multiples).</summary>
    public static long ParseSize(string text)
    {
        text = text.Trim();
        long multiplier = 1;
        var last = char.ToUpperInvariant(text[^1]);
        if (last is 'K' or 'M' or 'G')
        {
            multiplier = last switch { 'K' => 1L << 10, 'M' => 1L << 20, _ => 1L << 30 };
            text = text[..^1];
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new ArgumentException($"'{text}' is not a size (e.g. 1024, 64K, 10M)");
        return checked(value * multiplier);
    }
}
