using System.Buffers;
using System.Security.Cryptography;

namespace PeerNet.Sharing;

/// <summary>
/// The binary Merkle tree over an item's sealed pieces, docs/sharing.md §3, with RFC 6962 style
/// domain separation: <c>leaf(i) = H(0x00 || sealedPiece_i)</c>, <c>node(a, b) = H(0x01 || a || b)</c>;
/// each level pairs neighbours left to right and carries an odd last node up unchanged.
/// <para>
/// The static members hash, compute roots and verify proofs. An instance holds the nodes known so far
/// under a trusted root: complete from all leaf hashes (a seeder), or learned one verified proof at a
/// time (a downloader or replica), which is enough to give a proof for every piece it has. Instances
/// are not thread-safe.
/// </para>
/// </summary>
public sealed class MerkleTree
{
    /// <summary>Bytes of a hash (SHA-256).</summary>
    public const int HashLength = 32;

    /// <summary>Most hashes in a proof (262,144 pieces have 18 levels above the leaves).</summary>
    public const int MaxProofHashes = 18;

    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    private readonly byte[] _nodes;       // every level, leaves first, 32 bytes per node
    private readonly int[] _levelStart;   // index of each level's first node in _nodes / 32
    private readonly int[] _levelWidth;
    private readonly ulong[] _known;      // one bit per node
    private readonly byte[] _root = new byte[HashLength];

    /// <summary>An empty tree under <paramref name="root"/>: nodes are learned by <see cref="TryAdd"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A piece count above 262,144.</exception>
    public MerkleTree(int pieceCount, ReadOnlySpan<byte> root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pieceCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pieceCount, PieceLayout.MaxPieceCount);
        if (root.Length != HashLength)
        {
            throw new ArgumentException("A root has 32 bytes.", nameof(root));
        }

        PieceCount = pieceCount;
        root.CopyTo(_root);
        var levels = new List<int>();
        for (var w = pieceCount; w > 0; w = (w + 1) / 2)
        {
            levels.Add(w);
            if (w == 1)
            {
                break;
            }
        }

        _levelWidth = [.. levels];
        _levelStart = new int[_levelWidth.Length];
        var total = 0;
        for (var k = 0; k < _levelWidth.Length; k++)
        {
            _levelStart[k] = total;
            total += _levelWidth[k];
        }

