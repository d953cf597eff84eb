namespace PeerNet.Sharing.Driver;

/// <summary>How much of an item a bitfield of stored pieces covers: payload bytes overall and per file (manifest order).</summary>
public static class ItemProgress
{
    /// <summary>Payload bytes of the pieces set in <paramref name="have"/> (wire bitfield order).</summary>
    public static long StoredBytes(PieceLayout layout, ReadOnlySpan<byte> have)
    {
        long total = 0;
        var count = layout.PieceCount;
        for (var i = 0; i < count; i++)
        {
            if (IsSet(have, i))
            {
                total += layout.PieceLength(i);
            }
        }

        return total;
    }

    /// <summary>For each file of <paramref name="manifest"/>, the bytes of it that the pieces set in <paramref name="have"/> cover.</summary>
    public static long[] FileBytes(Manifest manifest, PieceLayout layout, ReadOnlySpan<byte> have)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var result = new long[manifest.Files.Count];
        var count = layout.PieceCount;
        for (var i = 0; i < count; i++)
        {
            if (!IsSet(have, i))
            {
                continue;
            }

            foreach (var span in layout.GetFileSpans(i, manifest.FileOffsets))
            {
                result[span.FileIndex] += span.Length;
            }
        }

        return result;
    }

    private static bool IsSet(ReadOnlySpan<byte> bits, int index) =>
        (index >> 3) < bits.Length && (bits[index >> 3] & (0x80 >> (index & 7))) != 0;
}
