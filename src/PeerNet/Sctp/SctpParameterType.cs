namespace PeerNet.Sctp;

/// <summary>
/// Parameter types (RFC 9260 §3.3.2.1, RFC 5061 §4.2.7, RFC 3758 §3.1, RFC 6525 §4). The two high
/// bits say what a receiver that does not know the type must do (RFC 9260 §3.2.1).
/// </summary>
public enum SctpParameterType : ushort
{
    /// <summary>Heartbeat Info, inside HEARTBEAT and HEARTBEAT ACK (RFC 9260 §3.3.5).</summary>
    HeartbeatInfo = 1,

    /// <summary>IPv4 address (ignored: addresses mean nothing over DTLS, RFC 8261 §4).</summary>
    Ipv4Address = 5,

    /// <summary>IPv6 address (ignored, as IPv4).</summary>
    Ipv6Address = 6,

    /// <summary>State Cookie, in INIT ACK (RFC 9260 §3.3.3.1).</summary>
    StateCookie = 7,

    /// <summary>Unrecognized Parameter, in INIT ACK (RFC 9260 §3.3.3.1).</summary>
    UnrecognizedParameter = 8,

    /// <summary>Cookie Preservative (RFC 9260 §3.3.2.1).</summary>
    CookiePreservative = 9,

    /// <summary>Host Name Address (deprecated, ignored).</summary>
    HostNameAddress = 11,

    /// <summary>Supported Address Types (ignored).</summary>
    SupportedAddressTypes = 12,

    /// <summary>Outgoing SSN Reset Request (RFC 6525 §4.1).</summary>
    OutgoingSsnResetRequest = 13,

    /// <summary>Incoming SSN Reset Request (RFC 6525 §4.2).</summary>
    IncomingSsnResetRequest = 14,

    /// <summary>SSN/TSN Reset Request (RFC 6525 §4.3).</summary>
    SsnTsnResetRequest = 15,

    /// <summary>Re-configuration Response (RFC 6525 §4.4).</summary>
    ReconfigurationResponse = 16,

    /// <summary>Add Outgoing Streams Request (RFC 6525 §4.5).</summary>
    AddOutgoingStreamsRequest = 17,

    /// <summary>Add Incoming Streams Request (RFC 6525 §4.6).</summary>
    AddIncomingStreamsRequest = 18,

    /// <summary>Zero Checksum Acceptable (RFC 9653). Never sent: we do not negotiate it.</summary>
    ZeroChecksumAcceptable = 0x8001,

    /// <summary>Supported Extensions, a list of chunk types (RFC 5061 §4.2.7).</summary>
    SupportedExtensions = 0x8008,

    /// <summary>Forward-TSN-Supported (RFC 3758 §3.1).</summary>
    ForwardTsnSupported = 0xC000,
}
