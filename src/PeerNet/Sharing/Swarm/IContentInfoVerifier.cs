using System.Diagnostics.CodeAnalysis;
using PeerNet.Sharing.Wire;

namespace PeerNet.Sharing.Swarm;

/// <summary>
/// Checks an info block received from a peer against the CID we asked for (docs/sharing.md §3:
/// field ranges, sealedManifestLength, the recomputed CID) and, when it matches, gives the piece
/// layout and proof checker for it. The content layer's types plug in through an adapter.
/// </summary>
public interface IContentInfoVerifier
{
    /// <summary>True, with the item's <paramref name="verifier"/>, when <paramref name="infoBlock"/> is the info block of <paramref name="contentId"/>.</summary>
    bool TryAccept(ReadOnlySpan<byte> contentId, ReadOnlySpan<byte> infoBlock, [NotNullWhen(true)] out IPieceVerifier? verifier);
}
