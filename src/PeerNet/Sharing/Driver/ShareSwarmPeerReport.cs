using PeerNet.Sharing.Swarm;

namespace PeerNet.Sharing.Driver;

/// <summary>A peer the swarm reported (docs/sharing.md §5: a corrupt piece, a bad info block, a protocol error) and dropped.</summary>
/// <param name="RemoteId">The peer's hub id.</param>
/// <param name="Reason">What it did.</param>
/// <param name="Piece">The piece concerned, or -1.</param>
/// <param name="Text">Details.</param>
public sealed record ShareSwarmPeerReport(string RemoteId, SwarmPeerReason Reason, int Piece, string? Text)
{
    /// <summary>Whether the peer sent bytes that failed verification (it is never connected to again).</summary>
    public bool IsCorrupt => Reason is SwarmPeerReason.CorruptPiece or SwarmPeerReason.BadInfo;
}
