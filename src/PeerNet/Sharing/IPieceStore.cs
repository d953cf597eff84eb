namespace PeerNet.Sharing;

/// <summary>
/// A store that takes pieces from the swarm: it verifies each against the pieces root, keeps it
/// durably (§7), and then serves it like any <see cref="ISealedPieceSource"/>.
/// </summary>
public interface IPieceStore : ISealedPieceSource, IAsyncDisposable
{
    /// <summary>
    /// Verifies sealed piece <paramref name="index"/> with <paramref name="proof"/>, stores it, and
    /// records it; returns false when the piece was already stored (or is being stored right now).
    /// </summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.CorruptPiece"/>: the proof or leaf does not check, or it does not open.</exception>
    ValueTask<bool> StorePieceAsync(int index, ReadOnlyMemory<byte> sealedPiece, ReadOnlyMemory<byte> proof, CancellationToken cancellationToken = default);

    /// <summary>Pieces stored so far.</summary>
    int StoredPieceCount { get; }
}
