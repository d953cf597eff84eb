using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace PeerNet.Sharing;

/// <summary>
/// A download on disk, docs/sharing.md §7. Each verified piece is opened and written into the
/// <c>NAME.peernet-part</c> files it spans, flushed, and only then recorded in
/// <c>.peernet/CID.state</c> (content id and bitfield, replaced atomically) beside a
/// <c>.peernet/CID.proofs</c> file of proofs (so the download serves what it has, also after a
/// restart). A file is renamed to its final name once all its pieces are recorded, so a crash never
/// leaves a corrupt file that looks complete; after one, the store resumes from the state file and
/// fetches again whatever it had not recorded. A state file that is not a valid state of this
/// content is not trusted: the download starts over.
/// <para>
/// Paths are checked before any file is created: nothing is written outside the target directory,
/// through a symbolic link, or onto <c>.peernet</c> or a <c>.peernet-part</c> name. A file that
/// already exists under the final name of a file not yet complete is an error
/// (<see cref="SharingErrorCode.FileExists"/>): the store never overwrites or renames around a
/// user's file. Files completed by an earlier run of the same download are recognised and kept.
/// State files stay after completion, so reopening a finished download makes a complete seeder;
/// delete <c>.peernet</c> to forget it.
/// </para>
/// Any number of concurrent writers of different pieces and readers.
/// </summary>
public sealed class DownloadStore : IPieceStore
{
    /// <summary>Suffix of a file still being downloaded.</summary>
    public const string PartSuffix = ".peernet-part";

    /// <summary>The folder, in the target directory, of state and proof files.</summary>
    public const string StateFolder = ".peernet";

    private readonly PieceRecord _record;
    private readonly ContentKey _key;
    private readonly string[] _finalPaths;
    private readonly string[] _partPaths;
    private readonly bool[] _final;      // under _record.Lock
    private readonly int[] _missing;     // pieces of each file not recorded, under _record.Lock
    private readonly ConcurrentBag<PieceSealer> _sealers = [];
    private readonly ConcurrentBag<PayloadReader> _readers = [];
    private bool _disposed;

    private DownloadStore(string target, ContentKey key, Manifest manifest, PieceRecord record, string[] finalPaths, string[] partPaths)
    {
        TargetDirectory = target;
        _key = key;
        Manifest = manifest;
        _record = record;
        _finalPaths = finalPaths;
        _partPaths = partPaths;
        _final = new bool[finalPaths.Length];
        _missing = new int[finalPaths.Length];
    }

    /// <summary>The directory the item is written into.</summary>
    public string TargetDirectory { get; }

    /// <summary>The item's manifest.</summary>
    public Manifest Manifest { get; }

    /// <inheritdoc/>
    public ContentInfo Info => _record.Info;

    /// <summary>True when no trusted state was found and the download started from nothing.</summary>
    public bool StartedOver => _record.StartedOver;

