namespace PeerNet.Sctp;

/// <summary>Chunk types this stack knows (RFC 9260 §3.2, RFC 3758 §3.2, RFC 6525 §3.1, RFC 8260 §2.1, §2.3.1).</summary>
public enum SctpChunkType : byte
{
    /// <summary>Payload data (RFC 9260 §3.3.1).</summary>
    Data = 0,

    /// <summary>Initiation (§3.3.2).</summary>
    Init = 1,

    /// <summary>Initiation acknowledgement (§3.3.3).</summary>
    InitAck = 2,

    /// <summary>Selective acknowledgement (§3.3.4).</summary>
    Sack = 3,

    /// <summary>Heartbeat request (§3.3.5).</summary>
    Heartbeat = 4,

    /// <summary>Heartbeat acknowledgement (§3.3.6).</summary>
    HeartbeatAck = 5,

    /// <summary>Abort (§3.3.7).</summary>
    Abort = 6,

    /// <summary>Shutdown (§3.3.8).</summary>
    Shutdown = 7,

    /// <summary>Shutdown acknowledgement (§3.3.9).</summary>
    ShutdownAck = 8,

    /// <summary>Operation error (§3.3.10).</summary>
    Error = 9,

    /// <summary>State cookie echo (§3.3.11).</summary>
    CookieEcho = 10,

    /// <summary>Cookie acknowledgement (§3.3.12).</summary>
    CookieAck = 11,

    /// <summary>Shutdown complete (§3.3.13).</summary>
    ShutdownComplete = 14,

    /// <summary>Payload data with a message identifier and fragment number (RFC 8260 §2.1), for user message interleaving.</summary>
    IData = 64,

    /// <summary>Stream re-configuration (RFC 6525 §3.1).</summary>
    ReConfig = 130,

    /// <summary>Forward cumulative TSN (RFC 3758 §3.2).</summary>
    ForwardTsn = 192,

    /// <summary>Forward cumulative TSN for I-DATA (RFC 8260 §2.3.1).</summary>
    IForwardTsn = 194,
}
