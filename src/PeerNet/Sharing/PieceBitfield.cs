using System.Numerics;

namespace PeerNet.Sharing;

/// <summary>
/// Which pieces a peer has, in the wire's layout (docs/sharing.md §5 <c>bitfield</c>): bit 7 of byte
/// 0 is piece 0, spare bits of the last byte are 0. Keeps a count of set bits. Used by the stores
/// (what is on disk) and the wire and swarm cores (what each peer has). Not thread-safe.
/// </summary>
public sealed class PieceBitfield
{
    private readonly byte[] _bytes;

    /// <summary>An empty bitfield for <paramref name="pieceCount"/> pieces (0 … 2^18).</summary>
    public PieceBitfield(int pieceCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pieceCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pieceCount, PieceLayout.MaxPieceCount);
        PieceCount = pieceCount;
        _bytes = new byte[ByteLength(pieceCount)];
    }

    /// <summary>Pieces it covers (the item's piece count).</summary>
    public int PieceCount { get; }

    /// <summary>Pieces set.</summary>
    public int Count { get; private set; }

    /// <summary>True when every piece is set.</summary>
    public bool IsComplete => Count == PieceCount;

    /// <summary>The wire bytes: ceil(PieceCount / 8).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>True when piece <paramref name="index"/> is set (false when out of range).</summary>
    public bool this[int index] => Get(index);

    /// <summary><c>ceil(pieceCount / 8)</c>.</summary>
    public static int ByteLength(int pieceCount) => (pieceCount + 7) / 8;

    /// <summary>True when <paramref name="bytes"/> is a bitfield of <paramref name="pieceCount"/> pieces: exact length, spare bits 0.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> bytes, int pieceCount) =>
        bytes.Length == ByteLength(pieceCount) && !HasSpareBits(bytes, pieceCount);

    /// <summary>True when a spare bit of the last byte is set.</summary>
    public static bool HasSpareBits(ReadOnlySpan<byte> bytes, int pieceCount)
    {
        var spare = (8 - (pieceCount & 7)) & 7;
        return spare != 0 && bytes.Length > 0 && (bytes[^1] & ((1 << spare) - 1)) != 0;
    }

    /// <summary>True when piece <paramref name="index"/> is set (false when out of range).</summary>
    public bool Get(int index) => (uint)index < (uint)PieceCount && (_bytes[index >> 3] & (0x80 >> (index & 7))) != 0;

    /// <summary>Sets piece <paramref name="index"/>; false when it was set already.</summary>
    public bool Set(int index)
    {
        CheckRange(index);
        ref var b = ref _bytes[index >> 3];
        var mask = (byte)(0x80 >> (index & 7));
        if ((b & mask) != 0)
        {
            return false;
        }

        b |= mask;
        Count++;
        return true;
    }

    /// <summary>Clears piece <paramref name="index"/>; false when it was not set.</summary>
    public bool Clear(int index)
    {
        CheckRange(index);
        ref var b = ref _bytes[index >> 3];
        var mask = (byte)(0x80 >> (index & 7));
        if ((b & mask) == 0)
        {
            return false;
        }

        b &= (byte)~mask;
        Count--;
        return true;
    }

    /// <summary>Sets every piece.</summary>
    public void SetAll()
    {
        _bytes.AsSpan().Fill(0xFF);
        var spare = (8 - (PieceCount & 7)) & 7;
        if (spare != 0 && _bytes.Length > 0)
        {
            _bytes[^1] = (byte)(0xFF << spare);
        }

        Count = PieceCount;
    }

    /// <summary>Replaces the bits with <paramref name="bytes"/>; false (and unchanged) when they are not <see cref="IsWellFormed"/>.</summary>
    public bool TryLoad(ReadOnlySpan<byte> bytes)
    {
        if (!IsWellFormed(bytes, PieceCount))
        {
            return false;
        }

        bytes.CopyTo(_bytes);
        var count = 0;
        foreach (var b in _bytes)
        {
            count += BitOperations.PopCount(b);
        }

        Count = count;
        return true;
    }

    /// <summary>Replaces the bits with <paramref name="bytes"/>, which must be <see cref="IsWellFormed"/>.</summary>
    /// <exception cref="ArgumentException">They are not.</exception>
    public void Load(ReadOnlySpan<byte> bytes)
    {
        if (!TryLoad(bytes))
        {
            throw new ArgumentException("The bitfield does not fit this piece count.", nameof(bytes));
        }
    }

    /// <summary>The first set piece at or after <paramref name="start"/>, or -1.</summary>
    public int NextSet(int start)
    {
        for (var i = Math.Max(start, 0); i < PieceCount; i++)
        {
            if ((i & 7) == 0)
            {
                // Skip empty bytes whole.
                while (i < PieceCount && _bytes[i >> 3] == 0)
                {
                    i += 8;
                }

                if (i >= PieceCount)
                {
                    return -1;
                }
            }

            if (Get(i))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Copies the wire bytes.</summary>
    public void CopyTo(Span<byte> destination) => _bytes.CopyTo(destination);

    private void CheckRange(int index)
    {
        if ((uint)index >= (uint)PieceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }
    }
}
