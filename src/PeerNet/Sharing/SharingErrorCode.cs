namespace PeerNet.Sharing;

/// <summary>Why a sharing operation failed (docs/sharing.md); carried by <see cref="SharingException"/>.</summary>
public enum SharingErrorCode
{
    /// <summary>A link that is not <c>https://HUB/#/get/CID</c> with an optional <c>#k=KEY</c>, or a CID or key of the wrong length or alphabet (§1, <c>bad-link</c>).</summary>
    BadLink = 1,

    /// <summary>Reading was asked for, but the link carries no key: it is a pin link (§1, <c>missing-key</c>).</summary>
    MissingKey,

    /// <summary>The sealed manifest does not open with the key: the key is not the one this content was sealed with.</summary>
    WrongKey,

    /// <summary>The manifest breaks a rule of §2, or its sizes do not add up to the payload length (<c>bad-manifest</c>).</summary>
    BadManifest,

    /// <summary>An info block that breaks a range rule of §3 or whose content id is not the one asked for.</summary>
    BadInfo,

    /// <summary>A sealed piece whose proof or leaf hash does not check against the pieces root, or that does not open.</summary>
    CorruptPiece,

    /// <summary>The payload is larger than the protocol allows (262,144 pieces of at most 4 MiB: 1 TiB), or the manifest larger than 4 MiB.</summary>
    TooLarge,

    /// <summary>A path that would be written outside the target directory, through a link, or onto PeerNet's own files.</summary>
    UnsafePath,

    /// <summary>A file the download would create already exists under its final name.</summary>
    FileExists,

    /// <summary>A source file changed (size or content) after it was sealed, so its pieces no longer match the content id.</summary>
    SourceChanged,

    /// <summary>A piece that this store or source does not have was asked for.</summary>
    PieceNotAvailable,
}
