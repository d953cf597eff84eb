using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using PeerNet.Sharing.Swarm;
using PeerNet.Sharing.Wire;

namespace PeerNet.Tests.Sharing.Wire;

/// <summary>
/// A fake item for wire and swarm tests: random "sealed" pieces, a real binary Merkle tree over
/// them as docs/sharing.md §3 defines it (leaf = H(0x00 || piece), node = H(0x01 || a || b), odd
/// nodes carried up) with proofs, and an info block whose SHA-256 stands in for the CID.
/// </summary>
internal sealed class TestContent : IPieceVerifier
{
    private readonly List<byte[][]> _levels = [];

    private TestContent(byte[][] pieces, byte[] info)
    {
        Pieces = pieces;
        var level = pieces.Select(Leaf).ToArray();
        _levels.Add(level);
        while (level.Length > 1)
        {
            var next = new byte[(level.Length + 1) / 2][];
            for (var i = 0; i < next.Length; i++)
            {
                next[i] = 2 * i + 1 < level.Length ? Node(level[2 * i], level[2 * i + 1]) : level[2 * i];
            }

            _levels.Add(next);
            level = next;
        }

        Root = pieces.Length == 0 ? new byte[32] : level[0];
        Info = info;
        Root.CopyTo(Info, 20);
        ContentId = SHA256.HashData(Info);
    }

    public byte[][] Pieces { get; }

    public byte[] Root { get; }

    public byte[] Info { get; }

    public byte[] ContentId { get; }

    public int PieceCount => Pieces.Length;

    /// <summary>An item of <paramref name="pieceCount"/> pieces of <paramref name="pieceLength"/> bytes (the last one <paramref name="lastLength"/>, when given).</summary>
    public static TestContent Create(int seed, int pieceCount, int pieceLength, int? lastLength = null, int infoLength = 200)
    {
        var random = new Random(seed);
        var pieces = new byte[pieceCount][];
        for (var i = 0; i < pieceCount; i++)
        {
            pieces[i] = new byte[i == pieceCount - 1 && lastLength is { } l ? l : pieceLength];
            random.NextBytes(pieces[i]);
        }

        var info = new byte[infoLength];
        random.NextBytes(info);
        "PNS1"u8.CopyTo(info);
        return new TestContent(pieces, info);
    }

    public int GetSealedPieceLength(int piece) => Pieces[piece].Length;

    /// <summary>The proof of §3: sibling hashes from the leaf level up, skipping carried-up levels.</summary>
    public byte[] Proof(int piece)
    {
        var proof = new List<byte>();
        var j = piece;
        for (var level = 0; level < _levels.Count - 1; level++)
        {
            var width = _levels[level].Length;
            if ((j & 1) == 1)
            {
                proof.AddRange(_levels[level][j - 1]);
            }
            else if (j + 1 < width)
            {
                proof.AddRange(_levels[level][j + 1]);
            }

            j /= 2;
        }

        return [.. proof];
    }

    /// <summary>The verifier of §3, "Piece proofs".</summary>
    public bool VerifyPiece(int piece, ReadOnlySpan<byte> sealedPiece, ReadOnlySpan<byte> proofHashes)
    {
        if ((uint)piece >= (uint)PieceCount || sealedPiece.Length != Pieces[piece].Length || proofHashes.Length % 32 != 0)
        {
            return false;
        }

        var hash = Leaf(sealedPiece);
        var j = piece;
        var w = PieceCount;
        var used = 0;
        while (w > 1)
        {
            if ((j & 1) == 1 || j + 1 < w)
            {
                if (used + 32 > proofHashes.Length)
                {
                    return false;
                }

                var sibling = proofHashes.Slice(used, 32);
                used += 32;
                hash = (j & 1) == 1 ? Node(sibling, hash) : Node(hash, sibling);
            }

            j /= 2;
            w = (w + 1) / 2;
        }

        return used == proofHashes.Length && hash.AsSpan().SequenceEqual(Root);
    }

    private static byte[] Leaf(byte[] data) => Leaf(data.AsSpan());

    private static byte[] Leaf(ReadOnlySpan<byte> data)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData([0x00]);
        h.AppendData(data);
        return h.GetHashAndReset();
    }

    private static byte[] Node(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        Span<byte> buffer = stackalloc byte[65];
        buffer[0] = 0x01;
        a.CopyTo(buffer[1..]);
        b.CopyTo(buffer[33..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>Accepts an info block when its SHA-256 is the content id (the tests' stand-in for §3's CID).</summary>
    public sealed class InfoVerifier(TestContent content) : IContentInfoVerifier
    {
        public bool TryAccept(ReadOnlySpan<byte> contentId, ReadOnlySpan<byte> infoBlock, [NotNullWhen(true)] out IPieceVerifier? verifier)
        {
            verifier = SHA256.HashData(infoBlock).AsSpan().SequenceEqual(contentId) ? content : null;
            return verifier is not null;
        }
    }
}
