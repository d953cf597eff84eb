namespace PeerNet.Stun;

/// <summary>
/// Address family codes of MAPPED-ADDRESS and friends (RFC 8489 §14.1), also used by
/// REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY and ADDRESS-ERROR-CODE (RFC 8656 §18.8, §18.11, §18.12).
/// </summary>
public enum StunAddressFamily : byte
{
    /// <summary>Not set (a default <see cref="StunAddress"/>).</summary>
    None = 0,

    /// <summary>0x01: a 32-bit IPv4 address.</summary>
    IPv4 = 0x01,

    /// <summary>0x02: a 128-bit IPv6 address.</summary>
    IPv6 = 0x02,
}
