using System.Buffers.Binary;
using System.Text;

namespace PeerNet.Sharing.Wire;

/// <summary>
/// Writes wire messages (docs/sharing.md §5) into caller-supplied spans, without allocating. Each
/// method returns the message's length. Arguments outside the protocol's limits are caller bugs and
/// throw <see cref="ArgumentException"/>; so does a destination that is too small.
/// </summary>
public static class ShareMessageWriter
{
    /// <summary>Writes <c>hello</c>.</summary>
    public static int WriteHello(Span<byte> destination, ReadOnlySpan<byte> contentId, ShareHelloFlags flags, uint pieceCount, ushort maxRequests)
    {
        if (contentId.Length != ShareWireLimits.ContentIdLength)
        {
            throw new ArgumentException("A content id is 32 bytes.", nameof(contentId));
        }

        if (maxRequests is < ShareWireLimits.MinMaxRequests or > ShareWireLimits.MaxMaxRequests)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRequests), "maxRequests is 1 … 1,024.");
        }

        if (pieceCount > ShareWireLimits.MaxPieceCount && pieceCount != ShareWireLimits.UnknownPieceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(pieceCount), "pieceCount is at most 2^18, or 0xFFFFFFFF for unknown.");
        }

        var d = Fit(destination, ShareMessage.HelloLength);
        d[0] = (byte)ShareMessageType.Hello;
        ShareWireLimits.HelloMagic.CopyTo(d[1..]);
        d[5] = ShareWireLimits.Version;
        d[6] = (byte)flags;
        contentId.CopyTo(d[7..]);
        BinaryPrimitives.WriteUInt32BigEndian(d[39..], pieceCount);
        BinaryPrimitives.WriteUInt16BigEndian(d[43..], maxRequests);
        return ShareMessage.HelloLength;
    }

    /// <summary>Writes <c>bitfield</c> with the given bytes (bit 7 of byte 0 is piece 0).</summary>
    public static int WriteBitfield(Span<byte> destination, ReadOnlySpan<byte> bits)
    {
        if (bits.Length > ShareWireLimits.MaxBitfieldLength)
        {
            throw new ArgumentException("A bitfield is at most 32,768 bytes.", nameof(bits));
        }

        var d = Fit(destination, 1 + bits.Length);
        d[0] = (byte)ShareMessageType.Bitfield;
        bits.CopyTo(d[1..]);
        return 1 + bits.Length;
    }

    /// <summary>Writes <c>have</c>.</summary>
    public static int WriteHave(Span<byte> destination, int piece) => WritePieceIndex(destination, ShareMessageType.Have, piece);

    /// <summary>Writes <c>request</c>.</summary>
    public static int WriteRequest(Span<byte> destination, int piece) => WritePieceIndex(destination, ShareMessageType.Request, piece);

    /// <summary>Writes <c>cancel</c>.</summary>
    public static int WriteCancel(Span<byte> destination, int piece) => WritePieceIndex(destination, ShareMessageType.Cancel, piece);

    /// <summary>Writes <c>reject</c>.</summary>
    public static int WriteReject(Span<byte> destination, int piece) => WritePieceIndex(destination, ShareMessageType.Reject, piece);

    /// <summary>Writes one of the messages that are only a type: info-request, choke, unchoke, interested, not-interested.</summary>
    public static int WriteSignal(Span<byte> destination, ShareMessageType type)
    {
        if (type is not (ShareMessageType.InfoRequest or ShareMessageType.Choke or ShareMessageType.Unchoke
            or ShareMessageType.Interested or ShareMessageType.NotInterested))
        {
            throw new ArgumentException($"{type} has fields.", nameof(type));
        }

        Fit(destination, 1)[0] = (byte)type;
        return 1;
    }

    /// <summary>Writes <c>info</c>: one chunk (1 … 65,000 bytes) of the info block.</summary>
    public static int WriteInfo(Span<byte> destination, int totalLength, int offset, ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty || chunk.Length > ShareWireLimits.MaxInfoChunkLength)
        {
            throw new ArgumentException("An info chunk is 1 … 65,000 bytes.", nameof(chunk));
        }

        if (totalLength is < ShareWireLimits.MinInfoLength or > ShareWireLimits.MaxInfoLength || offset < 0 || (long)offset + chunk.Length > totalLength)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), "The chunk must lie within an info block of a valid length.");
        }

        return WriteChunk(destination, ShareMessageType.Info, (uint)totalLength, (uint)offset, chunk);
    }

    /// <summary>Writes <c>proof</c>: the sibling hashes (a multiple of 32 bytes, at most 18 hashes).</summary>
    public static int WriteProof(Span<byte> destination, int piece, ReadOnlySpan<byte> hashes)
    {
        CheckPiece(piece);
        if (hashes.Length % ShareWireLimits.HashLength != 0 || hashes.Length > ShareWireLimits.MaxProofHashes * ShareWireLimits.HashLength)
        {
            throw new ArgumentException("A proof is at most 18 hashes of 32 bytes.", nameof(hashes));
        }

        var length = ShareMessage.ProofHeaderLength + hashes.Length;
        var d = Fit(destination, length);
        d[0] = (byte)ShareMessageType.Proof;
        BinaryPrimitives.WriteUInt32BigEndian(d[1..], (uint)piece);
        d[5] = (byte)(hashes.Length / ShareWireLimits.HashLength);
        hashes.CopyTo(d[ShareMessage.ProofHeaderLength..]);
        return length;
    }

    /// <summary>Writes <c>piece</c>: one block (1 … 65,000 bytes) of a sealed piece at <paramref name="offset"/>.</summary>
    public static int WritePiece(Span<byte> destination, int piece, int offset, ReadOnlySpan<byte> block)
    {
        CheckPiece(piece);
        if (block.IsEmpty || block.Length > ShareWireLimits.MaxBlockLength)
        {
            throw new ArgumentException("A block is 1 … 65,000 bytes.", nameof(block));
        }

        if (offset < 0 || (long)offset + block.Length > ShareWireLimits.MaxSealedPieceLength)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        return WriteChunk(destination, ShareMessageType.Piece, (uint)piece, (uint)offset, block);
    }

    /// <summary>Writes <c>error</c> with a UTF-8 text of at most 1,024 bytes.</summary>
    public static int WriteError(Span<byte> destination, ShareErrorCode code, ReadOnlySpan<byte> utf8Text)
    {
        if (utf8Text.Length > ShareWireLimits.MaxErrorTextLength)
        {
            throw new ArgumentException("An error text is at most 1,024 UTF-8 bytes.", nameof(utf8Text));
        }

        var length = ShareMessage.ErrorHeaderLength + utf8Text.Length;
        var d = Fit(destination, length);
        d[0] = (byte)ShareMessageType.Error;
        BinaryPrimitives.WriteUInt16BigEndian(d[1..], (ushort)code);
        utf8Text.CopyTo(d[ShareMessage.ErrorHeaderLength..]);
        return length;
    }

    /// <summary>Writes <c>error</c>; a text longer than 1,024 UTF-8 bytes is cut at a character boundary.</summary>
    public static int WriteError(Span<byte> destination, ShareErrorCode code, string? text)
    {
        text ??= string.Empty;
        var d = Fit(destination, ShareMessage.ErrorHeaderLength);
        d[0] = (byte)ShareMessageType.Error;
        BinaryPrimitives.WriteUInt16BigEndian(d[1..], (ushort)code);
        var room = Math.Min(ShareWireLimits.MaxErrorTextLength, d.Length - ShareMessage.ErrorHeaderLength);
        var written = Utf8Prefix(text, d.Slice(ShareMessage.ErrorHeaderLength, room));
        return ShareMessage.ErrorHeaderLength + written;
    }

    /// <summary>The length of <c>error</c> with this text as <see cref="WriteError(Span{byte}, ShareErrorCode, string?)"/> writes it.</summary>
    public static int ErrorLength(string? text) =>
        ShareMessage.ErrorHeaderLength + Math.Min(Encoding.UTF8.GetByteCount(text ?? string.Empty), ShareWireLimits.MaxErrorTextLength);

    private static int Utf8Prefix(string text, Span<byte> destination)
    {
        // Encode whole characters while they fit, so a cut never splits a UTF-8 sequence.
        var encoder = Encoding.UTF8.GetEncoder();
        encoder.Convert(text.AsSpan(), destination, flush: true, out _, out var bytesUsed, out _);
        return bytesUsed;
    }

    private static int WritePieceIndex(Span<byte> destination, ShareMessageType type, int piece)
    {
        CheckPiece(piece);
        var d = Fit(destination, ShareMessage.PieceIndexLength);
        d[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(d[1..], (uint)piece);
        return ShareMessage.PieceIndexLength;
    }

    private static int WriteChunk(Span<byte> destination, ShareMessageType type, uint first, uint second, ReadOnlySpan<byte> bytes)
    {
        var length = ShareMessage.ChunkHeaderLength + bytes.Length;
        var d = Fit(destination, length);
        d[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(d[1..], first);
        BinaryPrimitives.WriteUInt32BigEndian(d[5..], second);
        bytes.CopyTo(d[ShareMessage.ChunkHeaderLength..]);
        return length;
    }

    private static void CheckPiece(int piece)
    {
        if ((uint)piece >= ShareWireLimits.MaxPieceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(piece), "A piece index is below 2^18.");
        }
    }

    private static Span<byte> Fit(Span<byte> destination, int length) =>
        destination.Length >= length ? destination : throw new ArgumentException($"The destination needs {length} bytes.", nameof(destination));
}
