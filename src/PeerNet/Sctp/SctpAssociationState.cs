namespace PeerNet.Sctp;

/// <summary>Association states (RFC 9260 §4).</summary>
public enum SctpAssociationState
{
    /// <summary>No association: not started yet (answers INIT), or ended (see <see cref="SctpAssociation.IsTerminated"/>).</summary>
    Closed,

    /// <summary>INIT sent, waiting for INIT ACK.</summary>
    CookieWait,

    /// <summary>COOKIE ECHO sent, waiting for COOKIE ACK.</summary>
    CookieEchoed,

    /// <summary>Data flows.</summary>
    Established,

    /// <summary>Shutdown asked; sending what is queued before SHUTDOWN.</summary>
    ShutdownPending,

    /// <summary>SHUTDOWN sent.</summary>
    ShutdownSent,

    /// <summary>SHUTDOWN received; sending what is outstanding before SHUTDOWN ACK.</summary>
    ShutdownReceived,

    /// <summary>SHUTDOWN ACK sent.</summary>
    ShutdownAckSent,
}
