using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

/// <summary>An item sealed in memory: its info block, sealed pieces and tree, for tests.</summary>
internal sealed class TestItem
{
    public required ContentKey Key { get; init; }
    public required ContentInfo Info { get; init; }
    public required byte[] Payload { get; init; }
    public required byte[][] SealedPieces { get; init; }
    public required MerkleTree Tree { get; init; }

    public byte[] Proof(int index)
    {
        var proof = new byte[MerkleTree.MaxProofHashes * 32];
        Assert.True(Tree.TryGetProof(index, proof, out var length));
        return proof[..length];
    }

    public static TestItem Create(Manifest manifest, int pieceSizeLog2 = 14, ContentKey? key = null, int seed = 1) =>
        Create(manifest.ToJson(), manifest.PayloadLength, pieceSizeLog2, key, seed);

    /// <summary>Seals arbitrary manifest bytes (even an invalid manifest) with a random payload.</summary>
    public static TestItem Create(byte[] manifestJson, long payloadLength, int pieceSizeLog2 = 14, ContentKey? key = null, int seed = 1)
    {
        key ??= ContentKey.Generate();
        var payload = new byte[payloadLength];
        new Random(seed).NextBytes(payload);
        var layout = new PieceLayout(pieceSizeLog2, payloadLength);
        using var sealer = new PieceSealer(key);
        var sealedManifest = new byte[manifestJson.Length + 16];
        sealer.SealManifest(manifestJson, sealedManifest);
        var pieces = new byte[layout.PieceCount][];
        var leaves = new byte[layout.PieceCount * 32];
        for (var i = 0; i < layout.PieceCount; i++)
        {
            pieces[i] = new byte[layout.SealedPieceLength(i)];
            sealer.SealPiece(i, payload.AsSpan((int)layout.PieceOffset(i), layout.PieceLength(i)), pieces[i]);
            MerkleTree.LeafHash(pieces[i], leaves.AsSpan(i * 32, 32));
        }

        var tree = MerkleTree.FromLeafHashes(leaves);
        return new TestItem
        {
            Key = key,
            Info = ContentInfo.Create(layout, tree.Root, sealedManifest),
            Payload = payload,
            SealedPieces = pieces,
            Tree = tree,
        };
    }

    public static Manifest Files(string name, params (string Path, long Size)[] files) =>
        new(name, files.Select(f => new ManifestFile(f.Path, f.Size)));
}
