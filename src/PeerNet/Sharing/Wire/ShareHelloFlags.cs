namespace PeerNet.Sharing.Wire;

/// <summary>The <c>flags</c> byte of <c>hello</c> (docs/sharing.md §5, "Handshake").</summary>
[Flags]
public enum ShareHelloFlags : byte
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>Bit 0: the sender has the info block (and will answer <c>info-request</c>).</summary>
    HasInfo = 1,

    /// <summary>Bit 1: the sender has every piece.</summary>
    HasAllPieces = 2,
}
