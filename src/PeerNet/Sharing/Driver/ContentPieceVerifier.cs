using PeerNet.Sharing.Wire;

namespace PeerNet.Sharing.Driver;

/// <summary>
/// The wire's <see cref="IPieceVerifier"/> over an item's <see cref="ContentInfo"/> (docs/sharing.md
/// §3): sealed length = plaintext piece length + 16, and a piece checks when H(0x00 || piece) with its
/// proof leads to <c>piecesRoot</c>. The proof of each piece that checked is kept until the driver takes
/// it (<see cref="TryTakeProof"/>), because the stores record proofs beside the pieces (§7) while the
/// swarm's <c>PieceVerified</c> event carries only the bytes. Used from one thread (the swarm's loop).
/// </summary>
public sealed class ContentPieceVerifier : IPieceVerifier
{
    private readonly Dictionary<int, byte[]> _proofs = [];

    /// <summary>A verifier of <paramref name="info"/>'s pieces.</summary>
    public ContentPieceVerifier(ContentInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        Info = info;
    }

    /// <summary>The item's info block.</summary>
    public ContentInfo Info { get; }

    /// <summary>
    /// Whether a piece is already stored: its proof is then not kept (an endgame copy that verifies
    /// after the first was stored would otherwise stay kept forever).
    /// </summary>
    public Func<int, bool>? IsStored { get; set; }

    /// <summary>Proofs kept and not yet taken (pieces verified and not yet stored).</summary>
    public int KeptProofCount => _proofs.Count;

    /// <inheritdoc/>
    public int PieceCount => Info.PieceCount;

    /// <inheritdoc/>
    public int GetSealedPieceLength(int piece) => Info.Layout.SealedPieceLength(piece);

    /// <inheritdoc/>
    public bool VerifyPiece(int piece, ReadOnlySpan<byte> sealedPiece, ReadOnlySpan<byte> proofHashes)
    {
        if ((uint)piece >= (uint)PieceCount || sealedPiece.Length != GetSealedPieceLength(piece))
        {
            return false;
        }

        Span<byte> leaf = stackalloc byte[MerkleTree.HashLength];
        MerkleTree.LeafHash(sealedPiece, leaf);
        if (!MerkleTree.Verify(Info.PiecesRoot, PieceCount, piece, leaf, proofHashes))
        {
            return false;
        }

        // Every valid proof of a piece is the same bytes (the tree is fixed by the root), so a
        // second copy (endgame) may replace the first.
        if (IsStored?.Invoke(piece) == true)
        {
            return true;
        }

        if (!_proofs.TryGetValue(piece, out var kept) || !kept.AsSpan().SequenceEqual(proofHashes))
        {
            _proofs[piece] = proofHashes.ToArray();
        }

        return true;
    }

    /// <summary>The proof of <paramref name="piece"/> from its last successful verification, removed from the kept ones.</summary>
    public bool TryTakeProof(int piece, out byte[] proof) => _proofs.Remove(piece, out proof!);

    /// <summary>Forgets a kept proof (a duplicate copy that will not be stored).</summary>
    public void Forget(int piece) => _proofs.Remove(piece);
}
