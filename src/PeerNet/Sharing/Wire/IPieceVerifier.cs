namespace PeerNet.Sharing.Wire;

/// <summary>
/// What the wire needs to know about an item once its info block is known (docs/sharing.md §2,
/// §3): how many pieces, each sealed piece's exact length, and whether a sealed piece with its
/// proof hashes leads to piecesRoot. The content layer's types plug in through an adapter.
/// </summary>
public interface IPieceVerifier
{
    /// <summary>pieceCount (0 … 2^18).</summary>
    int PieceCount { get; }

    /// <summary>The sealed length of <paramref name="piece"/>: its plaintext length plus 16.</summary>
    int GetSealedPieceLength(int piece);

    /// <summary>
    /// Whether H(0x00 || sealedPiece) with <paramref name="proofHashes"/> (32 bytes each, leaf level
    /// first) recomputes piecesRoot at index <paramref name="piece"/> (§3, "Piece proofs").
    /// </summary>
    bool VerifyPiece(int piece, ReadOnlySpan<byte> sealedPiece, ReadOnlySpan<byte> proofHashes);
}
