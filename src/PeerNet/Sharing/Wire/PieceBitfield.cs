using System.Numerics;

namespace PeerNet.Sharing.Wire;

/// <summary>
/// Which pieces a peer has, in the wire's bit order (docs/sharing.md §5: bit 7 of byte 0 is piece
/// 0; spare bits 0). Keeps a count of set bits. Not thread-safe.
/// </summary>
public sealed class PieceBitfield
{
    private readonly byte[] _bits;

    /// <summary>An empty bitfield for <paramref name="count"/> pieces (0 … 2^18).</summary>
    public PieceBitfield(int count)
    {
        if ((uint)count > ShareWireLimits.MaxPieceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "At most 2^18 pieces.");
        }

        Count = count;
        _bits = new byte[(count + 7) / 8];
    }

    /// <summary>How many pieces the item has.</summary>
    public int Count { get; }

    /// <summary>How many pieces are set.</summary>
    public int SetCount { get; private set; }

    /// <summary>Every piece is set.</summary>
    public bool IsComplete => SetCount == Count;

    /// <summary>The wire bytes: ceil(Count / 8).</summary>
    public ReadOnlySpan<byte> Bytes => _bits;

    /// <summary>Whether <paramref name="piece"/> is set; false outside 0 … Count-1.</summary>
    public bool this[int piece] => (uint)piece < (uint)Count && (_bits[piece >> 3] & (0x80 >> (piece & 7))) != 0;

    /// <summary>The wire length of a bitfield for <paramref name="count"/> pieces.</summary>
    public static int ByteLength(int count) => (count + 7) / 8;

    /// <summary>Checks bytes received for <paramref name="count"/> pieces: exact length, spare bits 0.</summary>
    public static ShareWireError Validate(ReadOnlySpan<byte> bits, int count)
    {
        if (bits.Length != ByteLength(count))
        {
            return ShareWireError.BitfieldLengthMismatch;
        }

        var spare = (8 - (count & 7)) & 7;
        return spare != 0 && (bits[^1] & ((1 << spare) - 1)) != 0 ? ShareWireError.SpareBitsSet : ShareWireError.None;
    }

    /// <summary>Sets <paramref name="piece"/>; returns false when it was already set.</summary>
    public bool Set(int piece)
    {
        CheckRange(piece);
        ref var b = ref _bits[piece >> 3];
        var mask = (byte)(0x80 >> (piece & 7));
        if ((b & mask) != 0)
        {
            return false;
        }

        b |= mask;
        SetCount++;
        return true;
    }

    /// <summary>Clears <paramref name="piece"/>; returns false when it was not set.</summary>
    public bool Clear(int piece)
    {
        CheckRange(piece);
        ref var b = ref _bits[piece >> 3];
        var mask = (byte)(0x80 >> (piece & 7));
        if ((b & mask) == 0)
        {
            return false;
        }

        b &= (byte)~mask;
        SetCount--;
        return true;
    }

    /// <summary>Sets every piece.</summary>
    public void SetAll()
    {
        _bits.AsSpan().Fill(0xFF);
        var spare = (8 - (Count & 7)) & 7;
        if (spare != 0)
        {
            _bits[^1] = (byte)(0xFF << spare);
        }

        SetCount = Count;
    }

    /// <summary>Replaces the bits with <paramref name="bits"/>, which <see cref="Validate"/> accepted.</summary>
    public void Load(ReadOnlySpan<byte> bits)
    {
        if (Validate(bits, Count) != ShareWireError.None)
        {
            throw new ArgumentException("The bitfield does not fit this piece count.", nameof(bits));
        }

        bits.CopyTo(_bits);
        var set = 0;
        foreach (var b in _bits)
        {
            set += BitOperations.PopCount(b);
        }

        SetCount = set;
    }

    /// <summary>The first set piece at or after <paramref name="start"/>, or -1.</summary>
    public int NextSet(int start)
    {
        for (var i = Math.Max(start, 0); i < Count; i++)
        {
            if ((i & 7) == 0)
            {
                // Skip empty bytes whole.
                while (i < Count && _bits[i >> 3] == 0)
                {
                    i += 8;
                }

                if (i >= Count)
                {
                    return -1;
                }
            }

            if (this[i])
            {
                return i;
            }
        }

        return -1;
    }

    private void CheckRange(int piece)
    {
        if ((uint)piece >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(piece));
        }
    }
}
