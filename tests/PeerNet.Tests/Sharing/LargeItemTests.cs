using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

[CollectionDefinition(nameof(LargeItemTests), DisableParallelization = true)]
public class LargeItemCollection;

/// <summary>Runs alone so the allocation count is this test's own.</summary>
[Collection(nameof(LargeItemTests))]
public class LargeItemTests
{
    [Fact]
    public async Task A_64_MiB_item_seals_downloads_and_pins_with_bounded_memory()
    {
        using var dir = new TempDirectory();
        const int size = 64 << 20;
        var file = dir.Combine("big.bin");
        using (var stream = File.Create(file))
        {
            var chunk = new byte[1 << 20];
            var random = new Random(64);
            for (var i = 0; i < size / chunk.Length; i++)
            {
                random.NextBytes(chunk);
                stream.Write(chunk);
            }
        }

        GC.Collect();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        long reported = 0;
        var progress = new SynchronousProgress(v => reported = v);
        var item = await ItemSealer.SealAsync(ItemSource.FromFile(file), progress: progress);
        Assert.Equal(size, reported);
        Assert.Equal(256, item.Info.PieceCount);               // the default 256 KiB pieces
        Assert.Equal(18, item.Info.Layout.PieceSizeLog2);

        using var source = new PlainPieceSource(item);
        var target = dir.Combine("out");
        await using (var store = await DownloadStore.OpenAsync(target, item.Info, item.Key))
        {
            var buffer = new byte[item.Info.Layout.SealedPieceStride];
            var proof = new byte[MerkleTree.MaxProofHashes * 32];
            for (var i = 0; i < item.Info.PieceCount; i++)
            {
                var length = await source.ReadSealedPieceAsync(i, buffer);
                source.TryGetProof(i, proof, out var proofLength);
                Assert.True(await store.StorePieceAsync(i, buffer.AsMemory(0, length), proof.AsMemory(0, proofLength)));
            }

            Assert.True(store.IsComplete);
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        // Sealing, serving and downloading 64 MiB allocate a few pieces' worth, not the payload.
        Assert.True(allocated < 8 << 20, $"{allocated:N0} bytes allocated for a {size:N0}-byte item");

        using (var a = File.OpenRead(file))
        using (var b = File.OpenRead(Path.Combine(target, "big.bin")))
        {
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(a), System.Security.Cryptography.SHA256.HashData(b));
        }
    }

    [Fact]
    public async Task Sealing_can_be_cancelled()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("f.bin");
        File.WriteAllBytes(file, new byte[4 << 20]);
        using var cts = new CancellationTokenSource();
        var progress = new SynchronousProgress(v =>
        {
            if (v >= 1 << 20)
            {
                cts.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ItemSealer.SealAsync(ItemSource.FromFile(file), new ItemSealerOptions { PieceSizeLog2 = 14 }, progress, cts.Token));
    }

    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
