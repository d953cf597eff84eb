using Microsoft.Extensions.Logging;

namespace PeerNet.Sctp;

/// <summary>
/// Settings of an <see cref="SctpAssociation"/>. Defaults follow WebRTC (RFC 8831/8841: port 5000,
/// ~1200-byte packets, 256 KiB messages) and RFC 9260 §16 for the protocol parameters.
/// </summary>
public sealed class SctpAssociationOptions
{
    /// <summary>Our SCTP port (a=sctp-port of our description).</summary>
    public ushort LocalPort { get; set; } = 5000;

    /// <summary>The peer's SCTP port (a=sctp-port of its description).</summary>
    public ushort RemotePort { get; set; } = 5000;

    /// <summary>Largest SCTP packet we send (common header included); DTLS adds its own overhead.</summary>
    public int Mtu { get; set; } = 1200;

    /// <summary>
    /// Largest user message we send or accept (our a=max-message-size). <c>Send</c> of a bigger one
    /// throws; a peer that sends a bigger one is aborted (Protocol Violation).
    /// </summary>
    public int MaxMessageSize { get; set; } = 262144;

    /// <summary>Receive buffer we advertise (a_rwnd) and hold at most: reassembly plus undelivered messages.</summary>
    public int ReceiveWindow { get; set; } = 1024 * 1024;

    /// <summary>Most bytes <c>Send</c> accepts that are not yet sent, over all streams (then it throws).</summary>
    public long MaxSendBufferSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>Number of outbound streams we ask for (OS).</summary>
    public ushort OutboundStreams { get; set; } = 65535;

    /// <summary>Number of inbound streams we allow (MIS).</summary>
    public ushort InboundStreams { get; set; } = 65535;

    /// <summary>RTO.Initial (RFC 9260 §16): 1 s.</summary>
    public int InitialRtoMs { get; set; } = 1000;

    /// <summary>RTO.Min: 1 s.</summary>
    public int MinRtoMs { get; set; } = 1000;

    /// <summary>RTO.Max: 60 s.</summary>
    public int MaxRtoMs { get; set; } = 60000;

    /// <summary>Association.Max.Retrans: consecutive timeouts before the peer is declared gone.</summary>
    public int MaxRetransmissions { get; set; } = 10;

    /// <summary>Max.Init.Retransmits: INIT / COOKIE ECHO retransmissions before giving up.</summary>
    public int MaxInitRetransmissions { get; set; } = 8;

    /// <summary>HB.interval (30 s); null turns heartbeats off.</summary>
    public int? HeartbeatIntervalMs { get; set; } = 30000;

    /// <summary>Delayed SACK timeout (RFC 9260 §6.2: at most 500 ms; 200 ms is customary).</summary>
    public int DelayedAckMs { get; set; } = 200;

    /// <summary>Valid.Cookie.Life: 60 s.</summary>
    public int CookieLifetimeMs { get; set; } = 60000;

    /// <summary>
    /// Source of verification tags, initial TSNs and the cookie secret. Null (the default) uses the
    /// cryptographic generator; tests pass a seeded <see cref="System.Random"/> for reproducibility.
    /// </summary>
    public Random? Random { get; set; }

    /// <summary>Optional log (state changes, drops at Debug).</summary>
    public ILogger? Logger { get; set; }
}
