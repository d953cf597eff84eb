using System.Diagnostics;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using PeerNet.Signaling;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// A downloader whose disk is slower than the network: the pieces verified but not yet written stay
/// at most <see cref="ShareSwarm.MaxPiecesAwaitingStore"/> (each holds a piece buffer) instead of
/// piling up at the network's rate minus the disk's (before the bound, a 48 MiB download to an
/// 8 MB/s disk had 172 of its 192 pieces waiting at once), and the seeder is not taken for stalled while its pieces wait for our disk.
/// </summary>
[Collection(SharingCliCollection.Name)]
public sealed class ShareSwarmSlowDiskTests(ITestOutputHelper output) : SwarmOnHubTest
{
    [Fact(Timeout = 120_000)]
    public async Task Pieces_waiting_for_a_slow_disk_stay_few_and_the_download_is_byte_exact()
    {
        var file = Files.Random("slow.bin", 32L << 20, seed: 81);
        var item = await ItemSealer.SealAsync(ItemSource.FromFile(file));
        using var plain = new PlainPieceSource(item);
        await using var seederSignaling = await ConnectAsync();
        await using var seeder = await ShareSwarm.StartAsync(seederSignaling, plain);

        SlowStore? slow = null;
        var directory = Path.Combine(Files.Downloads, "slow");
        await using var signaling = await ConnectAsync();
        var clock = Stopwatch.StartNew();
        var reported = -1;
        await using (var downloader = await ShareSwarm.StartAsync(signaling, item.Id, async (info, token) =>
                     {
                         slow = new SlowStore(await DownloadStore.OpenAsync(directory, info, item.Key, token), bytesPerSecond: 4_000_000);
                         return slow;
                     }))
        {
            // 32 MiB at 4 MB/s: 8.4 s of writing, while the held pieces wait longer than the 2 s of a stall.
            await downloader.Completion.WaitAsync(TimeSpan.FromSeconds(90));
            reported = downloader.Progress.PeersReported;
        }

        output.WriteLine($"{item.Info.PieceCount} pieces in {clock.Elapsed.TotalSeconds:0.0} s; at most {slow!.MostWaiting} stores in progress at once; {reported} peer(s) reported");
        await slow.DisposeAsync();
        Assert.InRange(slow.MostWaiting, 1, ShareSwarm.MaxPiecesAwaitingStore);
        Assert.Equal(0, reported);
        Assert.Equal(TestFiles.Sha256Hex(file), TestFiles.Sha256Hex(Path.Combine(directory, "slow.bin")));
    }

    /// <summary>A disk that writes one piece at a time at <c>bytesPerSecond</c>; counts the stores waiting for it.</summary>
    private sealed class SlowStore(IPieceStore inner, int bytesPerSecond) : IPieceStore
    {
        private readonly SemaphoreSlim _disk = new(1, 1);
        private int _waiting;
        private int _mostWaiting;

        public int MostWaiting => Volatile.Read(ref _mostWaiting);

        public ContentInfo Info => inner.Info;

        public bool IsComplete => inner.IsComplete;

        public int StoredPieceCount => inner.StoredPieceCount;

        public bool HasPiece(int index) => inner.HasPiece(index);

        public void CopyBitfield(Span<byte> destination) => inner.CopyBitfield(destination);

        public bool TryGetProof(int index, Span<byte> destination, out int bytesWritten) => inner.TryGetProof(index, destination, out bytesWritten);

        public ValueTask<int> ReadSealedPieceAsync(int index, Memory<byte> destination, CancellationToken cancellationToken = default) =>
            inner.ReadSealedPieceAsync(index, destination, cancellationToken);

        public async ValueTask<bool> StorePieceAsync(int index, ReadOnlyMemory<byte> sealedPiece, ReadOnlyMemory<byte> proof, CancellationToken cancellationToken = default)
        {
            var waiting = Interlocked.Increment(ref _waiting);
            InterlockedMax(ref _mostWaiting, waiting);
            try
            {
                await _disk.WaitAsync(cancellationToken);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)sealedPiece.Length / bytesPerSecond), cancellationToken);
                    return await inner.StorePieceAsync(index, sealedPiece, proof, cancellationToken);
                }
                finally
                {
                    _disk.Release();
                }
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
