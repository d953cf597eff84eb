namespace PeerNet.Sctp;

/// <summary>Error cause codes carried in ERROR and ABORT chunks (RFC 9260 §3.3.10).</summary>
public enum SctpErrorCauseCode : ushort
{
    /// <summary>Invalid Stream Identifier.</summary>
    InvalidStreamIdentifier = 1,

    /// <summary>Missing Mandatory Parameter.</summary>
    MissingMandatoryParameter = 2,

    /// <summary>Stale Cookie Error; the value is the staleness in microseconds.</summary>
    StaleCookie = 3,

    /// <summary>Out of Resource.</summary>
    OutOfResource = 4,

    /// <summary>Unresolvable Address.</summary>
    UnresolvableAddress = 5,

    /// <summary>Unrecognized Chunk Type; the value is the chunk.</summary>
    UnrecognizedChunkType = 6,

    /// <summary>Invalid Mandatory Parameter.</summary>
    InvalidMandatoryParameter = 7,

    /// <summary>Unrecognized Parameters; the value is the parameters.</summary>
    UnrecognizedParameters = 8,

    /// <summary>No User Data; the value is the TSN.</summary>
    NoUserData = 9,

    /// <summary>Cookie Received While Shutting Down.</summary>
    CookieReceivedWhileShuttingDown = 10,

    /// <summary>Restart of an Association with New Addresses.</summary>
    RestartWithNewAddresses = 11,

    /// <summary>User-Initiated Abort; the value is the upper layer's reason.</summary>
    UserInitiatedAbort = 12,

    /// <summary>Protocol Violation; the value is a description.</summary>
    ProtocolViolation = 13,
}
