using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using PeerNet.Rtc;
using PeerNet.Turn;

namespace PeerNet.Hub;

/// <summary>
/// The hub's STUN/TURN server: started beside the web server, and the source of the ICE server
/// entries (with fresh time-limited credentials) that browsers get.
/// </summary>
internal sealed class HubTurn : IAsyncDisposable
{
    public const string SecretFileName = "turn-secret";
    private const int DefaultPort = 3478;

    private readonly HubTurnOptions _options;
    private readonly string _secret;

    private HubTurn(TurnServerHost host, HubTurnOptions options, string secret)
    {
        Host = host;
        _options = options;
        _secret = secret;
    }

    public TurnServerHost Host { get; }

    public int UdpPort => Host.UdpEndPoints[0].Port;
    public int TcpPort => Host.TcpEndPoints[0].Port;
    public int? TlsPort => Host.TlsEndPoints.Count > 0 ? Host.TlsEndPoints[0].Port : null;

    /// <summary>Builds the TURN server from the hub's options and starts it.</summary>
    public static async Task<HubTurn> StartAsync(HubOptions hub, IPAddress? bind, X509Certificate2? certificate, string dataDir, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var options = hub.Turn;
        var port = options.Port ?? (hub.Port == 0 ? 0 : DefaultPort);
        if (port is < 0 or > 65535) throw new HubConfigurationException($"TURN port {port} is not between 0 and 65535");
        var addresses = bind is null ? new[] { IPAddress.Any, IPAddress.IPv6Any } : [bind];
        var turn = new TurnServerOptions
        {
            UdpEndPoints = [.. addresses.Select(a => new IPEndPoint(a, port))],
            TcpEndPoints = [.. addresses.Select(a => new IPEndPoint(a, port))],
            Realm = options.Realm,
            AuthSecret = options.AuthSecret ?? LoadOrCreateSecret(dataDir),
            Logger = loggers.CreateLogger("PeerNet.Turn"),
            RelayPortMin = options.RelayPortMin,
            RelayPortMax = options.RelayPortMax,
            MaxAllocationsPerUser = options.MaxAllocationsPerUser,
            MaxBandwidthPerAllocation = options.MaxBandwidthPerAllocation,
        };
        if (options.TlsPort > 0)
        {
            if (certificate is null) throw new HubConfigurationException("TURN over TLS needs the hub's certificate: drop --http or the TURN TLS port");
            turn.TlsEndPoints = [.. addresses.Select(a => new IPEndPoint(a, options.TlsPort))];
            turn.TlsCertificate = certificate;
        }
        foreach (var user in options.Users)
        {
            var colon = user.IndexOf(':');
            if (colon <= 0 || colon == user.Length - 1) throw new HubConfigurationException($"a TURN user is 'name:password', not '{user}'");
            turn.Users[user[..colon]] = user[(colon + 1)..];
        }
        foreach (var range in options.AllowPeers)
        {
            if (!IPNetwork.TryParse(range, out var network)) throw new HubConfigurationException($"--allow-peer '{range}' is not a CIDR range like 10.0.0.0/8");
            turn.AllowedPeerRanges.Add(network);
        }
        if (options.RelayAddress is { } relay)
        {
            if (!IPAddress.TryParse(relay, out var relayAddress)) throw new HubConfigurationException($"the TURN relay address '{relay}' is not an IP address");
            turn.RelayAddresses.Add(relayAddress);
        }
        if (options.AlternateAddress is { } alternate)
        {
            if (!IPAddress.TryParse(alternate, out var alternateAddress)) throw new HubConfigurationException($"the alternate address '{alternate}' is not an IP address");
            turn.AlternateAddress = alternateAddress;
        }
        try
        {
            turn.Validate();
        }
        catch (ArgumentException e)
        {
            throw new HubConfigurationException($"invalid TURN configuration: {e.Message}", e);
        }
        var host = new TurnServerHost(turn);
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (bind is null && e.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.AddressNotAvailable)
        {
            // A machine without IPv6: serve IPv4 alone rather than not at all.
            await host.DisposeAsync().ConfigureAwait(false);
            turn.UdpEndPoints = [.. turn.UdpEndPoints.Where(e => e.AddressFamily == AddressFamily.InterNetwork)];
            turn.TcpEndPoints = [.. turn.TcpEndPoints.Where(e => e.AddressFamily == AddressFamily.InterNetwork)];
            turn.TlsEndPoints = [.. turn.TlsEndPoints.Where(e => e.AddressFamily == AddressFamily.InterNetwork)];
            host = new TurnServerHost(turn);
            await StartOrExplainAsync(host, port, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw CannotStart(port, e);
        }
        return new HubTurn(host, options, turn.AuthSecret);
    }

    private static async Task StartOrExplainAsync(TurnServerHost host, int port, CancellationToken cancellationToken)
    {
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw CannotStart(port, e);
        }
    }

    private static HubConfigurationException CannotStart(int port, SocketException e) =>
        new($"cannot start the STUN/TURN server on port {port}: {e.Message} (use --turn-port, or --no-turn)", e);

    /// <summary>The data directory's TURN secret, created (256 random bits, owner-only) on first use.</summary>
    private static string LoadOrCreateSecret(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, SecretFileName);
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length >= 16) return existing;
        }
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(path, secret);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return secret;
    }

    /// <summary>
    /// STUN and TURN entries for a client that reached the hub as <paramref name="requestHost"/>;
    /// the TURN credential is time-limited and names <paramref name="user"/> (its quota key).
    /// </summary>
    public IEnumerable<RtcIceServer> IceServersFor(string? requestHost, string user, DateTimeOffset now)
    {
        var host = _options.PublicHost ?? requestHost;
        if (string.IsNullOrEmpty(host)) yield break;
        if (IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6) host = $"[{ip}]";
        var credential = TurnRestCredentials.Create(_secret, user, _options.CredentialLifetime, now);
        yield return new RtcIceServer { Urls = [$"stun:{host}:{UdpPort}"] };
        var urls = new List<string> { $"turn:{host}:{UdpPort}?transport=udp", $"turn:{host}:{TcpPort}?transport=tcp" };
        if (TlsPort is { } tls) urls.Add($"turns:{host}:{tls}?transport=tcp");
        yield return new RtcIceServer { Urls = urls, Username = credential.Username, Credential = credential.Password };
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
