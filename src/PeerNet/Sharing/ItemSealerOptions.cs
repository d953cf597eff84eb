namespace PeerNet.Sharing;

/// <summary>Options of <see cref="ItemSealer"/>.</summary>
public sealed class ItemSealerOptions
{
    /// <summary>The content key; null (the default, and what a sharer should use) draws a fresh one.</summary>
    public ContentKey? Key { get; init; }

    /// <summary>The piece size as a power of two (14 … 22); null chooses the default for the payload (§2).</summary>
    public int? PieceSizeLog2 { get; init; }
}
