namespace PeerNet.Stun.NatBehavior;

/// <summary>
/// How a NAT maps an internal transport address to external ones (RFC 4787 §4.1), as RFC 5780 §4.3
/// discovers it.
/// </summary>
public enum NatMappingBehavior : byte
{
    /// <summary>Not determined: the tests did not finish (no answer in time, or an error answer).</summary>
    Unknown,

    /// <summary>The server does not offer RFC 5780 behaviour discovery (no valid OTHER-ADDRESS).</summary>
    NotSupported,

    /// <summary>One external address for every destination ("cone"); also what "no NAT" amounts to.</summary>
    EndpointIndependent,

    /// <summary>A new external address per destination IP address.</summary>
    AddressDependent,

    /// <summary>A new external address per destination IP address and port ("symmetric").</summary>
    AddressAndPortDependent,
}
