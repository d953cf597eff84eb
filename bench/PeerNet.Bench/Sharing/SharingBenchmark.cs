using System.Diagnostics;
using System.Security.Cryptography;
using PeerNet.Sharing;

namespace PeerNet.Bench.Sharing;

/// <summary>
/// <c>sharing</c>: sealing + hashing throughput per core (docs/sharing.md §2–3), one thread, 256 KiB
/// pieces by default. "seal+leaf" is what a sharer and a seeder do per piece (AES-256-GCM, then the
/// leaf hash of the sealed piece); "verify+open" what a downloader does (leaf hash, Merkle proof,
/// AES-256-GCM open). The reference rows do the same work with the raw BCL primitives (AesGcm,
/// SHA256.HashData into a copy with the prefix), so the ratio is PeerNet's own overhead. Also reports
/// bytes allocated per piece on the hot path (0 is the goal).
/// </summary>
public static class SharingBenchmark
{
    public const string Usage = """
        sharing options:
          --piece-size-log2 N   piece size as a power of two, 14 … 22 (default 18: 256 KiB)
          --seconds S           measuring time per row (default 3)
        """;

    public static int Run(string[] args)
    {
        var log2 = 18;
        var seconds = 3.0;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--piece-size-log2": log2 = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }

        var pieceSize = 1 << log2;
        const int pieceCount = 1024; // a tree of 1,024 pieces: 10-hash proofs
        var key = ContentKey.Generate();
        using var sealer = new PieceSealer(key);
        var plain = new byte[pieceSize];
        RandomNumberGenerator.Fill(plain);
        var sealedPiece = new byte[pieceSize + 16];
        var opened = new byte[pieceSize];
        var leaf = new byte[32];
        var leaves = new byte[pieceCount * 32];
        RandomNumberGenerator.Fill(leaves);
        var index = 517;
        sealer.SealPiece(index, plain, sealedPiece);
        MerkleTree.LeafHash(sealedPiece, leaves.AsSpan(index * 32, 32));
        var tree = MerkleTree.FromLeafHashes(leaves);
        var proof = new byte[MerkleTree.MaxProofHashes * 32];
        tree.TryGetProof(index, proof, out var proofLength);
        var root = tree.Root.ToArray();

        // The reference: the same work with the BCL primitives, no PeerNet code in between.
        var pieceKey = new byte[32];
        key.DerivePieceKey(pieceKey);
        using var aes = new AesGcm(pieceKey, 16);
        var nonce = new byte[12];
        var prefixed = new byte[1 + pieceSize + 16];

        Console.WriteLine($"sharing: one thread, {pieceSize / 1024} KiB pieces, {Environment.ProcessorCount} cores, .NET {Environment.Version}, AES-NI {System.Runtime.Intrinsics.X86.Aes.IsSupported}");
        Console.WriteLine($"{"row",-28} {"MB/s",9} {"pieces/s",10} {"alloc B/piece",14}");

        var sealLeaf = Measure("seal+leaf (PeerNet)", seconds, pieceSize, () =>
        {
            sealer.SealPiece(index, plain, sealedPiece);
            MerkleTree.LeafHash(sealedPiece, leaf);
        });
        var sealLeafRef = Measure("seal+leaf (BCL reference)", seconds, pieceSize, () =>
        {
            aes.Encrypt(nonce, plain, prefixed.AsSpan(1, pieceSize), prefixed.AsSpan(1 + pieceSize, 16));
            SHA256.HashData(prefixed, leaf);
        });
        var verifyOpen = Measure("verify+open (PeerNet)", seconds, pieceSize, () =>
        {
            MerkleTree.LeafHash(sealedPiece, leaf);
            if (!MerkleTree.Verify(root, pieceCount, index, leaf, proof.AsSpan(0, proofLength)))
            {
                throw new InvalidOperationException("proof");
            }

            sealer.OpenPiece(index, sealedPiece, opened);
        });
        Measure("seal only (PeerNet)", seconds, pieceSize, () => sealer.SealPiece(index, plain, sealedPiece));
        Measure("leaf hash only (PeerNet)", seconds, pieceSize, () => MerkleTree.LeafHash(sealedPiece, leaf));
        Measure("open only (PeerNet)", seconds, pieceSize, () => sealer.OpenPiece(index, sealedPiece, opened));

        Console.WriteLine();
        Console.WriteLine($"seal+leaf: {sealLeaf:F0} MB/s per core ({sealLeaf / sealLeafRef:P0} of the BCL reference); verify+open: {verifyOpen:F0} MB/s per core");
        return 0;
    }

    private static double Measure(string name, double seconds, int pieceSize, Action work)
    {
        for (var i = 0; i < 20; i++)
        {
            work(); // warm up (tiered JIT)
        }

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        long pieces = 0;
        while (stopwatch.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < 16; i++)
            {
                work();
            }

            pieces += 16;
        }

        stopwatch.Stop();
        var allocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)pieces;
        var mbPerSecond = pieces * (double)pieceSize / stopwatch.Elapsed.TotalSeconds / 1e6;
        Console.WriteLine($"{name,-28} {mbPerSecond,9:F0} {pieces / stopwatch.Elapsed.TotalSeconds,10:F0} {allocated,14:F1}");
        return mbPerSecond;
    }
}