    /// <inheritdoc/>
    public bool IsComplete
    {
        get
        {
            lock (_record.Lock)
            {
                return _record.Bits.IsComplete && Array.TrueForAll(_final, f => f);
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

    /// <summary>Where file <paramref name="index"/> (manifest order) ends up.</summary>
    public string GetFinalPath(int index) => _finalPaths[index];

    /// <summary>True when file <paramref name="index"/> is complete under its final name.</summary>
    public bool IsFileComplete(int index)
    {
        lock (_record.Lock)
        {
            return _final[index];
        }
    }

    /// <summary>
    /// Opens the download of <paramref name="info"/> into <paramref name="targetDirectory"/>: opens
    /// and validates the manifest (nothing is created when the key or the manifest is bad), checks
    /// every path, resumes from a valid state file, and creates the part files.
    /// </summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.WrongKey"/>, <see cref="SharingErrorCode.BadManifest"/>,
    /// <see cref="SharingErrorCode.UnsafePath"/>, <see cref="SharingErrorCode.FileExists"/>.</exception>
    public static async Task<DownloadStore> OpenAsync(string targetDirectory, ContentInfo info, ContentKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(key);
        var manifest = info.OpenManifest(key);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDirectory));
        var finalPaths = new string[manifest.Files.Count];
        var partPaths = new string[manifest.Files.Count];
        for (var f = 0; f < finalPaths.Length; f++)
        {
            finalPaths[f] = SafePath(root, manifest.Files[f].Path);
            partPaths[f] = finalPaths[f] + PartSuffix;
        }

        var stateDir = Path.Combine(root, StateFolder);
        Directory.CreateDirectory(stateDir);
        var record = await PieceRecord.OpenAsync(Path.Combine(stateDir, info.Id + ".state"), Path.Combine(stateDir, info.Id + ".proofs"),
            StoreStateFile.DownloadKind, info, cancellationToken).ConfigureAwait(false);
        var store = new DownloadStore(root, key, manifest, record, finalPaths, partPaths);
        try
        {
            await store.PrepareFilesAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // The full path of a manifest path under root, refusing anything that could land elsewhere.
    private static string SafePath(string root, string manifestPath)
    {
        var segments = manifestPath.Split('/');
        if (manifestPath.EndsWith(PartSuffix, StringComparison.OrdinalIgnoreCase) || segments[0].Equals(StateFolder, StringComparison.OrdinalIgnoreCase))
        {
            throw new SharingException(SharingErrorCode.UnsafePath, $"{manifestPath} would overwrite PeerNet's own files.");
        }

        var invalid = Path.GetInvalidFileNameChars();
        foreach (var segment in segments)
        {
            if (segment.IndexOfAny(invalid) >= 0 || !ManifestPath.IsValid(segment))
            {
                throw new SharingException(SharingErrorCode.UnsafePath, $"{manifestPath} cannot be written on this file system.");
            }
        }

        var full = Path.GetFullPath(Path.Combine([root, .. segments]));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new SharingException(SharingErrorCode.UnsafePath, $"{manifestPath} is outside the target directory.");
        }

        // No existing folder on the way may be a link (it could lead out of the target) or a file.
        var folder = root;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            folder = Path.Combine(folder, segments[i]);
            var entry = new DirectoryInfo(folder);
            if (entry.Exists && (entry.Attributes & FileAttributes.ReparsePoint) != 0 || !entry.Exists && File.Exists(folder) ||
                entry.Exists && entry.LinkTarget is not null)
            {
                throw new SharingException(SharingErrorCode.UnsafePath, $"{folder} is a link or a file, not a folder.");
            }
        }

        if (new FileInfo(full) is { Exists: true } existing && (existing.Attributes & FileAttributes.ReparsePoint) != 0 ||
            Directory.Exists(full))
        {
            throw new SharingException(SharingErrorCode.UnsafePath, $"{full} is a link or a folder.");
        }

        return full;
    }

    private async Task PrepareFilesAsync(CancellationToken cancellationToken)
    {
        var files = Manifest.Files;
        var toClear = new List<int>();
        long clearedVersion = 0;
        lock (_record.Lock)
        {
            CountMissingLocked();
            for (var f = 0; f < files.Count; f++)
            {
                var size = files[f].Size;
                if (_missing[f] != 0)
                {
                    continue;
                }

                if (LengthOf(_finalPaths[f]) == size)
                {
                    _final[f] = true; // completed by an earlier run (or an empty file already there)
                }
                else if (size > 0 && LengthOf(_partPaths[f]) != size)
                {
                    // Recorded, but its data is gone: fetch its pieces again.
                    toClear.AddRange(PiecesOf(f));
                }
            }

            if (toClear.Count > 0)
            {
                clearedVersion = _record.ClearLocked(toClear);
                CountMissingLocked();
            }

            // Check everything before creating anything.
            for (var f = 0; f < files.Count; f++)
            {
                if (!_final[f] && (File.Exists(_finalPaths[f]) || Directory.Exists(_finalPaths[f])))
                {
                    throw new SharingException(SharingErrorCode.FileExists,
                        $"{_finalPaths[f]} already exists; move it away or download somewhere else.");
                }
            }
        }

        if (toClear.Count > 0)
        {
            await _record.PersistAsync(clearedVersion, cancellationToken).ConfigureAwait(false);
        }

        for (var f = 0; f < files.Count; f++)
        {
            if (_final[f])
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(_finalPaths[f])!);
            var size = files[f].Size;
            if (size == 0)
            {
                using (File.OpenHandle(_finalPaths[f], FileMode.CreateNew, FileAccess.Write))
                {
                }

                _final[f] = true;
            }
            else if (_missing[f] == 0)
            {
                // Every piece was recorded but the rename did not happen (a crash in between).
                File.Move(_partPaths[f], _finalPaths[f], overwrite: false);
                _final[f] = true;
            }
            else
            {
                using var part = File.OpenHandle(_partPaths[f], FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                if (RandomAccess.GetLength(part) != size)
                {
                    RandomAccess.SetLength(part, size);
                }
            }
        }
    }

    private static long LengthOf(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? info.Length : -1;
    }

    private void CountMissingLocked()
    {
        Array.Clear(_missing);
        var layout = Info.Layout;
        for (var i = 0; i < layout.PieceCount; i++)
        {
            if (!_record.Bits.Get(i))
            {
                foreach (var span in layout.GetFileSpans(i, Manifest.FileOffsets))
                {
                    _missing[span.FileIndex]++;
                }
            }
        }
    }

    private IEnumerable<int> PiecesOf(int file)
    {
        var offsets = Manifest.FileOffsets;
        var log2 = Info.Layout.PieceSizeLog2;
        var first = (int)(offsets[file] >> log2);
        var last = (int)((offsets[file + 1] - 1) >> log2);
        return Enumerable.Range(first, last - first + 1);
    }

    /// <inheritdoc/>
    public bool HasPiece(int index) => _record.HasPiece(index);

    /// <inheritdoc/>
    public void CopyBitfield(Span<byte> destination) => _record.CopyBitfield(destination);

    /// <inheritdoc/>
    public bool TryGetProof(int index, Span<byte> destination, out int bytesWritten) => _record.TryGetProof(index, destination, out bytesWritten);

    /// <summary>
    /// Verifies sealed piece <paramref name="index"/> with its proof, opens it, writes it into its
    /// files, flushes them, records it, and renames every file it completes.
    /// </summary>
    /// <inheritdoc/>
    public async ValueTask<bool> StorePieceAsync(int index, ReadOnlyMemory<byte> sealedPiece, ReadOnlyMemory<byte> proof, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var leaf = new byte[MerkleTree.HashLength];
        _record.Verify(index, sealedPiece.Span, proof.Span, leaf);
        if (!_record.TryBegin(index))
        {
            return false;
        }

        var layout = Info.Layout;
        var plain = ArrayPool<byte>.Shared.Rent(layout.PieceSize);
        var spans = ArrayPool<FileSpan>.Shared.Rent(Math.Min(Manifest.Files.Count, layout.PieceSize));
        List<int>? renames = null;
        long version;
        try
        {
            var sealer = RentSealer();
            int length;
            try
            {
                length = sealer.OpenPiece(index, sealedPiece.Span, plain);
            }
            finally
            {
                _sealers.Add(sealer);
            }

            var spanCount = CollectSpans(index, spans);
            for (var s = 0; s < spanCount; s++)
            {
                var span = spans[s];
                string path;
                lock (_record.Lock)
                {
                    path = _final[span.FileIndex] ? _finalPaths[span.FileIndex] : _partPaths[span.FileIndex];
                }

                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
                await RandomAccess.WriteAsync(handle, plain.AsMemory(span.PieceOffset, span.Length), span.FileOffset, cancellationToken).ConfigureAwait(false);
                RandomAccess.FlushToDisk(handle);
            }

            await _record.WriteProofAsync(index, leaf, proof, cancellationToken).ConfigureAwait(false);
            lock (_record.Lock)
            {
                version = _record.CommitLocked(index, leaf, proof.Span);
                for (var s = 0; s < spanCount; s++)
                {
                    var f = spans[s].FileIndex;
                    if (--_missing[f] == 0 && !_final[f])
                    {
                        (renames ??= []).Add(f);
                    }
                }
            }
        }
        catch
        {
            _record.Abort(index);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain.AsSpan(0, layout.PieceSize));
            ArrayPool<byte>.Shared.Return(plain);
            ArrayPool<FileSpan>.Shared.Return(spans);
        }

        // The state that records every piece of a file is on disk before the file gets its final name.
        await _record.PersistAsync(version, cancellationToken).ConfigureAwait(false);
        if (renames is not null)
        {
            foreach (var f in renames)
            {
                lock (_record.Lock)
                {
                    try
                    {
                        File.Move(_partPaths[f], _finalPaths[f], overwrite: false);
                    }
                    catch (IOException e) when (File.Exists(_finalPaths[f]))
                    {
                        throw new SharingException(SharingErrorCode.FileExists, $"{_finalPaths[f]} appeared while it was downloaded; the data stays in {_partPaths[f]}.", e);
                    }

                    _final[f] = true;
                }
            }
        }

        return true;
    }

