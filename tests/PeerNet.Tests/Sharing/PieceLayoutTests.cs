using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

public class PieceLayoutTests
{
    [Theory]
    [InlineData(0L, 18, 0)]
    [InlineData(1L, 18, 1)]
    [InlineData(262_144L, 18, 1)]
    [InlineData(262_145L, 18, 2)]
    [InlineData(4L << 30, 18, 16_384)]
    [InlineData((4L << 30) + 1, 19, 8_193)]
    [InlineData(64L << 30, 22, 16_384)]
    [InlineData((64L << 30) + 1, 22, 16_385)]
    [InlineData(1L << 40, 22, 262_144)]
    public void Default_piece_size(long payload, int log2, int count)
    {
        var layout = PieceLayout.ForPayload(payload);
        Assert.Equal(log2, layout.PieceSizeLog2);
        Assert.Equal(count, layout.PieceCount);
    }

    [Fact]
    public void Limits()
    {
        Assert.Equal(SharingErrorCode.TooLarge, Assert.Throws<SharingException>(() => PieceLayout.ForPayload((1L << 40) + 1)).Code);
        Assert.Equal(SharingErrorCode.TooLarge, Assert.Throws<SharingException>(() => new PieceLayout(14, (1L << 32) + 1)).Code);
        Assert.Equal(262_144, new PieceLayout(14, 1L << 32).PieceCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PieceLayout(13, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PieceLayout(23, 1));
        Assert.False(PieceLayout.IsValid(14, (1L << 32) + 1));
    }

    [Fact]
    public void Lengths_offsets_and_sealed_lengths()
    {
        var layout = new PieceLayout(14, 40_000);
        Assert.Equal(3, layout.PieceCount);
        Assert.Equal([16384, 16384, 7232], Enumerable.Range(0, 3).Select(layout.PieceLength));
        Assert.Equal(7248, layout.SealedPieceLength(2));
        Assert.Equal(32768, layout.PieceOffset(2));
        Assert.Equal(16400, layout.SealedPieceStride);
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.PieceLength(3));
    }

    [Fact]
    public void File_spans_cover_each_piece_exactly()
    {
        var manifest = TestItem.Files("x", ("x/a", 20_000), ("x/e1", 0), ("x/b", 5), ("x/e2", 0), ("x/c", 30_000), ("x/d", 1000));
        var layout = new PieceLayout(14, manifest.PayloadLength);
        Assert.Equal(4, layout.PieceCount);
        var covered = new List<(int File, long Offset)>();
        for (var i = 0; i < layout.PieceCount; i++)
        {
            var at = 0;
            foreach (var span in layout.GetFileSpans(i, manifest.FileOffsets))
            {
                Assert.Equal(at, span.PieceOffset);
                Assert.True(span.Length > 0);
                Assert.NotEqual(0, manifest.Files[span.FileIndex].Size);
                Assert.Equal(manifest.FileOffsets[span.FileIndex] + span.FileOffset, layout.PieceOffset(i) + at);
                at += span.Length;
                covered.Add((span.FileIndex, span.FileOffset));
            }

            Assert.Equal(layout.PieceLength(i), at);
        }

        // a: pieces 0-1; b and the start of c: piece 1; c: pieces 1-3; d: piece 3. Empty files never appear.
        Assert.Equal([0, 0, 2, 4, 4, 4, 5], covered.Select(c => c.File));
    }
}
