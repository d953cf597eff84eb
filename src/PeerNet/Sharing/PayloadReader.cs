using Microsoft.Win32.SafeHandles;

namespace PeerNet.Sharing;

/// <summary>
/// Reads pieces of plaintext payload from the files that hold it (a sharer's sources, a downloader's
/// part or final files), keeping the last file open so a sequential pass opens each file once. A
/// file whose length is not its manifest size gives <see cref="SharingErrorCode.SourceChanged"/>.
/// Not thread-safe: one per reader.
/// </summary>
internal sealed class PayloadReader : IDisposable
{
    private readonly Manifest _manifest;
    private readonly PieceLayout _layout;
    private readonly Func<int, string> _pathOf;
    private SafeFileHandle? _handle;
    private int _handleFile = -1;

    public PayloadReader(Manifest manifest, PieceLayout layout, Func<int, string> pathOf)
    {
        _manifest = manifest;
        _layout = layout;
        _pathOf = pathOf;
    }

    /// <summary>Reads piece <paramref name="index"/>'s plaintext into <paramref name="destination"/>; returns its length.</summary>
    public async ValueTask<int> ReadPieceAsync(int index, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var length = _layout.PieceLength(index);
        if (destination.Length < length)
        {
            throw new ArgumentException($"Piece {index} needs {length} bytes.", nameof(destination));
        }

        for (var pieceOffset = 0; pieceOffset < length;)
        {
            var span = SpanAt(index, pieceOffset);
            var handle = Open(span.FileIndex);
            var done = 0;
            while (done < span.Length)
            {
                var read = await RandomAccess.ReadAsync(handle, destination.Slice(span.PieceOffset + done, span.Length - done),
                    span.FileOffset + done, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw Changed(span.FileIndex);
                }

                done += read;
            }

            pieceOffset += span.Length;
        }

        return length;
    }

    // The file range that holds byte pieceOffset of the piece (no allocation, unlike collecting the
    // ref struct enumerator's spans, which cannot live across an await).
    private FileSpan SpanAt(int index, int pieceOffset)
    {
        var offsets = _manifest.FileOffsets;
        var pieceStart = _layout.PieceOffset(index);
        var pieceEnd = pieceStart + _layout.PieceLength(index);
        var position = pieceStart + pieceOffset;
        int lo = 0, hi = offsets.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (offsets[mid] > position)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        var file = lo - 1; // offsets[file] <= position < offsets[file + 1]: a non-empty file
        var end = Math.Min(offsets[file + 1], pieceEnd);
        return new FileSpan(file, position - offsets[file], pieceOffset, (int)(end - position));
    }

    private SafeFileHandle Open(int file)
    {
        if (_handleFile == file && _handle is not null)
        {
            return _handle;
        }

        _handle?.Dispose();
        _handle = null;
        _handleFile = -1;
        SafeFileHandle handle;
        for (var attempt = 0; ; attempt++)
        {
            // A downloader's file may be renamed from its part name to its final name between asking
            // for its path and opening it: ask again once.
            var path = _pathOf(file);
            try
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
                break;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                if (attempt > 0)
                {
                    throw new SharingException(SharingErrorCode.SourceChanged, $"{path} is gone.", e);
                }
            }
        }

        if (RandomAccess.GetLength(handle) != _manifest.Files[file].Size)
        {
            handle.Dispose();
            throw Changed(file);
        }

        _handle = handle;
        _handleFile = file;
        return handle;
    }

    private SharingException Changed(int file) => new(SharingErrorCode.SourceChanged,
        $"{_pathOf(file)} is no longer {_manifest.Files[file].Size} bytes: it changed after it was shared.");

    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
    }
}
