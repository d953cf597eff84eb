using PeerNet.Sharing.Wire;

namespace PeerNet.Sharing.Swarm;

/// <summary>Settings of a <see cref="SwarmScheduler"/> (docs/sharing.md §5 "Upload slots", §6).</summary>
public sealed class SwarmOptions
{
    /// <summary>Interested peers we unchoke at a time (§5, default 8), one of them the optimistic unchoke.</summary>
    public int UploadSlots { get; init; } = 8;

    /// <summary>How often the regular slots go again to the peers that upload most to us (ms).</summary>
    public long RechokeIntervalMs { get; init; } = 10_000;

    /// <summary>How often one more choked peer is unchoked at random (§5: 30 s).</summary>
    public long OptimisticUnchokeIntervalMs { get; init; } = 30_000;

    /// <summary>A request not completed in this long is cancelled and re-requested elsewhere (§6: 30 s).</summary>
    public long StallTimeoutMs { get; init; } = 30_000;

    /// <summary>… or in this many times the peer's usual request time (§6: 4×), whichever is shorter.</summary>
    public double StallFactor { get; init; } = 4;

    /// <summary>The 4×-usual rule never fires sooner than this (ms), so jitter on a fast link is not a stall.</summary>
    public long MinStallTimeoutMs { get; init; } = 2_000;

    /// <summary>
    /// A connection whose hello has not come in this long is dropped (§6 "Stalls"): the channel
    /// works but the session never started, and it would hold a connection slot for nothing.
    /// </summary>
    public long HelloTimeoutMs { get; init; } = 10_000;

    /// <summary>Stalled requests after which a peer is dropped (§6: 3).</summary>
    public int MaxStalls { get; init; } = 3;

    /// <summary>Requests per peer to start with (§6: 2).</summary>
    public int InitialPipelineDepth { get; init; } = 2;

    /// <summary>Most requests we keep outstanding at one peer (also capped by its maxRequests).</summary>
    public int MaxPipelineDepth { get; init; } = 128;

    /// <summary>Most copies of one piece in flight at once during endgame.</summary>
    public int MaxEndgameCopies { get; init; } = 3;

    /// <summary>Settings of every connection's <see cref="ShareWireSession"/>.</summary>
    public ShareWireSessionOptions Session { get; init; } = new();

    internal void Validate()
    {
        if (UploadSlots < 1 || RechokeIntervalMs < 1 || OptimisticUnchokeIntervalMs < 1 || StallTimeoutMs < 1 || HelloTimeoutMs < 1 || StallFactor <= 0 || MinStallTimeoutMs < 0
            || MaxStalls < 1 || InitialPipelineDepth < 1 || MaxPipelineDepth < InitialPipelineDepth || MaxEndgameCopies < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(SwarmOptions), "Swarm options out of range.");
        }

        Session.Validate();
    }
}
