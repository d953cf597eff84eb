namespace PeerNet.Hub;

/// <summary>
/// The hub's built-in STUN/TURN server (configuration section <c>Turn</c>). On by default: the
/// hub hands browsers its own STUN and TURN entries, with time-limited credentials.
/// </summary>
public sealed class HubTurnOptions
{
    /// <summary>Run the STUN/TURN server (<c>--no-turn</c> switches it off).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// UDP and TCP port. Unset: 3478, or a free port when the hub's own port is 0 (tests,
    /// several hubs on one machine).
    /// </summary>
    public int? Port { get; set; }

    /// <summary>TURN over TLS port on the hub's certificate (0: off). Not used over plain HTTP.</summary>
    public int TlsPort { get; set; }

    /// <summary>The realm of the long-term credentials.</summary>
    public string Realm { get; set; } = "peernet";

    /// <summary>
    /// Shared secret of the time-limited ("TURN REST API") credentials. Unset: one is generated
    /// once and kept in the data directory, so credentials survive a restart.
    /// </summary>
    public string? AuthSecret { get; set; }

    /// <summary>Static users, <c>name:password</c>.</summary>
    public List<string> Users { get; set; } = [];

    /// <summary>Peer ranges (CIDR) allowed despite being loopback, private, link-local...</summary>
    public List<string> AllowPeers { get; set; } = [];

    /// <summary>How long the credentials handed to browsers stay valid.</summary>
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// Host name or address put in the <c>stun:</c>/<c>turn:</c> URLs. Unset: the host the client
    /// used to reach the hub (its HTTP Host header).
    /// </summary>
    public string? PublicHost { get; set; }

    /// <summary>Lowest relay port (with <see cref="RelayPortMax"/>; 0: ephemeral ports). Open this range in the firewall.</summary>
    public int RelayPortMin { get; set; }

    /// <summary>Highest relay port.</summary>
    public int RelayPortMax { get; set; }

    /// <summary>Allocations one user may hold at once.</summary>
    public int MaxAllocationsPerUser { get; set; } = 32;

    /// <summary>Bytes per second one allocation may relay (0: unlimited); the excess is dropped.</summary>
    public long MaxBandwidthPerAllocation { get; set; }

    /// <summary>Address the relay sockets bind to and advertise (XOR-RELAYED-ADDRESS). Unset: derived from the listening address.</summary>
    public string? RelayAddress { get; set; }

    /// <summary>
    /// A second local IP address for NAT behaviour discovery (RFC 5780: OTHER-ADDRESS, CHANGE-REQUEST,
    /// RESPONSE-ORIGIN), so clients such as <c>peernet doctor</c> or <c>turnutils_natdiscovery</c>
    /// can tell a NAT's mapping and filtering. Unset: off.
    /// </summary>
    public string? AlternateAddress { get; set; }
}
