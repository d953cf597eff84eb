using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace PeerNet.Sharing;

/// <summary>
/// A sharer's pieces: each request reads the piece's plaintext from the original files and seals it
/// again (the derived nonce makes the same bytes), checking the result against the leaf hash kept
/// from sealing, so a file edited since it was shared is reported (<see cref="SharingErrorCode.SourceChanged"/>)
/// instead of served as a corrupt piece. Thread-safe.
/// </summary>
public sealed class PlainPieceSource : ISealedPieceSource, IDisposable
{
    private readonly SealedItem _item;
    private readonly MerkleTree _tree;
    private readonly ConcurrentBag<Worker> _workers = [];
    private bool _disposed;

    /// <summary>Serves <paramref name="item"/> from its files.</summary>
    public PlainPieceSource(SealedItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        _item = item;
        _tree = MerkleTree.FromLeafHashes(item.LeafHashes.Span);
    }

    /// <inheritdoc/>
    public ContentInfo Info => _item.Info;

    /// <inheritdoc/>
    public bool IsComplete => true;

    /// <inheritdoc/>
    public bool HasPiece(int index) => (uint)index < (uint)Info.PieceCount;

    /// <inheritdoc/>
    public void CopyBitfield(Span<byte> destination)
    {
        var bits = new PieceBitfield(Info.PieceCount);
        bits.SetAll();
        bits.CopyTo(destination);
    }

    /// <inheritdoc/>
    public bool TryGetProof(int index, Span<byte> destination, out int bytesWritten) =>
        _tree.TryGetProof(index, destination, out bytesWritten); // a complete tree is only read: thread-safe

    /// <summary>Reads piece <paramref name="index"/>'s plaintext from the files; returns its length.</summary>
    public async ValueTask<int> ReadPlainPieceAsync(int index, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        CheckIndex(index);
        var worker = Rent();
        try
        {
            return await worker.Reader.ReadPieceAsync(index, destination, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Return(worker);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<int> ReadSealedPieceAsync(int index, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        CheckIndex(index);
        var layout = Info.Layout;
        var sealedLength = layout.SealedPieceLength(index);
        if (destination.Length < sealedLength)
        {
            throw new ArgumentException($"Piece {index} needs {sealedLength} bytes.", nameof(destination));
        }

        var worker = Rent();
        var plain = ArrayPool<byte>.Shared.Rent(layout.PieceSize);
        try
        {
            var length = await worker.Reader.ReadPieceAsync(index, plain, cancellationToken).ConfigureAwait(false);
            return SealAndCheck(worker.Sealer, index, plain.AsSpan(0, length), destination.Span);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain.AsSpan(0, layout.PieceSize));
            ArrayPool<byte>.Shared.Return(plain);
            Return(worker);
        }
    }

    private int SealAndCheck(PieceSealer sealer, int index, ReadOnlySpan<byte> plain, Span<byte> destination)
    {
        var written = sealer.SealPiece(index, plain, destination);
        Span<byte> leaf = stackalloc byte[MerkleTree.HashLength];
        MerkleTree.LeafHash(destination[..written], leaf);
        if (!leaf.SequenceEqual(_item.LeafHashes.Span.Slice(index * MerkleTree.HashLength, MerkleTree.HashLength)))
        {
            destination[..written].Clear();
            throw new SharingException(SharingErrorCode.SourceChanged,
                $"Piece {index} no longer matches the content id: a shared file changed after it was shared.");
        }

        return written;
    }

    private void CheckIndex(int index)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!HasPiece(index))
        {
            throw new SharingException(SharingErrorCode.PieceNotAvailable, $"There is no piece {index}.");
        }
    }

    private Worker Rent() => _workers.TryTake(out var worker)
        ? worker
        : new Worker(new PieceSealer(_item.Key), new PayloadReader(_item.Manifest, Info.Layout, i => _item.Source.Files[i].FullPath));

    private void Return(Worker worker)
    {
        if (_disposed || _workers.Count >= Environment.ProcessorCount * 2)
        {
            worker.Dispose();
        }
        else
        {
            _workers.Add(worker);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _disposed = true;
        while (_workers.TryTake(out var worker))
        {
            worker.Dispose();
        }
    }

    private sealed record Worker(PieceSealer Sealer, PayloadReader Reader) : IDisposable
    {
        public void Dispose()
        {
            Sealer.Dispose();
            Reader.Dispose();
        }
    }
}
