namespace PeerNet.Sharing;

/// <summary>
/// Which pieces a peer has, in the wire's layout (docs/sharing.md §5 <c>bitfield</c>): bit 7 of byte
/// 0 is piece 0, spare bits of the last byte are 0. Not thread-safe.
/// </summary>
public sealed class PieceBitfield
{
    private readonly byte[] _bytes;

    /// <summary>An empty bitfield for <paramref name="pieceCount"/> pieces.</summary>
    public PieceBitfield(int pieceCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pieceCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pieceCount, PieceLayout.MaxPieceCount);
        PieceCount = pieceCount;
        _bytes = new byte[ByteLength(pieceCount)];
    }

    /// <summary>Pieces it covers.</summary>
    public int PieceCount { get; }

    /// <summary>Pieces set.</summary>
    public int Count { get; private set; }

    /// <summary>True when every piece is set.</summary>
    public bool IsComplete => Count == PieceCount;

    /// <summary>The wire bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary><c>ceil(pieceCount / 8)</c>.</summary>
    public static int ByteLength(int pieceCount) => (pieceCount + 7) / 8;

    /// <summary>True when piece <paramref name="index"/> is set (false when out of range).</summary>
    public bool Get(int index) => (uint)index < (uint)PieceCount && (_bytes[index >> 3] & (0x80 >> (index & 7))) != 0;

    /// <summary>Sets piece <paramref name="index"/>; false when it was set already.</summary>
    public bool Set(int index)
    {
        if ((uint)index >= (uint)PieceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        var mask = (byte)(0x80 >> (index & 7));
        if ((_bytes[index >> 3] & mask) != 0)
        {
            return false;
        }

        _bytes[index >> 3] |= mask;
        Count++;
        return true;
    }

    /// <summary>Clears piece <paramref name="index"/>.</summary>
    public void Clear(int index)
    {
        if (Get(index))
        {
            _bytes[index >> 3] &= (byte)~(0x80 >> (index & 7));
            Count--;
        }
    }

    /// <summary>Sets every piece.</summary>
    public void SetAll()
    {
        for (var i = 0; i < PieceCount; i++)
        {
            Set(i);
        }
    }

    /// <summary>Replaces the bits with <paramref name="bytes"/>; false (and unchanged) when the length is wrong or a spare bit is set.</summary>
    public bool TryLoad(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != _bytes.Length)
        {
            return false;
        }

        var spare = _bytes.Length * 8 - PieceCount;
        if (spare > 0 && (bytes[^1] & ((1 << spare) - 1)) != 0)
        {
            return false;
        }

        bytes.CopyTo(_bytes);
        var count = 0;
        foreach (var b in _bytes)
        {
            count += System.Numerics.BitOperations.PopCount(b);
        }

        Count = count;
        return true;
    }

    /// <summary>Copies the wire bytes.</summary>
    public void CopyTo(Span<byte> destination) => _bytes.CopyTo(destination);
}
