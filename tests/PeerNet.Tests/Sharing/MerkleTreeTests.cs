using System.Security.Cryptography;
using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

public class MerkleTreeTests
{
    private static byte[] Leaves(int count, int seed = 7)
    {
        var leaves = new byte[count * 32];
        new Random(seed).NextBytes(leaves);
        return leaves;
    }

    // The spec's tree, written the naive way: levels of lists.
    private static List<List<byte[]>> NaiveLevels(byte[] leaves)
    {
        var level = Enumerable.Range(0, leaves.Length / 32).Select(i => leaves[(i * 32)..((i + 1) * 32)]).ToList();
        var levels = new List<List<byte[]>> { level };
        while (level.Count > 1)
        {
            var next = new List<byte[]>();
            for (var j = 0; j < level.Count; j += 2)
            {
                next.Add(j + 1 < level.Count ? SHA256.HashData([1, .. level[j], .. level[j + 1]]) : level[j]);
            }

            levels.Add(level = next);
        }

        return levels;
    }

    [Fact]
    public void Every_proof_of_every_tree_up_to_70_pieces_verifies_and_matches_a_naive_tree()
    {
        for (var n = 1; n <= 70; n++)
        {
            var leaves = Leaves(n, n);
            var levels = NaiveLevels(leaves);
            var tree = MerkleTree.FromLeafHashes(leaves);
            Assert.Equal(levels[^1][0], tree.Root.ToArray());
            var root = new byte[32];
            MerkleTree.ComputeRoot(leaves, root);
            Assert.Equal(root, tree.Root.ToArray());
            var partial = new MerkleTree(n, root);
            for (var i = 0; i < n; i++)
            {
                var proof = new byte[18 * 32];
                Assert.True(tree.TryGetProof(i, proof, out var length));
                Assert.Equal(MerkleTree.ProofHashCount(n, i) * 32, length);
                proof = proof[..length];
                var leaf = leaves[(i * 32)..((i + 1) * 32)];
                Assert.True(MerkleTree.Verify(root, n, i, leaf, proof), $"n={n} i={i}");
                Assert.True(partial.TryAdd(i, leaf, proof));

                // The naive proof: siblings from the leaf level up, none where the node is carried up.
                var naive = new List<byte>();
                var j = i;
                foreach (var level in levels.SkipLast(1))
                {
                    if (j % 2 == 1) naive.AddRange(level[j - 1]);
                    else if (j + 1 < level.Count) naive.AddRange(level[j + 1]);
                    j /= 2;
                }

                Assert.Equal(naive.ToArray(), proof);
            }

            // Learned one proof at a time, the partial tree gives the same proofs.
            for (var i = 0; i < n; i++)
            {
                var a = new byte[18 * 32];
                var b = new byte[18 * 32];
                Assert.True(tree.TryGetProof(i, a, out var la));
                Assert.True(partial.TryGetProof(i, b, out var lb));
                Assert.Equal(a[..la], b[..lb]);
            }
        }
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(16_384)]
    [InlineData(16_385)]
    [InlineData(262_144)]
    public void Big_trees_verify(int n)
    {
        var leaves = Leaves(n);
        var tree = MerkleTree.FromLeafHashes(leaves);
        var random = new Random(n);
        var proof = new byte[18 * 32];
        foreach (var i in new[] { 0, 1, n - 1, n - 2, n / 2 }.Concat(Enumerable.Range(0, 200).Select(_ => random.Next(n))))
        {
            Assert.True(tree.TryGetProof(i, proof, out var length));
            Assert.True(length <= MerkleTree.MaxProofHashes * 32);
            Assert.True(MerkleTree.Verify(tree.Root, n, i, leaves.AsSpan(i * 32, 32), proof.AsSpan(0, length)));
        }

        if (n == 262_144)
        {
            Assert.Equal(18, MerkleTree.ProofHashCount(n, 12345));
        }
    }

    [Fact]
    public void Tampered_proofs_and_leaves_are_rejected()
    {
        foreach (var n in new[] { 2, 3, 5, 7, 8, 13, 33 })
        {
            var leaves = Leaves(n, n);
            var tree = MerkleTree.FromLeafHashes(leaves);
            for (var i = 0; i < n; i++)
            {
                var proof = new byte[18 * 32];
                tree.TryGetProof(i, proof, out var length);
                proof = proof[..length];
                var leaf = leaves[(i * 32)..((i + 1) * 32)];
                Assert.True(MerkleTree.Verify(tree.Root, n, i, leaf, proof));
                for (var bit = 0; bit < length * 8; bit += 13)
                {
                    var bad = (byte[])proof.Clone();
                    bad[bit / 8] ^= (byte)(1 << (bit % 8));
                    Assert.False(MerkleTree.Verify(tree.Root, n, i, leaf, bad));
                }

                var badLeaf = (byte[])leaf.Clone();
                badLeaf[5] ^= 0x40;
                Assert.False(MerkleTree.Verify(tree.Root, n, i, badLeaf, proof));
                Assert.False(MerkleTree.Verify(tree.Root, n, i, leaf, [.. proof, .. new byte[32]]));
                if (length > 0)
                {
                    Assert.False(MerkleTree.Verify(tree.Root, n, i, leaf, proof[..^32]));
                    Assert.False(MerkleTree.Verify(tree.Root, n, i, leaf, proof[..^1]));
                }

                Assert.False(MerkleTree.Verify(tree.Root, n, (i + 1) % n, leaf, proof)); // bound to its index
                Assert.False(MerkleTree.Verify(tree.Root, n, n, leaf, proof));
                Assert.False(MerkleTree.Verify(tree.Root, n, -1, leaf, proof));
                Assert.False(new MerkleTree(n, tree.Root).TryAdd(i, badLeaf, proof));
            }
        }

        Assert.False(MerkleTree.Verify(new byte[32], 0, 0, new byte[32], []));
        Assert.False(MerkleTree.Verify(new byte[31], 1, 0, new byte[32], []));
        Assert.False(MerkleTree.Verify(new byte[32], 1, 0, new byte[32], new byte[19 * 32]));
    }

    [Fact]
    public void A_second_preimage_across_levels_fails_thanks_to_the_prefixes()
    {
        // The two children of the root, presented as the data of a one-piece item, do not hash to the
        // root: leaves hash with 0x00, nodes with 0x01.
        var leaves = Leaves(4);
        var tree = MerkleTree.FromLeafHashes(leaves);
        var left = SHA256.HashData([1, .. leaves[..32], .. leaves[32..64]]);
        var right = SHA256.HashData([1, .. leaves[64..96], .. leaves[96..]]);
        Assert.Equal(SHA256.HashData([1, .. left, .. right]), tree.Root.ToArray());
        var forged = new byte[32];
        MerkleTree.LeafHash([.. left, .. right], forged);
        Assert.False(MerkleTree.Verify(tree.Root, 1, 0, forged, []));
    }

    [Fact]
    public void Empty_and_single_trees()
    {
        var root = new byte[32];
        MerkleTree.ComputeRoot([], root);
        Assert.All(root, b => Assert.Equal(0, b));
        var leaf = Leaves(1);
        MerkleTree.ComputeRoot(leaf, root);
        Assert.Equal(leaf, root);
        Assert.True(MerkleTree.Verify(root, 1, 0, leaf, []));
        var leafHash = new byte[32];
        MerkleTree.LeafHash("x"u8, leafHash);
        Assert.Equal(SHA256.HashData([0, (byte)'x']), leafHash);
    }
}
