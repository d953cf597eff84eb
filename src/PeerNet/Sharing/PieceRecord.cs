using Microsoft.Win32.SafeHandles;

namespace PeerNet.Sharing;

/// <summary>
/// The bookkeeping both stores share (§7): which pieces are recorded (the state file), the proof of
/// each (a side file of fixed 608-byte slots: the leaf hash then up to 18 proof hashes, so a store can
/// give proofs for what it has after a restart), the Merkle nodes learned from them, and the pieces
/// being written right now. A piece's data and its proof slot are flushed before the state that
/// records it is written; several pieces finishing together share one state write.
/// </summary>
internal sealed class PieceRecord : IDisposable
{
    public const int SlotLength = (1 + MerkleTree.MaxProofHashes) * MerkleTree.HashLength;

    private readonly string _statePath;
    private readonly byte _kind;
    private readonly SafeFileHandle _proofs;
    private readonly HashSet<int> _inFlight = [];
    private readonly SemaphoreSlim _stateGate = new(1, 1);
    private long _version;
    private long _persistedVersion;

    private PieceRecord(string statePath, byte kind, ContentInfo info, SafeFileHandle proofs)
    {
        _statePath = statePath;
        _kind = kind;
        Info = info;
        _proofs = proofs;
        Bits = new PieceBitfield(info.PieceCount);
        Tree = new MerkleTree(info.PieceCount, info.PiecesRoot);
    }

    public ContentInfo Info { get; }

    /// <summary>Guards <see cref="Bits"/>, <see cref="Tree"/> and the pieces in flight.</summary>
    public object Lock { get; } = new();

    public PieceBitfield Bits { get; }

    public MerkleTree Tree { get; }

    /// <summary>True when the state file was missing or not trusted and the record started empty.</summary>
    public bool StartedOver { get; private set; }

