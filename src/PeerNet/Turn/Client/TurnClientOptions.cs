using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>Settings of a <see cref="TurnClient"/>: one allocation on one server over one transport.</summary>
public sealed class TurnClientOptions
{
    /// <summary>The server's transport address (where requests go; responses must come from it).</summary>
    public StunAddress Server { get; set; }

    /// <summary>How the server is reached: UDP datagrams, or TCP/TLS with stream framing (RFC 8656 §12.5).</summary>
    public TurnTransport Transport { get; set; } = TurnTransport.Udp;

    /// <summary>The long-term username (or "expiry:user" for REST credentials).</summary>
    public string Username { get; set; } = "";

    /// <summary>The long-term password (or the REST credential).</summary>
    public string Password { get; set; } = "";

    /// <summary>The family of the relayed address (REQUESTED-ADDRESS-FAMILY, RFC 8656 §7.1); None: the server's default (IPv4).</summary>
    public StunAddressFamily RequestedAddressFamily { get; set; }

    /// <summary>The allocation lifetime asked for (LIFETIME; the server may shorten it).</summary>
    public TimeSpan RequestedLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Permissions last 300 s (RFC 8656 §9); they are renewed this often.</summary>
    public TimeSpan PermissionRefreshInterval { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>Channel bindings last 10 minutes (RFC 8656 §12); they are renewed this often.</summary>
    public TimeSpan ChannelRefreshInterval { get; set; } = TimeSpan.FromMinutes(9);

    /// <summary>The allocation is refreshed this long before it expires.</summary>
    public TimeSpan RefreshMargin { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The initial retransmission timeout over UDP (RFC 8489 §6.2.1).</summary>
    public TimeSpan InitialRto { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Transmissions of a request over UDP before it fails (Rc, RFC 8489 §6.2.1).</summary>
    public int MaxTransmissions { get; set; } = 7;

    /// <summary>How long a request may take in all (over TCP: Ti = 39.5 s, RFC 8489 §6.2.2); also caps UDP.</summary>
    public TimeSpan TransactionTimeout { get; set; } = TimeSpan.FromMilliseconds(39_500);

    /// <summary>The SOFTWARE attribute sent with requests, or null.</summary>
    public string? Software { get; set; } = "PeerNet";
}
