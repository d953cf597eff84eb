namespace PeerNet.Ice;

/// <summary>Why an <see cref="IceUdpMux"/> dropped a datagram instead of handing it to a connection.</summary>
public enum IceUdpMuxDropReason
{
    /// <summary>Empty, from an address family other than IPv4/IPv6, or a STUN Binding request that does not parse (RFC 8489 §6.3).</summary>
    Malformed,

    /// <summary>A Binding request without USERNAME: nothing to route it by (RFC 8445 §7.2.2 requires one).</summary>
    NoUsername,

    /// <summary>A USERNAME without the ':' that separates the two ufrags (RFC 8445 §7.2.2).</summary>
    UsernameWithoutColon,

    /// <summary>A local ufrag that cannot be one: empty, longer than 256 or not ice-chars (RFC 8839 §5.4).</summary>
    InvalidUfrag,

    /// <summary>A Binding request for a ufrag no connection has registered.</summary>
    UnknownUfrag,

    /// <summary>A response, indication, DTLS or other datagram from an address no connection has learned.</summary>
    UnknownAddress,

    /// <summary>Routed to a connection that was not started yet or is being disposed.</summary>
    ConnectionClosed,

    /// <summary>The connection's receive handler threw.</summary>
    HandlerFailed,
}
