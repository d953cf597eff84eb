namespace PeerNet.Stun;

/// <summary>
/// STUN methods (the 12-bit method of the message type, RFC 8489 §5 and §18.2; TURN methods from
/// RFC 8656 §17).
/// </summary>
public enum StunMethod : ushort
{
    /// <summary>Binding (RFC 8489): reflexive address discovery, ICE connectivity checks and keepalives.</summary>
    Binding = 0x001,

    /// <summary>Allocate (RFC 8656 §7): reserve a relayed transport address. Requests only.</summary>
    Allocate = 0x003,

    /// <summary>Refresh (RFC 8656 §8): extend or delete an allocation. Requests only.</summary>
    Refresh = 0x004,

    /// <summary>Send (RFC 8656 §11): client to server data for a peer. Indications only.</summary>
    Send = 0x006,

    /// <summary>Data (RFC 8656 §11): server to client data from a peer. Indications only.</summary>
    Data = 0x007,

    /// <summary>CreatePermission (RFC 8656 §9). Requests only.</summary>
    CreatePermission = 0x008,

    /// <summary>ChannelBind (RFC 8656 §12). Requests only.</summary>
    ChannelBind = 0x009,
}
