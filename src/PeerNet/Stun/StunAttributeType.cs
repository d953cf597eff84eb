namespace PeerNet.Stun;

/// <summary>
/// STUN attribute types (IANA "STUN Attributes" registry) used by STUN (RFC 8489 §18.3), TURN
/// (RFC 8656 §18), ICE (RFC 8445 §16.1) and NAT behaviour discovery (RFC 5780 §7). Types below 0x8000
/// are comprehension-required (RFC 8489 §14): an agent that does not understand one must reject the
/// message with 420 Unknown Attribute.
/// </summary>
public enum StunAttributeType : ushort
{
    /// <summary>0x0001 (RFC 8489 §14.1): plain reflexive address, for RFC 3489 clients. Read-compatible only.</summary>
    MappedAddress = 0x0001,

    /// <summary>0x0003 (RFC 5780 §7.2): "change IP" / "change port" flags.</summary>
    ChangeRequest = 0x0003,

    /// <summary>0x0006 (RFC 8489 §14.3).</summary>
    Username = 0x0006,

    /// <summary>0x0008 (RFC 8489 §14.5): HMAC-SHA1, 20 bytes.</summary>
    MessageIntegrity = 0x0008,

    /// <summary>0x0009 (RFC 8489 §14.8).</summary>
    ErrorCode = 0x0009,

    /// <summary>0x000A (RFC 8489 §14.13).</summary>
    UnknownAttributes = 0x000A,

    /// <summary>0x000C (RFC 8656 §18.1).</summary>
    ChannelNumber = 0x000C,

    /// <summary>0x000D (RFC 8656 §18.2): seconds.</summary>
    Lifetime = 0x000D,

    /// <summary>0x0012 (RFC 8656 §18.3).</summary>
    XorPeerAddress = 0x0012,

    /// <summary>0x0013 (RFC 8656 §18.4).</summary>
    Data = 0x0013,

    /// <summary>0x0014 (RFC 8489 §14.9).</summary>
    Realm = 0x0014,

    /// <summary>0x0015 (RFC 8489 §14.10).</summary>
    Nonce = 0x0015,

    /// <summary>0x0016 (RFC 8656 §18.5).</summary>
    XorRelayedAddress = 0x0016,

    /// <summary>0x0017 (RFC 8656 §18.6).</summary>
    RequestedAddressFamily = 0x0017,

    /// <summary>0x0018 (RFC 8656 §18.7).</summary>
    EvenPort = 0x0018,

    /// <summary>0x0019 (RFC 8656 §18.8).</summary>
    RequestedTransport = 0x0019,

    /// <summary>0x001A (RFC 8656 §18.9).</summary>
    DontFragment = 0x001A,

    /// <summary>0x001C (RFC 8489 §14.6): HMAC-SHA256, 16 to 32 bytes.</summary>
    MessageIntegritySha256 = 0x001C,

    /// <summary>0x001D (RFC 8489 §14.12).</summary>
    PasswordAlgorithm = 0x001D,

    /// <summary>0x001E (RFC 8489 §14.4).</summary>
    UserHash = 0x001E,

    /// <summary>0x0020 (RFC 8489 §14.2).</summary>
    XorMappedAddress = 0x0020,

    /// <summary>0x0022 (RFC 8656 §18.10).</summary>
    ReservationToken = 0x0022,

    /// <summary>0x0024 (RFC 8445 §16.1).</summary>
    Priority = 0x0024,

    /// <summary>0x0025 (RFC 8445 §16.1).</summary>
    UseCandidate = 0x0025,

    /// <summary>0x0026 (RFC 5780 §7.6).</summary>
    Padding = 0x0026,

    /// <summary>0x0027 (RFC 5780 §7.5).</summary>
    ResponsePort = 0x0027,

    /// <summary>0x8000 (RFC 8656 §18.11).</summary>
    AdditionalAddressFamily = 0x8000,

    /// <summary>0x8001 (RFC 8656 §18.12).</summary>
    AddressErrorCode = 0x8001,

    /// <summary>0x8002 (RFC 8489 §14.11).</summary>
    PasswordAlgorithms = 0x8002,

    /// <summary>0x8003 (RFC 8489 §14.16).</summary>
    AlternateDomain = 0x8003,

    /// <summary>0x8004 (RFC 8656 §18.13).</summary>
    Icmp = 0x8004,

    /// <summary>0x8022 (RFC 8489 §14.14).</summary>
    Software = 0x8022,

    /// <summary>0x8023 (RFC 8489 §14.15).</summary>
    AlternateServer = 0x8023,

    /// <summary>0x8028 (RFC 8489 §14.7): CRC-32 XOR 0x5354554E, always last.</summary>
    Fingerprint = 0x8028,

    /// <summary>0x8029 (RFC 8445 §16.1).</summary>
    IceControlled = 0x8029,

    /// <summary>0x802A (RFC 8445 §16.1).</summary>
    IceControlling = 0x802A,

    /// <summary>0x802B (RFC 5780 §7.3).</summary>
    ResponseOrigin = 0x802B,

    /// <summary>0x802C (RFC 5780 §7.4).</summary>
    OtherAddress = 0x802C,
}

/// <summary>Classification of attribute types.</summary>
public static class StunAttributeTypeExtensions
{
    /// <summary>Types 0x0000–0x7FFF must be understood to process the message (RFC 8489 §14).</summary>
    public static bool IsComprehensionRequired(this StunAttributeType type) => (ushort)type < 0x8000;

    /// <summary>Whether this codec knows the type (every member of <see cref="StunAttributeType"/>).</summary>
    public static bool IsKnown(this StunAttributeType type) => type switch
    {
        StunAttributeType.MappedAddress or StunAttributeType.ChangeRequest or StunAttributeType.Username
            or StunAttributeType.MessageIntegrity or StunAttributeType.ErrorCode or StunAttributeType.UnknownAttributes
            or StunAttributeType.ChannelNumber or StunAttributeType.Lifetime or StunAttributeType.XorPeerAddress
            or StunAttributeType.Data or StunAttributeType.Realm or StunAttributeType.Nonce
            or StunAttributeType.XorRelayedAddress or StunAttributeType.RequestedAddressFamily
            or StunAttributeType.EvenPort or StunAttributeType.RequestedTransport or StunAttributeType.DontFragment
            or StunAttributeType.MessageIntegritySha256 or StunAttributeType.PasswordAlgorithm
            or StunAttributeType.UserHash or StunAttributeType.XorMappedAddress or StunAttributeType.ReservationToken
            or StunAttributeType.Priority or StunAttributeType.UseCandidate or StunAttributeType.Padding
            or StunAttributeType.ResponsePort or StunAttributeType.AdditionalAddressFamily
            or StunAttributeType.AddressErrorCode or StunAttributeType.PasswordAlgorithms
            or StunAttributeType.AlternateDomain or StunAttributeType.Icmp or StunAttributeType.Software
            or StunAttributeType.AlternateServer or StunAttributeType.Fingerprint or StunAttributeType.IceControlled
            or StunAttributeType.IceControlling or StunAttributeType.ResponseOrigin or StunAttributeType.OtherAddress => true,
        _ => false,
    };
}