    public static async Task<PieceRecord> OpenAsync(string statePath, string proofsPath, byte kind, ContentInfo info, CancellationToken cancellationToken)
    {
        var proofs = File.OpenHandle(proofsPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
        var record = new PieceRecord(statePath, kind, info, proofs);
        try
        {
            var stateBytes = await StoreStateFile.TryReadAsync(statePath, 64 * 1024, cancellationToken).ConfigureAwait(false);
            var trusted = stateBytes is not null && StoreStateFile.TryDecode(stateBytes, kind, info, record.Bits);
            record.StartedOver = !trusted;
            if (trusted)
            {
                // Re-check every recorded piece's proof slot against the root; one that does not check is fetched again.
                var slot = new byte[SlotLength];
                var cleared = false;
                for (var i = 0; i < info.PieceCount; i++)
                {
                    if (!record.Bits.Get(i))
                    {
                        continue;
                    }

                    var proofLength = info.Layout.ProofLength(i);
                    var read = await RandomAccess.ReadAsync(proofs, slot.AsMemory(0, MerkleTree.HashLength + proofLength), (long)i * SlotLength, cancellationToken).ConfigureAwait(false);
                    if (read != MerkleTree.HashLength + proofLength ||
                        !record.Tree.TryAdd(i, slot.AsSpan(0, MerkleTree.HashLength), slot.AsSpan(MerkleTree.HashLength, proofLength)))
                    {
                        record.Bits.Clear(i);
                        cleared = true;
                    }
                }

                if (cleared)
                {
                    await record.PersistAsync(record.BumpVersion(), cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                // An empty item has nothing to fetch; its (empty) tree knows its zero root already.
                await record.PersistAsync(record.BumpVersion(), cancellationToken).ConfigureAwait(false);
            }

            return record;
        }
        catch
        {
            record.Dispose();
            throw;
        }
    }

    /// <summary>Checks the sealed piece's length, leaf and proof; writes the leaf hash. Thread-safe.</summary>
    /// <summary>True when piece <paramref name="index"/> is recorded.</summary>
    public bool HasPiece(int index)
    {
        lock (Lock)
        {
            return Bits.Get(index);
        }
    }

    /// <summary>Copies the recorded pieces as a wire bitfield.</summary>
    public void CopyBitfield(Span<byte> destination)
    {
        lock (Lock)
        {
            Bits.CopyTo(destination);
        }
    }

    /// <summary>The proof of a recorded piece; false for one not recorded.</summary>
    public bool TryGetProof(int index, Span<byte> destination, out int bytesWritten)
    {
        lock (Lock)
        {
            bytesWritten = 0;
            return Bits.Get(index) && Tree.TryGetProof(index, destination, out bytesWritten);
        }
    }

    public void Verify(int index, ReadOnlySpan<byte> sealedPiece, ReadOnlySpan<byte> proof, Span<byte> leaf)
    {
        if ((uint)index >= (uint)Info.PieceCount)
        {
            throw new SharingException(SharingErrorCode.CorruptPiece, $"There is no piece {index}.");
        }

        if (sealedPiece.Length != Info.Layout.SealedPieceLength(index))
        {
            throw new SharingException(SharingErrorCode.CorruptPiece, $"Piece {index} is {sealedPiece.Length} bytes, not {Info.Layout.SealedPieceLength(index)}.");
        }

        MerkleTree.LeafHash(sealedPiece, leaf);
        if (!MerkleTree.Verify(Info.PiecesRoot, Info.PieceCount, index, leaf, proof))
        {
            throw new SharingException(SharingErrorCode.CorruptPiece, $"Piece {index} does not match the content id (its proof does not check).");
        }
    }

    /// <summary>Marks <paramref name="index"/> in flight; false when it is recorded or already in flight.</summary>
    public bool TryBegin(int index)
    {
        lock (Lock)
        {
            return !Bits.Get(index) && _inFlight.Add(index);
        }
    }

    public void Abort(int index)
    {
        lock (Lock)
        {
            _inFlight.Remove(index);
        }
    }

    /// <summary>Writes and flushes the proof slot of a piece whose data is written.</summary>
    public async Task WriteProofAsync(int index, ReadOnlyMemory<byte> leaf, ReadOnlyMemory<byte> proof, CancellationToken cancellationToken)
    {
        var length = MerkleTree.HashLength + proof.Length;
        var slot = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            leaf.Span.CopyTo(slot);
            proof.Span.CopyTo(slot.AsSpan(MerkleTree.HashLength));
            await RandomAccess.WriteAsync(_proofs, slot.AsMemory(0, length), (long)index * SlotLength, cancellationToken).ConfigureAwait(false);
            RandomAccess.FlushToDisk(_proofs);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(slot);
        }
    }

    /// <summary>Records a piece whose data and proof are flushed (call under <see cref="Lock"/>); returns the state version to persist.</summary>
    public long CommitLocked(int index, ReadOnlySpan<byte> leaf, ReadOnlySpan<byte> proof)
    {
        _inFlight.Remove(index);
        Bits.Set(index);
        Tree.TryAdd(index, leaf, proof);
        return ++_version;
    }

    /// <summary>Clears recorded pieces (call under <see cref="Lock"/>); returns the state version to persist.</summary>
    public long ClearLocked(IEnumerable<int> pieces)
    {
        foreach (var i in pieces)
        {
            Bits.Clear(i);
        }

        return ++_version;
    }

    private long BumpVersion()
    {
        lock (Lock)
        {
            return ++_version;
        }
    }

    /// <summary>Makes the state file hold at least version <paramref name="version"/> of the bitfield.</summary>
    public async Task PersistAsync(long version, CancellationToken cancellationToken)
    {
        await _stateGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _persistedVersion) >= version)
            {
                return;
            }

            byte[] bytes;
            long snapshot;
            lock (Lock)
            {
                bytes = StoreStateFile.Encode(_kind, Info, Bits);
                snapshot = _version;
            }

            await StoreStateFile.WriteAtomicAsync(_statePath, bytes, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _persistedVersion, snapshot);
        }
        finally
        {
            _stateGate.Release();
        }
    }

    public void Dispose()
    {
        _proofs.Dispose();
        _stateGate.Dispose();
    }
}
