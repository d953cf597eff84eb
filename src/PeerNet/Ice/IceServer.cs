using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PeerNet.Ice;

/// <summary>
/// One STUN or TURN server URL with its credentials, as a browser's <c>RTCIceServer</c> lists them:
/// <c>stun:host[:port]</c>, <c>stuns:host[:port]</c> (RFC 7064), <c>turn:host[:port][?transport=udp|tcp]</c>,
/// <c>turns:host[:port][?transport=tcp]</c> (RFC 7065). Default ports 3478, and 5349 for the TLS schemes.
/// </summary>
public sealed record IceServer
{
    /// <summary>The default port of stun: and turn: (RFC 8489 §18.5).</summary>
    public const int DefaultPort = 3478;

    /// <summary>The default port of stuns: and turns:.</summary>
    public const int DefaultTlsPort = 5349;

    private const int MaxUrlLength = 2048;

    /// <summary>The scheme.</summary>
    public required IceServerScheme Scheme { get; init; }

    /// <summary>The host: a name, an IPv4 literal, or an IPv6 literal without brackets.</summary>
    public required string Host { get; init; }

    /// <summary>The port.</summary>
    public required int Port { get; init; }

    /// <summary>The transport to the server.</summary>
    public required IceServerTransport Transport { get; init; }

    /// <summary>The TURN username (long-term, or "expiry:user" for REST credentials).</summary>
    public string? Username { get; init; }

    /// <summary>The TURN password.</summary>
    public string? Credential { get; init; }

    /// <summary>A TURN server (turn: or turns:).</summary>
    public bool IsTurn => Scheme is IceServerScheme.Turn or IceServerScheme.Turns;

    /// <summary>
    /// Parses a URL. TURN URLs need <paramref name="username"/> and <paramref name="credential"/>
    /// (as W3C <c>setConfiguration</c> requires).
    /// </summary>
    /// <exception cref="FormatException">The URL is invalid; the message names the part.</exception>
    public static IceServer Parse(string url, string? username = null, string? credential = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Length == 0 || url.Length > MaxUrlLength)
        {
            throw new FormatException($"ICE server URL: length {url.Length} is not 1–{MaxUrlLength}.");
        }

