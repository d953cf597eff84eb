using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerNet.Sharing;

/// <summary>
/// The state file of a download or a pin (docs/sharing.md §7): the content id and the bitfield of the
/// pieces recorded, replaced atomically (write a temporary file, flush it, rename it over the old one).
/// Layout: magic "PNST" (4), version u8 = 1, kind u8 (1 download, 2 pin), reserved (2), CID (32),
/// pieceCount u32, payloadLength u64, bitfield (ceil(pieceCount/8)), SHA-256 of everything before (32).
/// A file that does not decode exactly, or is for other content, is not trusted: the store starts over.
/// </summary>
internal static class StoreStateFile
{
    public const byte DownloadKind = 1;
    public const byte PinKind = 2;
    private const int HeaderLength = 52;

    public static byte[] Encode(byte kind, ContentInfo info, PieceBitfield bits)
    {
        var bytes = new byte[HeaderLength + bits.Bytes.Length + 32];
        "PNST"u8.CopyTo(bytes);
        bytes[4] = 1;
        bytes[5] = kind;
        info.Id.CopyTo(bytes.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(40), (uint)info.PieceCount);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(44), (ulong)info.Layout.PayloadLength);
        bits.CopyTo(bytes.AsSpan(HeaderLength));
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        return bytes;
    }

    /// <summary>Loads <paramref name="bytes"/> into <paramref name="bits"/>; false (bits untouched) unless it is a valid state of this content.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, byte kind, ContentInfo info, PieceBitfield bits)
    {
        var bitLength = PieceBitfield.ByteLength(info.PieceCount);
        if (bytes.Length != HeaderLength + bitLength + 32 || !bytes[..4].SequenceEqual("PNST"u8) || bytes[4] != 1 ||
            bytes[5] != kind || bytes[6] != 0 || bytes[7] != 0 || !info.Id.Matches(bytes.Slice(8, 32)) ||
            BinaryPrimitives.ReadUInt32BigEndian(bytes[40..]) != (uint)info.PieceCount ||
            BinaryPrimitives.ReadUInt64BigEndian(bytes[44..]) != (ulong)info.Layout.PayloadLength)
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(bytes[..^32], hash);
        return hash.SequenceEqual(bytes[^32..]) && bits.TryLoad(bytes.Slice(HeaderLength, bitLength));
    }

    /// <summary>Replaces <paramref name="path"/> with <paramref name="bytes"/> atomically.</summary>
    public static async Task WriteAtomicAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        var temp = path + ".tmp";
        using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.Asynchronous))
        {
            await RandomAccess.WriteAsync(handle, bytes, 0, cancellationToken).ConfigureAwait(false);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The bytes of <paramref name="path"/>, or null when it is missing or implausibly large.</summary>
    public static async Task<byte[]?> TryReadAsync(string path, int maxLength, CancellationToken cancellationToken)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            var length = RandomAccess.GetLength(handle);
            if (length > maxLength)
            {
                return null;
            }

            var bytes = new byte[length];
            var done = 0;
            while (done < bytes.Length)
            {
                var read = await RandomAccess.ReadAsync(handle, bytes.AsMemory(done), done, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return null;
                }

                done += read;
            }

            return bytes;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
