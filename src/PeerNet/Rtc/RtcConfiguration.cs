using PeerNet.Dtls;

namespace PeerNet.Rtc;

/// <summary>W3C <c>RTCConfiguration</c>, plus the few knobs a native program needs.</summary>
public sealed record RtcConfiguration
{
    /// <summary>STUN/TURN servers: <c>stun:</c> URLs give server-reflexive candidates, <c>turn:</c>/<c>turns:</c>
    /// URLs (with username and credential) relayed ones. Invalid URLs throw <see cref="FormatException"/>.</summary>
    public IReadOnlyList<RtcIceServer> IceServers { get; init; } = [];

    /// <summary>W3C <c>iceTransportPolicy</c>: <see cref="PeerNet.Ice.IceTransportPolicy.Relay"/> uses only TURN relays.</summary>
    public PeerNet.Ice.IceTransportPolicy IceTransportPolicy { get; init; } = PeerNet.Ice.IceTransportPolicy.All;

    /// <summary>Our DTLS identity; a fresh ECDSA P-256 certificate when empty.</summary>
    public IReadOnlyList<RtcCertificate> Certificates { get; init; } = [];

    /// <summary>Gather loopback host candidates too (off by default, like browsers; tests on a
    /// loopback-only network need it, and it is switched on by itself when nothing else exists).</summary>
    public bool IncludeLoopbackCandidates { get; init; }

    /// <summary>Restrict host candidates to these local addresses (empty: every usable interface).</summary>
    public IReadOnlyList<System.Net.IPAddress> AllowedLocalAddresses { get; init; } = [];

    /// <summary>The largest message we accept, advertised as a=max-message-size (RFC 8841 §6).</summary>
    public int MaxMessageSize { get; init; } = 256 * 1024;

    /// <summary>PeerNet extension (not W3C): host candidates on this shared UDP port, one port for many
    /// connections (see <see cref="PeerNet.Ice.IceUdpMux"/>); local-address options are then not used. The
    /// caller owns the mux and disposes it after the connections.</summary>
    public PeerNet.Ice.IceUdpMux? IceUdpMux { get; init; }

    /// <summary>PeerNet extension (not W3C): offer SCTP user message interleaving (I-DATA, RFC 8260), so a large
    /// message on one channel does not hold up small ones on another. Used only when the peer offers it too;
    /// off by default, as in Chromium (which enables it only behind a field trial).</summary>
    public bool SctpMessageInterleaving { get; init; }
}