    private int CollectSpans(int index, FileSpan[] destination)
    {
        var count = 0;
        foreach (var span in Info.Layout.GetFileSpans(index, Manifest.FileOffsets))
        {
            destination[count++] = span;
        }

        return count;
    }

    /// <summary>Reads piece <paramref name="index"/> back from the files and seals it again (checked against its leaf hash).</summary>
    /// <inheritdoc/>
    public async ValueTask<int> ReadSealedPieceAsync(int index, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var leaf = ArrayPool<byte>.Shared.Rent(MerkleTree.HashLength);
        var layout = Info.Layout;
        var plain = ArrayPool<byte>.Shared.Rent(layout.PieceSize);
        var reader = _readers.TryTake(out var r) ? r : new PayloadReader(Manifest, layout, PathOf);
        try
        {
            lock (_record.Lock)
            {
                if (!_record.Bits.Get(index))
                {
                    throw new SharingException(SharingErrorCode.PieceNotAvailable, $"Piece {index} is not downloaded yet.");
                }

                _record.Tree.CopyLeafHash(index, leaf);
            }

            var sealedLength = layout.SealedPieceLength(index);
            if (destination.Length < sealedLength)
            {
                throw new ArgumentException($"Piece {index} needs {sealedLength} bytes.", nameof(destination));
            }

            var length = await reader.ReadPieceAsync(index, plain, cancellationToken).ConfigureAwait(false);
            var sealer = RentSealer();
            try
            {
                sealer.SealPiece(index, plain.AsSpan(0, length), destination.Span);
            }
            finally
            {
                _sealers.Add(sealer);
            }

            Span<byte> actual = stackalloc byte[MerkleTree.HashLength];
            MerkleTree.LeafHash(destination.Span[..sealedLength], actual);
            if (!actual.SequenceEqual(leaf.AsSpan(0, MerkleTree.HashLength)))
            {
                destination.Span[..sealedLength].Clear();
                throw new SharingException(SharingErrorCode.SourceChanged, $"Piece {index} changed on disk since it was downloaded.");
            }

            return sealedLength;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain.AsSpan(0, layout.PieceSize));
            ArrayPool<byte>.Shared.Return(plain);
            ArrayPool<byte>.Shared.Return(leaf);
            if (_disposed)
            {
                reader.Dispose();
            }
            else
            {
                _readers.Add(reader);
            }
        }
    }

    private string PathOf(int file)
    {
        lock (_record.Lock)
        {
            return _final[file] ? _finalPaths[file] : _partPaths[file];
        }
    }

    private PieceSealer RentSealer() => _sealers.TryTake(out var sealer) ? sealer : new PieceSealer(_key);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_sealers.TryTake(out var sealer))
        {
            sealer.Dispose();
        }

        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
        }

        _record.Dispose();
        return ValueTask.CompletedTask;
    }
}
