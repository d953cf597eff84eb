namespace PeerNet.Stun;

/// <summary>
/// ERROR-CODE values (RFC 8489 §14.8, RFC 8656 §19, RFC 8445 §16.1). Any code from 300 to 699 can be
/// carried; these are the ones STUN, TURN and ICE define.
/// </summary>
public enum StunErrorCode : ushort
{
    /// <summary>300 Try Alternate (must be integrity-protected).</summary>
    TryAlternate = 300,

    /// <summary>400 Bad Request: malformed request.</summary>
    BadRequest = 400,

    /// <summary>401 Unauthenticated (named "Unauthorized" before RFC 8489).</summary>
    Unauthenticated = 401,

    /// <summary>403 Forbidden (RFC 8656).</summary>
    Forbidden = 403,

    /// <summary>420 Unknown Attribute: answered with UNKNOWN-ATTRIBUTES.</summary>
    UnknownAttribute = 420,

    /// <summary>437 Allocation Mismatch (RFC 8656).</summary>
    AllocationMismatch = 437,

    /// <summary>438 Stale Nonce.</summary>
    StaleNonce = 438,

    /// <summary>440 Address Family not Supported (RFC 8656).</summary>
    AddressFamilyNotSupported = 440,

    /// <summary>441 Wrong Credentials (RFC 8656).</summary>
    WrongCredentials = 441,

    /// <summary>442 Unsupported Transport Protocol (RFC 8656).</summary>
    UnsupportedTransportProtocol = 442,

    /// <summary>443 Peer Address Family Mismatch (RFC 8656).</summary>
    PeerAddressFamilyMismatch = 443,

    /// <summary>486 Allocation Quota Reached (RFC 8656).</summary>
    AllocationQuotaReached = 486,

    /// <summary>487 Role Conflict (RFC 8445).</summary>
    RoleConflict = 487,

    /// <summary>500 Server Error.</summary>
    ServerError = 500,

    /// <summary>508 Insufficient Capacity (RFC 8656).</summary>
    InsufficientCapacity = 508,
}

/// <summary>Reason phrases for <see cref="StunErrorCode"/>.</summary>
public static class StunErrorCodeExtensions
{
    /// <summary>The IANA-recommended reason phrase of a code, or "Error" for codes without one.</summary>
    public static string ReasonPhrase(this StunErrorCode code) => code switch
    {
        StunErrorCode.TryAlternate => "Try Alternate",
        StunErrorCode.BadRequest => "Bad Request",
        StunErrorCode.Unauthenticated => "Unauthenticated",
        StunErrorCode.Forbidden => "Forbidden",
        StunErrorCode.UnknownAttribute => "Unknown Attribute",
        StunErrorCode.AllocationMismatch => "Allocation Mismatch",
        StunErrorCode.StaleNonce => "Stale Nonce",
        StunErrorCode.AddressFamilyNotSupported => "Address Family not Supported",
        StunErrorCode.WrongCredentials => "Wrong Credentials",
        StunErrorCode.UnsupportedTransportProtocol => "Unsupported Transport Protocol",
        StunErrorCode.PeerAddressFamilyMismatch => "Peer Address Family Mismatch",
        StunErrorCode.AllocationQuotaReached => "Allocation Quota Reached",
        StunErrorCode.RoleConflict => "Role Conflict",
        StunErrorCode.ServerError => "Server Error",
        StunErrorCode.InsufficientCapacity => "Insufficient Capacity",
        _ => "Error",
    };
}
