using PeerNet.Sharing;
using PeerNet.Sharing.Driver;

namespace PeerNet.Tests.Sharing.Driver;

public sealed class ItemProgressTests
{
    [Fact]
    public void Bytes_per_file_follow_the_pieces_that_span_them()
    {
        // 16 KiB pieces; files of 20,000 / 0 / 30,000 / 5 bytes: 50,005 bytes, 4 pieces.
        var manifest = TestItem.Files("item", ("a", 20_000), ("empty", 0), ("b", 30_000), ("c", 5));
        var layout = new PieceLayout(14, manifest.PayloadLength);
        Assert.Equal(4, layout.PieceCount);
        var have = new PieceBitfield(4);
        Assert.Equal(new long[4], ItemProgress.FileBytes(manifest, layout, have.Bytes));
        Assert.Equal(0, ItemProgress.StoredBytes(layout, have.Bytes));

        have.Set(1); // bytes 16,384 … 32,767: the end of a, the start of b
        Assert.Equal([20_000 - 16_384, 0, 32_768 - 20_000, 0], ItemProgress.FileBytes(manifest, layout, have.Bytes));
        Assert.Equal(16_384, ItemProgress.StoredBytes(layout, have.Bytes));

        have.Set(3); // the last piece, 50,005 - 49,152 = 853 bytes: the end of b (848) and all of c
        Assert.Equal([20_000 - 16_384, 0, 32_768 - 20_000 + 848, 5], ItemProgress.FileBytes(manifest, layout, have.Bytes));
        Assert.Equal(16_384 + 853, ItemProgress.StoredBytes(layout, have.Bytes));

        have.SetAll();
        Assert.Equal([20_000, 0, 30_000, 5], ItemProgress.FileBytes(manifest, layout, have.Bytes));
        Assert.Equal(50_005, ItemProgress.StoredBytes(layout, have.Bytes));
    }

    [Fact]
    public void A_short_bitfield_counts_as_missing_pieces()
    {
        var manifest = TestItem.Files("item", ("a", 100_000));
        var layout = new PieceLayout(14, manifest.PayloadLength);
        Assert.Equal(0, ItemProgress.StoredBytes(layout, ReadOnlySpan<byte>.Empty));
        Assert.Equal([0L], ItemProgress.FileBytes(manifest, layout, ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void A_snapshot_gives_bytes_per_file()
    {
        var manifest = TestItem.Files("item", ("a", 20_000), ("b", 30_000));
        var item = TestItem.Create(manifest, pieceSizeLog2: 14);
        var have = new PieceBitfield(item.Info.PieceCount);
        have.Set(0);
        Assert.Equal([0L, 0L], new ShareSwarmProgress().GetFileBytes(manifest));
        Assert.Equal([16_384L, 0L], new ShareSwarmProgress { Info = item.Info, Have = have.Bytes.ToArray() }.GetFileBytes(manifest));
    }
}
