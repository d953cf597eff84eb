namespace PeerNet.Ice;

/// <summary>Why the agent ignored a STUN packet (counted in <see cref="IceAgentStatistics"/>).</summary>
public enum IceDropReason : byte
{
    /// <summary>Not a valid STUN message (bad header, attributes, or FINGERPRINT).</summary>
    Malformed,

    /// <summary>From a socket id no local candidate uses.</summary>
    UnknownSocket,

    /// <summary>A response to no outstanding transaction.</summary>
    UnknownTransaction,

    /// <summary>A response without valid MESSAGE-INTEGRITY under the remote password.</summary>
    BadResponseIntegrity,

    /// <summary>Not a Binding request or response (indications are keepalives and are ignored silently).</summary>
    UnsupportedMessage,

    /// <summary>The agent is closed.</summary>
    Closed,

    /// <summary>The transmit queue was full.</summary>
    QueueFull,
}
