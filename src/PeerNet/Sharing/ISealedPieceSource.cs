namespace PeerNet.Sharing;

/// <summary>
/// Something that serves an item's sealed pieces and their proofs to the swarm (docs/sharing.md §5,
/// <c>request</c> → <c>proof</c> + <c>piece</c>): a sharer's <see cref="PlainPieceSource"/>, a
/// downloader's <see cref="DownloadStore"/>, a replica's <see cref="SealedStore"/>. Safe to call
/// from several threads at once.
/// </summary>
public interface ISealedPieceSource
{
    /// <summary>The item's info block (and so its content id, layout and pieces root).</summary>
    ContentInfo Info { get; }

    /// <summary>True when piece <paramref name="index"/> can be served.</summary>
    bool HasPiece(int index);

    /// <summary>True when every piece can be served.</summary>
    bool IsComplete { get; }

    /// <summary>Writes the pieces it has as a wire bitfield (bit 7 of byte 0 is piece 0; spare bits 0).</summary>
    void CopyBitfield(Span<byte> destination);

    /// <summary>Writes the proof of piece <paramref name="index"/>; false when it does not have the piece.</summary>
    bool TryGetProof(int index, Span<byte> destination, out int bytesWritten);

    /// <summary>Reads sealed piece <paramref name="index"/> into <paramref name="destination"/>; returns its length.</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.PieceNotAvailable"/>, or <see cref="SharingErrorCode.SourceChanged"/> when what is on disk no longer matches.</exception>
    ValueTask<int> ReadSealedPieceAsync(int index, Memory<byte> destination, CancellationToken cancellationToken = default);
}
