namespace PeerNet.Stun.NatBehavior;

/// <summary>Why a <see cref="NatBehaviorDiscovery"/> ignored a datagram.</summary>
public enum NatBehaviorDropReason : byte
{
    /// <summary>Nothing was dropped.</summary>
    None,

    /// <summary>Not a valid STUN message.</summary>
    Malformed,

    /// <summary>A valid STUN message but not a Binding success or error response.</summary>
    NotABindingResponse,

    /// <summary>No request of ours has this transaction id (a stranger's, or an answer to a test already finished).</summary>
    UnknownTransaction,

    /// <summary>
    /// The response came from an address other than the one it must come from: the request's
    /// destination, or for CHANGE-REQUEST the changed address (a server that ignores CHANGE-REQUEST
    /// answers from the primary address).
    /// </summary>
    WrongSource,

    /// <summary>A success response without XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS).</summary>
    NoMappedAddress,
}
