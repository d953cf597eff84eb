namespace PeerNet.Sharing.Wire;

/// <summary>The code of an <c>error</c> message (docs/sharing.md §5, "Errors").</summary>
public enum ShareErrorCode : ushort
{
    /// <summary>A message was malformed, of an unknown type, or out of order.</summary>
    Protocol = 1,

    /// <summary>The hello's magic, version or CID does not match ours.</summary>
    WrongContent = 2,

    /// <summary>A piece failed verification against the CID.</summary>
    CorruptPiece = 3,

    /// <summary>The sender cannot take more work.</summary>
    Overloaded = 4,

    /// <summary>The sender is leaving.</summary>
    ShuttingDown = 5,
}
