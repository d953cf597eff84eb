namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>How a NAT reuses an external address and port for one internal endpoint (RFC 4787 §4.1).</summary>
internal enum NatMapping
{
    /// <summary>One mapping for every destination ("cone").</summary>
    EndpointIndependent,

    /// <summary>A mapping per destination IP address.</summary>
    AddressDependent,

    /// <summary>A mapping per destination IP address and port ("symmetric").</summary>
    AddressAndPortDependent,
}

/// <summary>Which inbound packets a NAT lets through a mapping (RFC 4787 §5).</summary>
internal enum NatFiltering
{
    /// <summary>Anything sent to the mapping ("full cone").</summary>
    EndpointIndependent,

    /// <summary>Only from IP addresses the mapping has sent to ("restricted cone").</summary>
    AddressDependent,

    /// <summary>Only from IP addresses and ports the mapping has sent to ("port-restricted cone").</summary>
    AddressAndPortDependent,
}

/// <summary>The usual names for combinations of <see cref="NatMapping"/> and <see cref="NatFiltering"/>.</summary>
public enum NatKind
{
    /// <summary>Endpoint-independent mapping and filtering.</summary>
    FullCone,

    /// <summary>Endpoint-independent mapping, address-dependent filtering.</summary>
    RestrictedCone,

    /// <summary>Endpoint-independent mapping, address-and-port-dependent filtering (Linux masquerade, the NAT lab's "cone").</summary>
    PortRestrictedCone,

    /// <summary>Address-dependent mapping and filtering.</summary>
    AddressDependent,

    /// <summary>Address-and-port-dependent mapping and filtering (the NAT lab's "symmetric": masquerade fully-random).</summary>
    Symmetric,
}

/// <summary>A NAT's behaviour: mapping, filtering, and how long an idle mapping lives.</summary>
/// <param name="Mapping">RFC 4787 §4.1.</param>
/// <param name="Filtering">RFC 4787 §5.</param>
/// <param name="MappingTimeout">An idle mapping is forgotten after this many ms (RFC 4787 REQ-5 asks for at least 2 minutes; real NATs are often shorter).</param>
/// <param name="InboundRefreshesMapping">Whether inbound packets keep a mapping alive too (RFC 4787 §4.3 makes only outbound refresh a requirement).</param>
internal sealed record NatBehavior(NatMapping Mapping, NatFiltering Filtering, long MappingTimeout = 120_000, bool InboundRefreshesMapping = true)
{
    public static NatBehavior Of(NatKind kind) => kind switch
    {
        NatKind.FullCone => new(NatMapping.EndpointIndependent, NatFiltering.EndpointIndependent),
        NatKind.RestrictedCone => new(NatMapping.EndpointIndependent, NatFiltering.AddressDependent),
        NatKind.PortRestrictedCone => new(NatMapping.EndpointIndependent, NatFiltering.AddressAndPortDependent),
        NatKind.AddressDependent => new(NatMapping.AddressDependent, NatFiltering.AddressDependent),
        NatKind.Symmetric => new(NatMapping.AddressAndPortDependent, NatFiltering.AddressAndPortDependent),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>"Cone" in the NAT lab's sense: the address a STUN server sees is the one every peer sees.</summary>
    public static bool IsCone(NatKind kind) => Of(kind).Mapping == NatMapping.EndpointIndependent;
}
