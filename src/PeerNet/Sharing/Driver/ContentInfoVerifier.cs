using System.Diagnostics.CodeAnalysis;
using PeerNet.Sharing.Swarm;
using PeerNet.Sharing.Wire;

namespace PeerNet.Sharing.Driver;

/// <summary>
/// The swarm's <see cref="IContentInfoVerifier"/> over <see cref="ContentInfo"/> (docs/sharing.md §3):
/// an info block from a peer is accepted only when every field is in range and its recomputed CID is
/// the one asked for; the accepted block's verifier is a <see cref="ContentPieceVerifier"/>.
/// </summary>
public sealed class ContentInfoVerifier : IContentInfoVerifier
{
    /// <summary>The verifier of the last block accepted, or null.</summary>
    public ContentPieceVerifier? Accepted { get; private set; }

    /// <inheritdoc/>
    public bool TryAccept(ReadOnlySpan<byte> contentId, ReadOnlySpan<byte> infoBlock, [NotNullWhen(true)] out IPieceVerifier? verifier)
    {
        verifier = null;
        if (contentId.Length != ContentId.Length || !ContentInfo.TryParse(infoBlock, out var info, out _) || !info.Id.Matches(contentId))
        {
            return false;
        }

        Accepted = new ContentPieceVerifier(info);
        verifier = Accepted;
        return true;
    }
}
