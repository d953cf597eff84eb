namespace PeerNet.Sharing.Swarm;

/// <summary>What a <see cref="SwarmScheduler"/> did, for logs and tests.</summary>
public sealed class SwarmStatistics
{
    /// <summary>Pieces verified (first copies).</summary>
    public long PiecesVerified { get; internal set; }

    /// <summary>Verified copies that arrived after the first (endgame).</summary>
    public long DuplicatePieces { get; internal set; }

    /// <summary>Requests for pieces already in flight elsewhere (endgame).</summary>
    public long EndgameRequests { get; internal set; }

    /// <summary>Cancels sent because another copy verified first.</summary>
    public long EndgameCancels { get; internal set; }

    /// <summary>Every cancel sent (endgame and stalls).</summary>
    public long CancelsSent { get; internal set; }

    /// <summary>Requests that stalled.</summary>
    public long Stalls { get; internal set; }

    /// <summary>Pieces that failed verification.</summary>
    public long CorruptPieces { get; internal set; }

    /// <summary>PeerReported events.</summary>
    public long PeersReported { get; internal set; }
}
