using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace PeerNet.Sharing;

/// <summary>
/// A pin (a replica), docs/sharing.md §7: keeps an item's info block and its <em>sealed</em> pieces,
/// and serves them, never needing the key. In its directory: <c>info</c> (the info block),
/// <c>pieces</c> (piece i at offset i × (pieceSize + 16)), <c>state</c> (content id and bitfield,
/// replaced atomically) and <c>proofs</c> (each stored piece's leaf hash and proof, so proofs can be
/// given after a restart). Pieces are verified before they are stored and again when read back
/// (a piece that rotted on disk is reported, not served). One writer per piece, any number of
/// concurrent readers and writers of different pieces.
/// </summary>
public sealed class SealedStore : IPieceStore
{
    private readonly PieceRecord _record;
    private readonly SafeFileHandle _pieces;

    private SealedStore(string directory, PieceRecord record, SafeFileHandle pieces)
    {
        Directory = directory;
        _record = record;
        _pieces = pieces;
    }

    /// <summary>The store's directory.</summary>
    public string Directory { get; }

    /// <inheritdoc/>
    public ContentInfo Info => _record.Info;

    /// <summary>True when no trusted state was found and the store started empty.</summary>
    public bool StartedOver => _record.StartedOver;

    /// <inheritdoc/>
    public bool IsComplete
    {
        get
        {
            lock (_record.Lock)
            {
                return _record.Bits.IsComplete;
            }
        }
    }

    /// <inheritdoc/>
    public int StoredPieceCount
    {
        get
        {
            lock (_record.Lock)
            {
                return _record.Bits.Count;
            }
        }
    }

    /// <summary>
    /// Opens (or creates) the pin of <paramref name="info"/> in <paramref name="directory"/>, resuming
    /// from its state when that is a valid state of this content.
    /// </summary>
    public static async Task<SealedStore> OpenAsync(string directory, ContentInfo info, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(info);
        directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(directory);
        var infoPath = Path.Combine(directory, "info");
        var existing = await StoreStateFile.TryReadAsync(infoPath, ContentInfo.MaxLength, cancellationToken).ConfigureAwait(false);
        if (existing is null || !existing.AsSpan().SequenceEqual(info.Bytes))
        {
            await StoreStateFile.WriteAtomicAsync(infoPath, info.Bytes.ToArray(), cancellationToken).ConfigureAwait(false);
        }

        var record = await PieceRecord.OpenAsync(Path.Combine(directory, "state"), Path.Combine(directory, "proofs"),
            StoreStateFile.PinKind, info, cancellationToken).ConfigureAwait(false);
        try
        {
            var pieces = File.OpenHandle(Path.Combine(directory, "pieces"), FileMode.OpenOrCreate, FileAccess.ReadWrite,
                FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
            var layout = info.Layout;
            var length = layout.PieceCount == 0 ? 0 : (long)(layout.PieceCount - 1) * layout.SealedPieceStride + layout.SealedPieceLength(layout.PieceCount - 1);
            if (RandomAccess.GetLength(pieces) != length)
            {
                RandomAccess.SetLength(pieces, length);
            }

            return new SealedStore(directory, record, pieces);
        }
        catch
        {
            record.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the pin in <paramref name="directory"/> from the info block stored there, or returns null
    /// when there is none or it is not a valid block of <paramref name="id"/>.
    /// </summary>
    public static async Task<SealedStore?> TryOpenExistingAsync(string directory, ContentId id, CancellationToken cancellationToken = default)
    {
        var bytes = await StoreStateFile.TryReadAsync(Path.Combine(Path.GetFullPath(directory), "info"), ContentInfo.MaxLength, cancellationToken).ConfigureAwait(false);
        if (bytes is null || !ContentInfo.TryParse(bytes, out var info, out _) || info.Id != id)
        {
            return null;
        }

        return await OpenAsync(directory, info, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public bool HasPiece(int index) => _record.HasPiece(index);

    /// <inheritdoc/>
    public void CopyBitfield(Span<byte> destination) => _record.CopyBitfield(destination);

    /// <inheritdoc/>
    public bool TryGetProof(int index, Span<byte> destination, out int bytesWritten) => _record.TryGetProof(index, destination, out bytesWritten);

    /// <inheritdoc/>
    public async ValueTask<bool> StorePieceAsync(int index, ReadOnlyMemory<byte> sealedPiece, ReadOnlyMemory<byte> proof, CancellationToken cancellationToken = default)
    {
        var leaf = new byte[MerkleTree.HashLength];
        _record.Verify(index, sealedPiece.Span, proof.Span, leaf);
        if (!_record.TryBegin(index))
        {
            return false;
        }

        long version;
        try
        {
            await RandomAccess.WriteAsync(_pieces, sealedPiece, (long)index * Info.Layout.SealedPieceStride, cancellationToken).ConfigureAwait(false);
            RandomAccess.FlushToDisk(_pieces);
            await _record.WriteProofAsync(index, leaf, proof, cancellationToken).ConfigureAwait(false);
            lock (_record.Lock)
            {
                version = _record.CommitLocked(index, leaf, proof.Span);
            }
        }
        catch
        {
            _record.Abort(index);
            throw;
        }

        await _record.PersistAsync(version, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async ValueTask<int> ReadSealedPieceAsync(int index, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var leaf = ArrayPool<byte>.Shared.Rent(MerkleTree.HashLength);
        try
        {
            lock (_record.Lock)
            {
                if (!_record.Bits.Get(index))
                {
                    throw new SharingException(SharingErrorCode.PieceNotAvailable, $"Piece {index} is not stored.");
                }

                _record.Tree.CopyLeafHash(index, leaf);
            }

            var length = Info.Layout.SealedPieceLength(index);
            if (destination.Length < length)
            {
                throw new ArgumentException($"Piece {index} needs {length} bytes.", nameof(destination));
            }

            var done = 0;
            while (done < length)
            {
                var read = await RandomAccess.ReadAsync(_pieces, destination.Slice(done, length - done),
                    (long)index * Info.Layout.SealedPieceStride + done, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                done += read;
            }

            if (!LeafMatches(destination.Span[..done], leaf.AsSpan(0, MerkleTree.HashLength), done == length))
            {
                throw new SharingException(SharingErrorCode.CorruptPiece, $"Stored piece {index} no longer matches its hash (the disk changed it).");
            }

            return length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(leaf);
        }
    }

    private static bool LeafMatches(ReadOnlySpan<byte> sealedPiece, ReadOnlySpan<byte> leaf, bool whole)
    {
        if (!whole)
        {
            return false;
        }

        Span<byte> actual = stackalloc byte[MerkleTree.HashLength];
        MerkleTree.LeafHash(sealedPiece, actual);
        return actual.SequenceEqual(leaf);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _pieces.Dispose();
        _record.Dispose();
        return ValueTask.CompletedTask;
    }
}
