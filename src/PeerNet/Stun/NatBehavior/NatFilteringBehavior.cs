namespace PeerNet.Stun.NatBehavior;

/// <summary>
/// Which inbound packets a NAT (or firewall) lets through to a mapping (RFC 4787 §5), as RFC 5780
/// §4.4 discovers it.
/// </summary>
public enum NatFilteringBehavior : byte
{
    /// <summary>Not determined: the tests did not finish, or the server did not honour CHANGE-REQUEST.</summary>
    Unknown,

    /// <summary>The server does not offer RFC 5780 behaviour discovery (no valid OTHER-ADDRESS, or CHANGE-REQUEST refused).</summary>
    NotSupported,

    /// <summary>Packets from any address reach the mapping ("full cone").</summary>
    EndpointIndependent,

    /// <summary>Only packets from IP addresses the client has sent to ("restricted cone").</summary>
    AddressDependent,

    /// <summary>Only packets from the exact addresses and ports the client has sent to ("port-restricted").</summary>
    AddressAndPortDependent,
}
