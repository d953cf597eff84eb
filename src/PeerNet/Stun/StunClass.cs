namespace PeerNet.Stun;

/// <summary>The class of a STUN message, the two C bits of the message type (RFC 8489 §5).</summary>
public enum StunClass : byte
{
    /// <summary>C1C0 = 0b00.</summary>
    Request = 0,

    /// <summary>C1C0 = 0b01: no response is expected.</summary>
    Indication = 1,

    /// <summary>C1C0 = 0b10.</summary>
    SuccessResponse = 2,

    /// <summary>C1C0 = 0b11: carries an ERROR-CODE.</summary>
    ErrorResponse = 3,
}
