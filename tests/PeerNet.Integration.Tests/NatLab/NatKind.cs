namespace PeerNet.Integration.Tests.NatLab;

/// <summary>
/// How a lab router maps its LAN hosts' UDP flows to its WAN address (RFC 4787 §4.1). Both kinds
/// filter address-and-port dependently (RFC 4787 §5): an inbound packet passes only as the reply
/// of a flow the host opened, and unsolicited ones are dropped (<c>ct state new drop</c>).
/// </summary>
public enum NatKind
{
    /// <summary>
    /// Endpoint-independent mapping ("cone"): one host address:port keeps one mapped port for
    /// every destination (Linux masquerade preserves the source port when it can).
    /// </summary>
    EndpointIndependent,

    /// <summary>
    /// Address-and-port-dependent mapping ("symmetric"): a fresh random mapped port for every
    /// destination (nft <c>masquerade fully-random</c>, iptables <c>--random-fully</c>).
    /// </summary>
    Symmetric,
}
