
namespace PeerNet.Sharing;

/// <summary>
/// How a payload is cut into pieces, docs/sharing.md §2: pieces of <c>pieceSize</c> bytes (a power of
/// two, 2^14 … 2^22), the last one possibly shorter, at most 262,144 of them; a sealed piece is the
/// piece plus a 16-byte tag. Pure arithmetic, no allocation.
/// </summary>
public readonly struct PieceLayout : IEquatable<PieceLayout>
{
    /// <summary>Smallest piece size, 16 KiB, as a power of two.</summary>
    public const int MinPieceSizeLog2 = 14;

    /// <summary>Largest piece size, 4 MiB, as a power of two.</summary>
    public const int MaxPieceSizeLog2 = 22;

    /// <summary>Default piece size, 256 KiB, as a power of two.</summary>
    public const int DefaultPieceSizeLog2 = 18;

    /// <summary>Most pieces an item may have (2^18, so a bitfield fits one wire message).</summary>
    public const int MaxPieceCount = 1 << 18;

    /// <summary>Beyond 4 GiB the default piece size grows to keep the piece count at most this.</summary>
    public const int DefaultMaxPieceCount = 16_384;

    /// <summary>Bytes AES-256-GCM adds to each sealed piece (the tag).</summary>
    public const int TagLength = 16;

    /// <summary>Largest payload: 262,144 pieces of 4 MiB (1 TiB).</summary>
    public const long MaxPayloadLength = (long)MaxPieceCount << MaxPieceSizeLog2;

    /// <summary>A layout with the given piece size.</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.TooLarge"/>: more than 262,144 pieces; <see cref="ArgumentOutOfRangeException"/> for a piece size out of range or a negative length.</exception>
    public PieceLayout(int pieceSizeLog2, long payloadLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pieceSizeLog2, MinPieceSizeLog2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pieceSizeLog2, MaxPieceSizeLog2);
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        if (payloadLength > ((long)MaxPieceCount << pieceSizeLog2))
        {
            throw new SharingException(SharingErrorCode.TooLarge,
                $"{payloadLength} bytes need more than {MaxPieceCount} pieces of {1 << pieceSizeLog2} bytes.");
        }

        PieceSizeLog2 = pieceSizeLog2;
        PayloadLength = payloadLength;
    }

    /// <summary>True when the pair is valid: piece size in range and at most 262,144 pieces.</summary>
    public static bool IsValid(int pieceSizeLog2, long payloadLength) =>
        pieceSizeLog2 is >= MinPieceSizeLog2 and <= MaxPieceSizeLog2 && payloadLength >= 0 &&
        payloadLength <= ((long)MaxPieceCount << pieceSizeLog2);

    /// <summary>
    /// The default layout for a payload (§2): 256 KiB pieces up to 4 GiB, then the smallest power of two
    /// that keeps the piece count at most 16,384, at most 4 MiB (so up to 262,144 pieces, 1 TiB).
    /// </summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.TooLarge"/>: more than 1 TiB.</exception>
    public static PieceLayout ForPayload(long payloadLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        var log2 = DefaultPieceSizeLog2;
        while (log2 < MaxPieceSizeLog2 && payloadLength > ((long)DefaultMaxPieceCount << log2))
        {
            log2++;
        }

        return new PieceLayout(log2, payloadLength);
    }

    /// <summary>The piece size as a power of two (14 … 22).</summary>
    public int PieceSizeLog2 { get; }

    /// <summary>Bytes in a piece (the last one may be shorter).</summary>
    public int PieceSize => 1 << PieceSizeLog2;

    /// <summary>Bytes of payload: the files' contents, concatenated in manifest order.</summary>
    public long PayloadLength { get; }

    /// <summary><c>ceil(payloadLength / pieceSize)</c>; 0 for an empty payload.</summary>
    public int PieceCount => (int)((PayloadLength + PieceSize - 1) >> PieceSizeLog2);

    /// <summary>The stride of a pin's <c>pieces</c> file: <c>pieceSize + 16</c> (§7).</summary>
    public int SealedPieceStride => PieceSize + TagLength;

    /// <summary>Bytes in a proof for a piece of this layout: 32 per hash (§3).</summary>
    public int ProofLength(int index) => MerkleTree.ProofHashCount(PieceCount, index) * MerkleTree.HashLength;

    /// <summary>Where piece <paramref name="index"/> starts in the payload.</summary>
    public long PieceOffset(int index)
    {
        CheckIndex(index);
        return (long)index << PieceSizeLog2;
    }

    /// <summary>Plaintext bytes in piece <paramref name="index"/>.</summary>
    public int PieceLength(int index)
    {
        CheckIndex(index);
        return (int)Math.Min(PieceSize, PayloadLength - ((long)index << PieceSizeLog2));
    }

    /// <summary>Sealed bytes of piece <paramref name="index"/>: its length plus the 16-byte tag.</summary>
    public int SealedPieceLength(int index) => PieceLength(index) + TagLength;

    /// <summary>
    /// The file ranges piece <paramref name="index"/> covers, in order (empty files are skipped).
    /// <paramref name="fileOffsets"/> holds each file's start in the payload and, last, the payload
    /// length (<see cref="Manifest.FileOffsets"/>).
    /// </summary>
    public FileSpanEnumerator GetFileSpans(int index, ReadOnlySpan<long> fileOffsets)
    {
        var start = PieceOffset(index);
        if (fileOffsets.Length < 2 || fileOffsets[^1] != PayloadLength)
        {
            throw new ArgumentException("The file offsets do not end at the payload length.", nameof(fileOffsets));
        }

        return new FileSpanEnumerator(fileOffsets, start, PieceLength(index));
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)PieceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The item has {PieceCount} pieces.");
        }
    }

    /// <inheritdoc/>
    public bool Equals(PieceLayout other) => PieceSizeLog2 == other.PieceSizeLog2 && PayloadLength == other.PayloadLength;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PieceLayout other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(PieceSizeLog2, PayloadLength);

    /// <inheritdoc/>
    public override string ToString() => $"{PieceCount} pieces of {PieceSize} bytes, {PayloadLength} bytes";

    /// <summary>Enumerates the <see cref="FileSpan"/>s of one piece without allocating.</summary>
    public ref struct FileSpanEnumerator
    {
        private readonly ReadOnlySpan<long> _offsets;
        private readonly long _pieceStart;
        private readonly long _pieceEnd;
        private int _file;
        private long _position;

        internal FileSpanEnumerator(ReadOnlySpan<long> offsets, long pieceStart, int pieceLength)
        {
            _offsets = offsets;
            _pieceStart = pieceStart;
            _pieceEnd = pieceStart + pieceLength;
            _position = pieceStart;
            // The first file whose range holds pieceStart: the last k with offsets[k] <= pieceStart
            // and offsets[k + 1] > pieceStart (skipping empty files, which hold nothing).
            int lo = 0, hi = offsets.Length - 1;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (offsets[mid] > pieceStart)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }

            _file = lo - 2; // MoveNext advances to lo - 1
            Current = default;
        }

        /// <summary>The current range.</summary>
        public FileSpan Current { get; private set; }

        /// <summary>Advances to the next range.</summary>
        public bool MoveNext()
        {
            while (_position < _pieceEnd)
            {
                _file++;
                if (_file >= _offsets.Length - 1)
                {
                    return false;
                }

                var fileStart = _offsets[_file];
                var fileEnd = _offsets[_file + 1];
                if (fileEnd <= _position)
                {
                    continue;
                }

                var end = Math.Min(fileEnd, _pieceEnd);
                Current = new FileSpan(_file, _position - fileStart, (int)(_position - _pieceStart), (int)(end - _position));
                _position = end;
                return true;
            }

            return false;
        }

        /// <summary>For <c>foreach</c>.</summary>
        public readonly FileSpanEnumerator GetEnumerator() => this;
    }
}
