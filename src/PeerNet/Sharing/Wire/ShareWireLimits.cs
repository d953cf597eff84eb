namespace PeerNet.Sharing.Wire;

/// <summary>The numbers docs/sharing.md §2, §3 and §5 fix for the wire.</summary>
public static class ShareWireLimits
{
    /// <summary>Largest wire message: every WebRTC stack accepts one data-channel message this big (§5).</summary>
    public const int MaxMessageLength = 65_536;

    /// <summary>Largest chunk of the info block in one <c>info</c> message (§5, "Info").</summary>
    public const int MaxInfoChunkLength = 65_000;

    /// <summary>Largest block of a sealed piece in one <c>piece</c> message (§5, "Requests").</summary>
    public const int MaxBlockLength = 65_000;

    /// <summary>The typical block length an uploader sends (§5, "Requests").</summary>
    public const int DefaultBlockLength = 32 * 1024;

    /// <summary>Longest <c>error</c> text in UTF-8 bytes (§5).</summary>
    public const int MaxErrorTextLength = 1_024;

    /// <summary>Most sibling hashes a piece proof can have: pieceCount ≤ 2^18 (§3, "Piece proofs").</summary>
    public const int MaxProofHashes = 18;

    /// <summary>Bytes of one hash in a proof (SHA-256).</summary>
    public const int HashLength = 32;

    /// <summary>Bytes of a content id (§3).</summary>
    public const int ContentIdLength = 32;

    /// <summary>Fewest outstanding requests a hello may advertise (§5).</summary>
    public const int MinMaxRequests = 1;

    /// <summary>Most outstanding requests a hello may advertise (§5).</summary>
    public const int MaxMaxRequests = 1_024;

    /// <summary>Most pieces an item can have (2^18, §2), so a bitfield fits one message.</summary>
    public const int MaxPieceCount = 262_144;

    /// <summary>Longest bitfield: ceil(MaxPieceCount / 8).</summary>
    public const int MaxBitfieldLength = MaxPieceCount / 8;

    /// <summary><c>pieceCount</c> of a hello whose sender has no info block yet (§5).</summary>
    public const uint UnknownPieceCount = 0xFFFF_FFFF;

    /// <summary>The protocol version this implementation speaks.</summary>
    public const byte Version = 1;

    /// <summary>Largest piece: 2^22 bytes (§2).</summary>
    public const int MaxPieceLength = 1 << 22;

    /// <summary>AES-GCM tag appended to each sealed piece (§2).</summary>
    public const int SealTagLength = 16;

    /// <summary>Largest sealed piece: the largest piece plus its tag.</summary>
    public const int MaxSealedPieceLength = MaxPieceLength + SealTagLength;

    /// <summary>Fixed header of the info block (§3): magic … piecesRoot.</summary>
    public const int InfoHeaderLength = 52;

    /// <summary>Shortest info block: the header and a sealed empty manifest (17 bytes).</summary>
    public const int MinInfoLength = InfoHeaderLength + 17;

    /// <summary>Longest info block: the header and a sealed 4 MiB manifest.</summary>
    public const int MaxInfoLength = InfoHeaderLength + (4 * 1024 * 1024) + SealTagLength;

    /// <summary>"PNSW", the hello's magic.</summary>
    public static ReadOnlySpan<byte> HelloMagic => "PNSW"u8;
}
