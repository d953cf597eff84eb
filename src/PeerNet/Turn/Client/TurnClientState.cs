namespace PeerNet.Turn;

/// <summary>The life of a <see cref="TurnClient"/> allocation.</summary>
public enum TurnClientState : byte
{
    /// <summary>Nothing sent yet.</summary>
    New,

    /// <summary>Allocate sent (perhaps answered with 401 and resent with credentials).</summary>
    Allocating,

    /// <summary>The relayed address is ours; refreshed before expiry.</summary>
    Allocated,

    /// <summary>Refresh with LIFETIME 0 sent (RFC 8656 §7.2).</summary>
    Closing,

    /// <summary>Deallocated (or the server gave up on it).</summary>
    Closed,

    /// <summary>The allocation could not be made or was lost; see <see cref="TurnClient.Failure"/>.</summary>
    Failed,
}