        _nodes = new byte[total * HashLength];
        _known = new ulong[(total + 63) / 64];
        if (total > 0)
        {
            // The root is trusted: it is the single node of the last level.
            Set(_levelWidth.Length - 1, 0, root);
        }
    }

    /// <summary>The complete tree over the given leaf hashes (32 bytes each, in piece order).</summary>
    public static MerkleTree FromLeafHashes(ReadOnlySpan<byte> leafHashes)
    {
        Span<byte> root = stackalloc byte[HashLength];
        ComputeRoot(leafHashes, root);
        var tree = new MerkleTree(leafHashes.Length / HashLength, root);
        var levels = tree._levelWidth.Length;
        for (var i = 0; i < tree.PieceCount; i++)
        {
            tree.Set(0, i, leafHashes.Slice(i * HashLength, HashLength));
        }

        Span<byte> parent = stackalloc byte[HashLength];
        for (var k = 0; k + 1 < levels; k++)
        {
            var w = tree._levelWidth[k];
            for (var j = 0; j < w; j += 2)
            {
                if (j + 1 < w)
                {
                    NodeHash(tree.Node(k, j), tree.Node(k, j + 1), parent);
                    tree.Set(k + 1, j / 2, parent);
                }
                else
                {
                    tree.Set(k + 1, j / 2, tree.Node(k, j));
                }
            }
        }

        return tree;
    }

    /// <summary>Pieces under this tree.</summary>
    public int PieceCount { get; }

    /// <summary>The root (<c>piecesRoot</c>).</summary>
    public ReadOnlySpan<byte> Root => _root;

    /// <summary>True when every leaf hash is known.</summary>
    public bool IsComplete
    {
        get
        {
            for (var i = 0; i < PieceCount; i++)
            {
                if (!HasLeaf(i))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>True when the leaf hash of piece <paramref name="index"/> is known (learned from a verified proof, or the root of a one-piece tree).</summary>
    public bool HasLeaf(int index) => (uint)index < (uint)PieceCount && IsKnown(0, index);

    /// <summary>Copies the known leaf hash of piece <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">The leaf is not known.</exception>
    public void CopyLeafHash(int index, Span<byte> destination)
    {
        if (!HasLeaf(index))
        {
            throw new InvalidOperationException($"The leaf hash of piece {index} is not known.");
        }

        Node(0, index).CopyTo(destination);
    }

    /// <summary>
    /// Verifies <paramref name="leafHash"/> with <paramref name="proof"/> against the root and, if it
    /// holds, learns the leaf and every node on its path (so a proof for it can be given later).
    /// </summary>
    public bool TryAdd(int index, ReadOnlySpan<byte> leafHash, ReadOnlySpan<byte> proof)
    {
        if (!Verify(_root, PieceCount, index, leafHash, proof))
        {
            return false;
        }

        Span<byte> current = stackalloc byte[HashLength];
        leafHash.CopyTo(current);
        int j = index, w = PieceCount, level = 0, used = 0;
        while (w > 1)
        {
            Set(level, j, current);
            if ((j & 1) == 1)
            {
                var sibling = proof.Slice(used, HashLength);
                used += HashLength;
                Set(level, j - 1, sibling);
                NodeHash(sibling, Node(level, j), current);
            }
            else if (j + 1 < w)
            {
                var sibling = proof.Slice(used, HashLength);
                used += HashLength;
                Set(level, j + 1, sibling);
                NodeHash(Node(level, j), sibling, current);
            }

            j >>= 1;
            w = (w + 1) >> 1;
            level++;
        }

        return true;
    }

    /// <summary>
    /// Writes the proof of piece <paramref name="index"/> (sibling hashes from the leaf level up);
    /// false when a needed node is not known or <paramref name="destination"/> is too small.
    /// </summary>
    public bool TryGetProof(int index, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (!HasLeaf(index) || destination.Length < ProofHashCount(PieceCount, index) * HashLength)
        {
            return false;
        }

        int j = index, w = PieceCount, level = 0;
        while (w > 1)
        {
            var sibling = (j & 1) == 1 ? j - 1 : j + 1 < w ? j + 1 : -1;
            if (sibling >= 0)
            {
                if (!IsKnown(level, sibling))
                {
                    bytesWritten = 0;
                    return false;
                }

                Node(level, sibling).CopyTo(destination[bytesWritten..]);
                bytesWritten += HashLength;
            }

            j >>= 1;
            w = (w + 1) >> 1;
            level++;
        }

        return true;
    }

    /// <summary><c>H(0x00 || sealedPiece)</c>.</summary>
    public static void LeafHash(ReadOnlySpan<byte> sealedPiece, Span<byte> destination)
    {
        if (destination.Length < HashLength)
        {
            // Checked first: a failed TryGetHashAndReset would leave the reused hash mid-message.
            throw new ArgumentException("A hash needs 32 bytes.", nameof(destination));
        }

        var sha = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadOnlySpan<byte> prefix = [0x00];
        sha.AppendData(prefix);
        sha.AppendData(sealedPiece);
        sha.GetHashAndReset(destination);
    }

    /// <summary><c>H(0x01 || left || right)</c>.</summary>
    public static void NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[1 + 2 * HashLength];
        input[0] = 0x01;
        left[..HashLength].CopyTo(input[1..]);
        right[..HashLength].CopyTo(input[(1 + HashLength)..]);
        SHA256.HashData(input, destination);
    }

    /// <summary>
    /// The root over leaf hashes (32 bytes each, in piece order): one leaf is its own root, none gives
    /// 32 zero bytes.
    /// </summary>
    public static void ComputeRoot(ReadOnlySpan<byte> leafHashes, Span<byte> root)
    {
        if (leafHashes.Length % HashLength != 0)
        {
            throw new ArgumentException("Leaf hashes come in 32 bytes each.", nameof(leafHashes));
        }

        var w = leafHashes.Length / HashLength;
        if (w == 0)
        {
            root[..HashLength].Clear();
            return;
        }

        var rented = ArrayPool<byte>.Shared.Rent(leafHashes.Length);
        try
        {
            var level = rented.AsSpan(0, leafHashes.Length);
            leafHashes.CopyTo(level);
            while (w > 1)
            {
                var next = 0;
                for (var j = 0; j < w; j += 2, next++)
                {
                    var into = level.Slice(next * HashLength, HashLength);
                    if (j + 1 < w)
                    {
                        // Reads j and j+1 before writing slot j/2 <= j: safe in place.
                        NodeHash(level.Slice(j * HashLength, HashLength), level.Slice((j + 1) * HashLength, HashLength), into);
                    }
                    else
                    {
                        level.Slice(j * HashLength, HashLength).CopyTo(into);
                    }
                }

                w = next;
            }

            level[..HashLength].CopyTo(root);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Hashes in the proof of piece <paramref name="index"/> of <paramref name="pieceCount"/> (levels where its path node has a sibling).</summary>
    public static int ProofHashCount(int pieceCount, int index)
    {
        if ((uint)index >= (uint)pieceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        int j = index, w = pieceCount, count = 0;
        while (w > 1)
        {
            if ((j & 1) == 1 || j + 1 < w)
            {
                count++;
            }

            j >>= 1;
            w = (w + 1) >> 1;
        }

        return count;
    }

    /// <summary>
    /// Verifies a proof, §3 exactly: from the leaf up, at each level with index <c>j</c> and width
    /// <c>w</c>, an odd <c>j</c> takes its sibling from the left, an even <c>j</c> with <c>j + 1 &lt; w</c>
    /// from the right, and the last node of an odd level consumes nothing; then <c>j /= 2</c>,
    /// <c>w = ceil(w / 2)</c>. Valid when every hash is consumed and the result is <paramref name="root"/>.
    /// Never throws on bad input.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> root, int pieceCount, int index, ReadOnlySpan<byte> leafHash, ReadOnlySpan<byte> proof)
    {
        if (root.Length != HashLength || leafHash.Length != HashLength || pieceCount is <= 0 or > PieceLayout.MaxPieceCount ||
            (uint)index >= (uint)pieceCount || proof.Length % HashLength != 0 || proof.Length > MaxProofHashes * HashLength)
        {
            return false;
        }

        Span<byte> current = stackalloc byte[HashLength];
        leafHash.CopyTo(current);
        int j = index, w = pieceCount, used = 0;
        while (w > 1)
        {
            if ((j & 1) == 1 || j + 1 < w)
            {
                if (used + HashLength > proof.Length)
                {
                    return false;
                }

                var sibling = proof.Slice(used, HashLength);
                used += HashLength;
                if ((j & 1) == 1)
                {
                    NodeHash(sibling, current, current);
                }
                else
                {
                    NodeHash(current, sibling, current);
                }
            }

            j >>= 1;
            w = (w + 1) >> 1;
        }

        return used == proof.Length && CryptographicOperations.FixedTimeEquals(current, root);
    }

    private ReadOnlySpan<byte> Node(int level, int j) => _nodes.AsSpan((_levelStart[level] + j) * HashLength, HashLength);

    private bool IsKnown(int level, int j)
    {
        var n = _levelStart[level] + j;
        return (_known[n >> 6] & (1UL << (n & 63))) != 0;
    }

    private void Set(int level, int j, ReadOnlySpan<byte> hash)
    {
        var n = _levelStart[level] + j;
        hash[..HashLength].CopyTo(_nodes.AsSpan(n * HashLength, HashLength));
        _known[n >> 6] |= 1UL << (n & 63);
    }
}
