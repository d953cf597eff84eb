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

    /// <summary>
    /// Largest SCTP packet we send (common header included): the DTLS payload. The default, 1191,
    /// keeps a full packet inside the IPv6 minimum MTU of 1280 after IPv6 (40) + UDP (8) + DTLS 1.2
    /// AES-GCM record overhead (13 + 8 + 16) and a TURN ChannelData header (4), as Chromium does.
    /// </summary>
    public int Mtu { get; set; } = 1191;

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

    /// <summary>RTO.Initial (RFC 9260 §16, RFC 6298 §2.1): 1 s, the RTO until the first RTT measurement.</summary>
    public int InitialRtoMs { get; set; } = 1000;

    /// <summary>
    /// RTO.Min. RFC 9260 §16 says 1 s; WebRTC stacks go lower (Chromium's dcsctp 400 ms with a
    /// 220 ms variance floor, usrsctp 1 s) because a data channel's loss recovery at the tail of a
    /// burst waits for T3. 200 ms here: with <see cref="MinRtoVarianceMs"/> the RTO is still at
    /// least SRTT + 220 ms, so a peer's delayed SACK (200 ms) never fires T3 spuriously.
    /// </summary>
    public int MinRtoMs { get; set; } = 200;

    /// <summary>RTO.Max: 60 s, the cap of the exponential backoff (RFC 9260 §6.3.3 E2).</summary>
    public int MaxRtoMs { get; set; } = 60000;

    /// <summary>
    /// Floor of the variance term: RTO = SRTT + max(G, 4·RTTVAR) (RFC 6298 §2.3, where G is the clock
    /// granularity). 220 ms covers the peer's delayed SACK (200 ms in usrsctp, dcsctp and here)
    /// plus a margin: on a steady path RTTVAR decays towards 0 and RTO would otherwise approach
    /// SRTT, below the time a peer may legitimately take to acknowledge a lone packet.
    /// </summary>
    public int MinRtoVarianceMs { get; set; } = 220;

    /// <summary>
    /// Initial congestion window in MTUs (slow start's starting point). RFC 9260 §7.2.1 says
    /// min(4·MTU, max(2·MTU, 4380 bytes)), about 3.6 packets; 10, as RFC 6928 allows TCP and Chromium's
    /// dcsctp uses, saves two to three round trips at the start of every transfer. 0 selects the
    /// RFC 9260 formula.
    /// </summary>
    public int InitialCongestionWindowMtus { get; set; } = 10;

    /// <summary>
    /// Pace new DATA over the round trip instead of sending whatever the congestion window allows in
    /// one burst: at most (2 in slow start, 1.25 after) × cwnd ÷ the smallest RTT seen, with bursts of at most
    /// <see cref="PacingBurstMtus"/> packets or 2 ms of that rate. A window released in one burst
    /// overflows small receive buffers on the way or at the peer (Chromium's UDP socket holds
    /// about 30 packets), and each overflow halves the window. Paths with a round trip under
    /// <see cref="PacingMinRttMs"/> (loopback, LAN) are not paced. RFC 9260 §6.1's Max.Burst limits
    /// the same thing more bluntly.
    /// </summary>
    public bool Pacing { get; set; } = true;

    /// <summary>The largest burst pacing allows, in packets (MTUs), when 2 ms of the rate is less.</summary>
    public int PacingBurstMtus { get; set; } = 10;

    /// <summary>Paths whose smallest round-trip time is below this are not paced.</summary>
    public int PacingMinRttMs { get; set; } = 4;

    /// <summary>
    /// Offer user message interleaving (RFC 8260): list I-DATA and I-FORWARD-TSN in our Supported
    /// Extensions. When the peer lists I-DATA too, user messages travel in I-DATA chunks and the sender
    /// interleaves fragments of messages on different streams, so a large message on one channel does
    /// not hold back small ones on another. Off by default, as in Chromium: libwebrtc's
    /// DcSctpTransport enables dcsctp's enable_message_interleaving only under the
    /// "WebRTC-DataChannelMessageInterleaving" field trial, so browsers never offer it; when either
    /// side does not offer it, both use DATA.
    /// </summary>
    public bool EnableInterleaving { get; set; }

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
