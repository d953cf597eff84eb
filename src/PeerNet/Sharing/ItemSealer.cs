using System.Buffers;

namespace PeerNet.Sharing;

/// <summary>
/// Seals an item from files on disk (docs/sharing.md §2–3) in one streaming pass: piece by piece it
/// reads the plaintext, seals it and keeps only its leaf hash, so memory stays at a few pieces
/// whatever the size (the next piece is read while the current one is sealed). The sealed pieces are
/// not kept: a seeder seals each again on demand with <see cref="PlainPieceSource"/>.
/// </summary>
public static class ItemSealer
{
    /// <summary>Seals <paramref name="source"/>.</summary>
    /// <param name="source">The files.</param>
    /// <param name="options">Key and piece size; defaults draw a fresh key and the default piece size.</param>
    /// <param name="progress">Payload bytes sealed so far, after each piece.</param>
    /// <param name="cancellationToken">Stops the pass.</param>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.SourceChanged"/>: a file changed size while being read; <see cref="SharingErrorCode.TooLarge"/>.</exception>
    public static async Task<SealedItem> SealAsync(ItemSource source, ItemSealerOptions? options = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var key = options?.Key ?? ContentKey.Generate();
        var manifest = source.Manifest;
        var layout = options?.PieceSizeLog2 is { } log2
            ? new PieceLayout(log2, manifest.PayloadLength)
            : PieceLayout.ForPayload(manifest.PayloadLength);
        var json = manifest.ToJson();
        var pieceCount = layout.PieceCount;
        var leafHashes = new byte[pieceCount * MerkleTree.HashLength];

        using var sealer = new PieceSealer(key);
        var sealedManifest = new byte[json.Length + PieceSealer.TagLength];
        sealer.SealManifest(json, sealedManifest);

        if (pieceCount > 0)
        {
            var pool = ArrayPool<byte>.Shared;
            var current = pool.Rent(layout.PieceSize);
            var next = pool.Rent(layout.PieceSize);
            var sealedPiece = pool.Rent(layout.SealedPieceStride);
            using var reader = new PayloadReader(manifest, layout, i => source.Files[i].FullPath);
            try
            {
                var read = reader.ReadPieceAsync(0, current, cancellationToken);
                long done = 0;
                for (var i = 0; i < pieceCount; i++)
                {
                    var length = await read.ConfigureAwait(false);
                    if (i + 1 < pieceCount)
                    {
                        read = reader.ReadPieceAsync(i + 1, next, cancellationToken);
                    }

                    var sealedLength = sealer.SealPiece(i, current.AsSpan(0, length), sealedPiece);
                    MerkleTree.LeafHash(sealedPiece.AsSpan(0, sealedLength), leafHashes.AsSpan(i * MerkleTree.HashLength, MerkleTree.HashLength));
                    done += length;
                    progress?.Report(done);
                    (current, next) = (next, current);
                }
            }
            finally
            {
                pool.Return(current, clearArray: true);
                pool.Return(next, clearArray: true);
                pool.Return(sealedPiece);
            }
        }

        Span<byte> root = stackalloc byte[MerkleTree.HashLength];
        MerkleTree.ComputeRoot(leafHashes, root);
        var info = ContentInfo.Create(layout, root, sealedManifest);
        return new SealedItem(source, key, json, info, leafHashes);
    }
}