        var colon = url.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new FormatException($"ICE server URL '{Show(url)}': scheme missing (stun:, stuns:, turn:, turns:).");
        }

        var scheme = url[..colon].ToLowerInvariant() switch
        {
            "stun" => IceServerScheme.Stun,
            "stuns" => IceServerScheme.Stuns,
            "turn" => IceServerScheme.Turn,
            "turns" => IceServerScheme.Turns,
            _ => throw new FormatException($"ICE server URL '{Show(url)}': scheme '{Show(url[..colon])}' is not stun, stuns, turn or turns."),
        };
        var tls = scheme is IceServerScheme.Stuns or IceServerScheme.Turns;
        var rest = url[(colon + 1)..];
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            throw new FormatException($"ICE server URL '{Show(url)}': host must follow the scheme directly (no \"//\", RFC 7064 §3.1).");
        }

        string? query = null;
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        if (question >= 0)
        {
            query = rest[(question + 1)..];
            rest = rest[..question];
        }

        var (host, port) = ParseHostPort(url, rest, tls ? DefaultTlsPort : DefaultPort);
        var transport = tls ? IceServerTransport.Tls : IceServerTransport.Udp;
        if (query is not null)
        {
            if (scheme is IceServerScheme.Stun or IceServerScheme.Stuns)
            {
                throw new FormatException($"ICE server URL '{Show(url)}': query: stun URLs take no query.");
            }

            if (!query.StartsWith("transport=", StringComparison.OrdinalIgnoreCase))
            {
                throw new FormatException($"ICE server URL '{Show(url)}': query '{Show(query)}' is not transport=udp|tcp.");
            }

            transport = query["transport=".Length..].ToLowerInvariant() switch
            {
                "udp" when !tls => IceServerTransport.Udp,
                "tcp" => tls ? IceServerTransport.Tls : IceServerTransport.Tcp,
                "udp" => throw new FormatException($"ICE server URL '{Show(url)}': transport: turns: over UDP (DTLS) is not supported."),
                var other => throw new FormatException($"ICE server URL '{Show(url)}': transport '{Show(other)}' is not udp or tcp."),
            };
        }

        if (scheme is IceServerScheme.Turn or IceServerScheme.Turns && (string.IsNullOrEmpty(username) || credential is null))
        {
            throw new FormatException($"ICE server URL '{Show(url)}': username and credential are required for TURN.");
        }

        return new IceServer
        {
            Scheme = scheme,
            Host = host,
            Port = port,
            Transport = transport,
            Username = username,
            Credential = credential,
        };
    }

    /// <summary>Parses every URL of one browser-style entry (urls, username, credential).</summary>
    /// <exception cref="FormatException">One URL is invalid.</exception>
    public static IReadOnlyList<IceServer> ParseAll(IEnumerable<string> urls, string? username = null, string? credential = null)
    {
        ArgumentNullException.ThrowIfNull(urls);
        return [.. urls.Select(u => Parse(u, username, credential))];
    }

    /// <summary>The host as an address when it is an IP literal.</summary>
    public bool TryGetIPAddress(out IPAddress address) => IPAddress.TryParse(Host, out address!) && Host.IndexOfAny(['%']) < 0;

    /// <summary>Resolves the host to addresses of <paramref name="family"/> (IP literals without DNS).</summary>
    public async Task<IPAddress[]> ResolveAsync(AddressFamily family, CancellationToken cancellationToken = default)
    {
        if (TryGetIPAddress(out var literal))
        {
            return literal.AddressFamily == family ? [literal] : [];
        }

        var addresses = await Dns.GetHostAddressesAsync(Host, family, cancellationToken).ConfigureAwait(false);
        return addresses;
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var scheme = Scheme switch
        {
            IceServerScheme.Stun => "stun",
            IceServerScheme.Stuns => "stuns",
            IceServerScheme.Turn => "turn",
            _ => "turns",
        };
        var host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        var query = Scheme == IceServerScheme.Turn ? (Transport == IceServerTransport.Tcp ? "?transport=tcp" : "?transport=udp") : "";
        return $"{scheme}:{host}:{Port.ToString(CultureInfo.InvariantCulture)}{query}";
    }

    private static (string Host, int Port) ParseHostPort(string url, string text, int defaultPort)
    {
        string host;
        string? portText = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"ICE server URL '{Show(url)}': host: '[' without ']'.");
            }

            host = text[1..close];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6 || host.Contains('%', StringComparison.Ordinal))
            {
                throw new FormatException($"ICE server URL '{Show(url)}': host '[{Show(host)}]' is not an IPv6 literal.");
            }

            var after = text[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    throw new FormatException($"ICE server URL '{Show(url)}': port: expected ':' after ']'.");
                }

                portText = after[1..];
            }
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                host = text[..colon];
                portText = text[(colon + 1)..];
                if (portText.Contains(':', StringComparison.Ordinal))
                {
                    throw new FormatException($"ICE server URL '{Show(url)}': host: IPv6 literals need brackets.");
                }
            }
            else
            {
                host = text;
            }

            if (host.Length == 0)
            {
                throw new FormatException($"ICE server URL '{Show(url)}': host is empty.");
            }

            if (host.Length > 253 || !IsRegName(host))
            {
                throw new FormatException($"ICE server URL '{Show(url)}': host '{Show(host)}' is not a host name or IPv4 literal.");
            }
        }

        var port = defaultPort;
        if (portText is not null)
        {
            if (portText.Length is 0 or > 5 || !portText.All(char.IsAsciiDigit)
                || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                throw new FormatException($"ICE server URL '{Show(url)}': port '{Show(portText)}' is not 1–65535.");
            }
        }

        return (host, port);
    }

    // RFC 3986 reg-name, limited to what DNS names use (letters, digits, '-', '.', '_').
    private static bool IsRegName(string host) => host.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');

    private static string Show(string text) => text.Length > 64 ? text[..64] + "…" : text;
}
