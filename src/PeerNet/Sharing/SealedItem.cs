namespace PeerNet.Sharing;

/// <summary>
/// What sealing an item produced: its key, manifest, info block, content id and the leaf hash of every
/// sealed piece (32 bytes × pieceCount), which a seeder keeps to give proofs without sealing everything again.
/// </summary>
public sealed class SealedItem
{
    internal SealedItem(ItemSource source, ContentKey key, byte[] manifestJson, ContentInfo info, byte[] leafHashes)
    {
        Source = source;
        Key = key;
        ManifestJson = manifestJson;
        Info = info;
        LeafHashes = leafHashes;
    }

    /// <summary>The files on disk.</summary>
    public ItemSource Source { get; }

    /// <summary>The manifest.</summary>
    public Manifest Manifest => Source.Manifest;

    /// <summary>The manifest JSON exactly as sealed.</summary>
    public ReadOnlyMemory<byte> ManifestJson { get; }

    /// <summary>The content key.</summary>
    public ContentKey Key { get; }

    /// <summary>The info block.</summary>
    public ContentInfo Info { get; }

    /// <summary>The content id.</summary>
    public ContentId Id => Info.Id;

    /// <summary>Leaf hashes of the sealed pieces, 32 bytes each, in piece order.</summary>
    public ReadOnlyMemory<byte> LeafHashes { get; }

    /// <summary>The link to share (<c>https://HUB/#/get/CID#k=KEY</c>).</summary>
    public ShareLink CreateLink(string hub, string scheme = "https") => new(hub, Id, Key, scheme);
}
