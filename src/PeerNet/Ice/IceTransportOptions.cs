using PeerNet.Ice.Mdns;

namespace PeerNet.Ice;

/// <summary>Settings of an <see cref="IceTransport"/>.</summary>
public sealed class IceTransportOptions
{
    /// <summary>The agent: role, tie-breaker, credentials, timers.</summary>
    public IceAgentOptions Agent { get; set; } = new();

    /// <summary>Which addresses are gathered.</summary>
    public IceGatherOptions Gathering { get; set; } = new();

    /// <summary>Resolve remote ".local" candidates with multicast DNS (otherwise they are dropped).</summary>
    public bool ResolveMdnsCandidates { get; set; } = true;

    /// <summary>The mDNS resolver's settings; its interface list defaults to the gathered addresses.</summary>
    public MdnsResolverOptions Mdns { get; set; } = new();

    /// <summary>STUN and TURN servers (browser-style URLs parsed with <see cref="IceServer.Parse"/>): server-reflexive and relayed candidates.</summary>
    public IList<IceServer> IceServers { get; set; } = [];

    /// <summary>All candidates, or only relayed ones (W3C <c>iceTransportPolicy</c>).</summary>
    public IceTransportPolicy TransportPolicy { get; set; } = IceTransportPolicy.All;

    /// <summary>How long a STUN server may take to answer a Binding (retransmitting per RFC 8489 §6.2.1) before gathering moves on.</summary>
    public TimeSpan StunServerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a TURN server may take to allocate before gathering moves on without it.</summary>
    public TimeSpan TurnServerTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Validates a turns: server's certificate; null: the platform's validation against the URL's host name
    /// (set it to trust a private CA or a self-signed test certificate).
    /// </summary>
    public System.Net.Security.RemoteCertificateValidationCallback? TurnServerCertificateValidation { get; set; }

    /// <summary>
    /// Host candidates on this shared UDP port instead of sockets of our own (<see cref="Gathering"/> is then
    /// not used): the transport registers its ufrag on the mux and announces the mux's addresses. STUN
    /// servers still give server-reflexive candidates through it; TURN relays keep sockets of their own.
    /// The mux is not disposed with the transport.
    /// </summary>
    public IceUdpMux? UdpMux { get; set; }
}
