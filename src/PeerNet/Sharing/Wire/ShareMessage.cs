using System.Buffers.Binary;
using System.Text.Unicode;

namespace PeerNet.Sharing.Wire;

/// <summary>
/// One parsed wire message (docs/sharing.md §5), a view over the caller's bytes: nothing is copied
/// and nothing is allocated, so <see cref="Payload"/> and <see cref="ContentId"/> are valid only as
/// long as the input is. Which properties mean something depends on <see cref="Type"/>.
/// </summary>
public readonly ref struct ShareMessage
{
    /// <summary>hello: type, magic, version, flags, CID, pieceCount, maxRequests.</summary>
    public const int HelloLength = 1 + 4 + 1 + 1 + ShareWireLimits.ContentIdLength + 4 + 2;

    /// <summary>have, request, cancel, reject: type and a u32 piece index.</summary>
    public const int PieceIndexLength = 1 + 4;

    /// <summary>info and piece: type and two u32 before the bytes.</summary>
    public const int ChunkHeaderLength = 1 + 4 + 4;

    /// <summary>proof: type, piece, count.</summary>
    public const int ProofHeaderLength = 1 + 4 + 1;

    /// <summary>error: type and code.</summary>
    public const int ErrorHeaderLength = 1 + 2;

    private ShareMessage(ShareMessageType type, uint piece = 0, uint offset = 0, uint totalLength = 0, ReadOnlySpan<byte> payload = default,
        ReadOnlySpan<byte> contentId = default, ShareHelloFlags flags = 0, uint pieceCount = 0, ushort maxRequests = 0, ushort errorCode = 0)
    {
        Type = type;
        Piece = piece;
        Offset = offset;
        TotalLength = totalLength;
        Payload = payload;
        ContentId = contentId;
        Flags = flags;
        PieceCount = pieceCount;
        MaxRequests = maxRequests;
        ErrorCode = errorCode;
    }

    /// <summary>The message type.</summary>
    public ShareMessageType Type { get; }

    /// <summary>The piece index (have, request, proof, piece, cancel, reject); below 2^18.</summary>
    public uint Piece { get; }

    /// <summary>Where <see cref="Payload"/> starts in the info block (info) or sealed piece (piece).</summary>
    public uint Offset { get; }

    /// <summary>The info block's length (info).</summary>
    public uint TotalLength { get; }

    /// <summary>
    /// The variable part: bitfield bytes (bitfield), a chunk of the info block (info), the hashes
    /// (proof, <see cref="ProofCount"/> × 32 bytes), a block (piece), the UTF-8 text (error).
    /// </summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The sender's CID (hello).</summary>
    public ReadOnlySpan<byte> ContentId { get; }

    /// <summary>hello flags.</summary>
    public ShareHelloFlags Flags { get; }

    /// <summary>hello pieceCount; <see cref="ShareWireLimits.UnknownPieceCount"/> when the sender has no info.</summary>
    public uint PieceCount { get; }

    /// <summary>hello maxRequests (1 … 1,024).</summary>
    public ushort MaxRequests { get; }

    /// <summary>The number of hashes of a proof.</summary>
    public int ProofCount => Type == ShareMessageType.Proof ? Payload.Length / ShareWireLimits.HashLength : 0;

    /// <summary>The error code (error); unknown codes are kept as numbers.</summary>
    public ushort ErrorCode { get; }

    /// <summary>Parses one message; throws <see cref="ShareWireException"/> when it is malformed.</summary>
    public static ShareMessage Parse(ReadOnlySpan<byte> message) =>
        TryParse(message, out var parsed, out var error) ? parsed : throw new ShareWireException(error);

    /// <summary>
    /// Parses one message, checking everything that can be checked without the conversation's
    /// state (the session checks order, piece counts and bitfield lengths). Never throws.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out ShareMessage parsed, out ShareWireError error)
    {
        parsed = default;
        error = Parse(message, ref parsed);
        return error == ShareWireError.None;
    }

    private static ShareWireError Parse(ReadOnlySpan<byte> m, ref ShareMessage parsed)
    {
        if (m.IsEmpty)
        {
            return ShareWireError.Empty;
        }

        var type = (ShareMessageType)m[0];
        if (m.Length > ShareWireLimits.MaxMessageLength)
        {
            return type is >= ShareMessageType.Hello and <= ShareMessageType.Error ? ShareWireError.TooLong : ShareWireError.UnknownType;
        }

        switch (type)
        {
            case ShareMessageType.Hello:
                return ParseHello(m, ref parsed);

            case ShareMessageType.Bitfield:
                if (m.Length > 1 + ShareWireLimits.MaxBitfieldLength)
                {
                    return ShareWireError.TooLong;
                }

                parsed = new ShareMessage(type, payload: m[1..]);
                return ShareWireError.None;

            case ShareMessageType.Have:
            case ShareMessageType.Request:
            case ShareMessageType.Cancel:
            case ShareMessageType.Reject:
                if (ExactLength(m, PieceIndexLength) is var e and not ShareWireError.None)
                {
                    return e;
                }

                var piece = BinaryPrimitives.ReadUInt32BigEndian(m[1..]);
                if (piece >= ShareWireLimits.MaxPieceCount)
                {
                    return ShareWireError.PieceOutOfRange;
                }

                parsed = new ShareMessage(type, piece);
                return ShareWireError.None;

            case ShareMessageType.InfoRequest:
            case ShareMessageType.Choke:
            case ShareMessageType.Unchoke:
            case ShareMessageType.Interested:
            case ShareMessageType.NotInterested:
                if (m.Length != 1)
                {
                    return ShareWireError.TooLong;
                }

                parsed = new ShareMessage(type);
                return ShareWireError.None;

            case ShareMessageType.Info:
                return ParseInfo(m, ref parsed);

            case ShareMessageType.Proof:
                return ParseProof(m, ref parsed);

            case ShareMessageType.Piece:
                return ParsePiece(m, ref parsed);

            case ShareMessageType.Error:
                if (m.Length < ErrorHeaderLength)
                {
                    return ShareWireError.TooShort;
                }

                if (m.Length > ErrorHeaderLength + ShareWireLimits.MaxErrorTextLength)
                {
                    return ShareWireError.TooLong;
                }

                var text = m[ErrorHeaderLength..];
                if (!Utf8.IsValid(text))
                {
                    return ShareWireError.InvalidUtf8;
                }

                parsed = new ShareMessage(type, payload: text, errorCode: BinaryPrimitives.ReadUInt16BigEndian(m[1..]));
                return ShareWireError.None;

            default:
                return ShareWireError.UnknownType;
        }
    }

    private static ShareWireError ExactLength(ReadOnlySpan<byte> m, int length) =>
        m.Length < length ? ShareWireError.TooShort : m.Length > length ? ShareWireError.TooLong : ShareWireError.None;

    private static ShareWireError ParseHello(ReadOnlySpan<byte> m, ref ShareMessage parsed)
    {
        // Magic and version first: a peer of another protocol (or version) may send any length,
        // and it must hear wrong-content, not protocol (§5, "Handshake").
        if (m.Length >= 5 && !m.Slice(1, 4).SequenceEqual(ShareWireLimits.HelloMagic))
        {
            return ShareWireError.BadMagic;
        }

        if (m.Length >= 6 && m[5] != ShareWireLimits.Version)
        {
            return ShareWireError.UnsupportedVersion;
        }

        if (ExactLength(m, HelloLength) is var e and not ShareWireError.None)
        {
            return e;
        }

        var flags = (ShareHelloFlags)m[6];
        var contentId = m.Slice(7, ShareWireLimits.ContentIdLength);
        var pieceCount = BinaryPrimitives.ReadUInt32BigEndian(m[39..]);
        var maxRequests = BinaryPrimitives.ReadUInt16BigEndian(m[43..]);
        if (maxRequests is < ShareWireLimits.MinMaxRequests or > ShareWireLimits.MaxMaxRequests)
        {
            return ShareWireError.BadMaxRequests;
        }

        if (pieceCount > ShareWireLimits.MaxPieceCount && pieceCount != ShareWireLimits.UnknownPieceCount)
        {
            return ShareWireError.BadPieceCount;
        }

        // "Every piece" needs a piece count, and a piece count comes only from the info block.
        if ((flags & ShareHelloFlags.HasAllPieces) != 0 &&
            ((flags & ShareHelloFlags.HasInfo) == 0 || pieceCount == ShareWireLimits.UnknownPieceCount))
        {
            return ShareWireError.BadFlags;
        }

        // A piece count without the info block is a lie: pieceCount is known only from it.
        if ((flags & ShareHelloFlags.HasInfo) == 0 && pieceCount != ShareWireLimits.UnknownPieceCount)
        {
            return ShareWireError.BadFlags;
        }

        if ((flags & ShareHelloFlags.HasInfo) != 0 && pieceCount == ShareWireLimits.UnknownPieceCount)
        {
            return ShareWireError.BadFlags;
        }

        parsed = new ShareMessage(ShareMessageType.Hello, contentId: contentId, flags: flags, pieceCount: pieceCount, maxRequests: maxRequests);
        return ShareWireError.None;
    }

    private static ShareWireError ParseInfo(ReadOnlySpan<byte> m, ref ShareMessage parsed)
    {
        if (m.Length < ChunkHeaderLength + 1)
        {
            return m.Length == ChunkHeaderLength ? ShareWireError.BadRange : ShareWireError.TooShort;
        }

        if (m.Length > ChunkHeaderLength + ShareWireLimits.MaxInfoChunkLength)
        {
            return ShareWireError.TooLong;
        }

        var total = BinaryPrimitives.ReadUInt32BigEndian(m[1..]);
        var offset = BinaryPrimitives.ReadUInt32BigEndian(m[5..]);
        if (total is < ShareWireLimits.MinInfoLength or > ShareWireLimits.MaxInfoLength)
        {
            return ShareWireError.BadInfoLength;
        }

        var bytes = m[ChunkHeaderLength..];
        if ((ulong)offset + (ulong)bytes.Length > total)
        {
            return ShareWireError.BadRange;
        }

        parsed = new ShareMessage(ShareMessageType.Info, offset: offset, totalLength: total, payload: bytes);
        return ShareWireError.None;
    }

    private static ShareWireError ParseProof(ReadOnlySpan<byte> m, ref ShareMessage parsed)
    {
        if (m.Length < ProofHeaderLength)
        {
            return ShareWireError.TooShort;
        }

        var piece = BinaryPrimitives.ReadUInt32BigEndian(m[1..]);
        int count = m[5];
        if (count > ShareWireLimits.MaxProofHashes)
        {
            return ShareWireError.BadProofCount;
        }

        var expected = ProofHeaderLength + (count * ShareWireLimits.HashLength);
        if (m.Length != expected)
        {
            return m.Length < expected ? ShareWireError.TooShort : ShareWireError.TooLong;
        }

        if (piece >= ShareWireLimits.MaxPieceCount)
        {
            return ShareWireError.PieceOutOfRange;
        }

        parsed = new ShareMessage(ShareMessageType.Proof, piece, payload: m[ProofHeaderLength..]);
        return ShareWireError.None;
    }

    private static ShareWireError ParsePiece(ReadOnlySpan<byte> m, ref ShareMessage parsed)
    {
        if (m.Length < ChunkHeaderLength + 1)
        {
            return m.Length == ChunkHeaderLength ? ShareWireError.BadRange : ShareWireError.TooShort;
        }

        if (m.Length > ChunkHeaderLength + ShareWireLimits.MaxBlockLength)
        {
            return ShareWireError.TooLong;
        }

        var piece = BinaryPrimitives.ReadUInt32BigEndian(m[1..]);
        var offset = BinaryPrimitives.ReadUInt32BigEndian(m[5..]);
        if (piece >= ShareWireLimits.MaxPieceCount)
        {
            return ShareWireError.PieceOutOfRange;
        }

        var block = m[ChunkHeaderLength..];
        if ((ulong)offset + (ulong)block.Length > ShareWireLimits.MaxSealedPieceLength)
        {
            return ShareWireError.BadRange;
        }

        parsed = new ShareMessage(ShareMessageType.Piece, piece, offset, payload: block);
        return ShareWireError.None;
    }
}
