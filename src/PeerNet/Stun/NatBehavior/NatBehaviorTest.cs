namespace PeerNet.Stun.NatBehavior;

/// <summary>The Binding requests of RFC 5780 §4.3 and §4.4, in the order a <see cref="NatBehaviorDiscovery"/> runs them.</summary>
public enum NatBehaviorTest : byte
{
    /// <summary>Test I of both procedures: a plain Binding to the primary address (mapped address and OTHER-ADDRESS).</summary>
    Primary,

    /// <summary>Filtering test II: to the primary address with CHANGE-REQUEST "change IP and port".</summary>
    FilteringChangeAddressAndPort,

    /// <summary>Filtering test III: to the primary address with CHANGE-REQUEST "change port".</summary>
    FilteringChangePort,

    /// <summary>Mapping test II: to the alternate IP address and the primary port.</summary>
    MappingAlternateAddress,

    /// <summary>Mapping test III: to the alternate IP address and the alternate port (OTHER-ADDRESS).</summary>
    MappingAlternateAddressAndPort,
}
