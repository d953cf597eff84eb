namespace PeerNet.Stun;

/// <summary>
/// Protocol numbers carried by REQUESTED-TRANSPORT (RFC 8656 §18.7), taken from the IPv4 Protocol /
/// IPv6 Next Header registry.
/// </summary>
public static class StunTransportProtocol
{
    /// <summary>UDP (17), the only value RFC 8656 allows.</summary>
    public const byte Udp = 17;

    /// <summary>TCP (6), used by TCP allocations (RFC 6062).</summary>
    public const byte Tcp = 6;
}
