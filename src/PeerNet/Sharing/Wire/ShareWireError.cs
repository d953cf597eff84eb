namespace PeerNet.Sharing.Wire;

/// <summary>Why a wire message (docs/sharing.md §5) or its place in the conversation was rejected.</summary>
public enum ShareWireError : byte
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>Zero bytes: not even a type.</summary>
    Empty,

    /// <summary>The first byte is not a type §5 defines.</summary>
    UnknownType,

    /// <summary>Shorter than its type's fixed fields.</summary>
    TooShort,

    /// <summary>Longer than its type allows, or than 65,536 bytes.</summary>
    TooLong,

    /// <summary>The hello's magic is not "PNSW".</summary>
    BadMagic,

    /// <summary>The hello's version is not 1.</summary>
    UnsupportedVersion,

    /// <summary>The hello's maxRequests is outside 1 … 1,024.</summary>
    BadMaxRequests,

    /// <summary>The hello's pieceCount is above 2^18 and not 0xFFFFFFFF; or it differs from ours.</summary>
    BadPieceCount,

    /// <summary>The hello claims every piece but not the info block / a piece count.</summary>
    BadFlags,

    /// <summary>A piece index at or beyond the piece count (or 2^18).</summary>
    PieceOutOfRange,

    /// <summary>A proof's count is above 18 or does not match its bytes.</summary>
    BadProofCount,

    /// <summary>An info chunk or piece block with no bytes, or beyond its total.</summary>
    BadRange,

    /// <summary>An info message's totalLength is outside what an info block can be.</summary>
    BadInfoLength,

    /// <summary>An error's text is not valid UTF-8.</summary>
    InvalidUtf8,

    /// <summary>A bitfield of the wrong length for the piece count.</summary>
    BitfieldLengthMismatch,

    /// <summary>A bitfield with a spare bit (past the last piece) set.</summary>
    SpareBitsSet,

    /// <summary>The hello's CID is not ours.</summary>
    WrongContent,

    /// <summary>A message before the hello, a second hello, a second bitfield, a bitfield after a have.</summary>
    OutOfOrder,

    /// <summary>A proof, block or reject for a piece we did not request; a block before its proof or not in order.</summary>
    Unrequested,

    /// <summary>More requests outstanding than our hello's maxRequests, or a duplicate request.</summary>
    TooManyRequests,

    /// <summary>An info-request we cannot answer, or info we did not ask for.</summary>
    UnexpectedInfo,
}
