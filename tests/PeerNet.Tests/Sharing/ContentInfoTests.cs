using System.Buffers.Binary;
using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

public class ContentInfoTests
{
    private static readonly TestItem Item = TestItem.Create(TestItem.Files("x", ("x/a", 40_000), ("x/b", 9)), seed: 3);

    [Fact]
    public void Parses_what_it_creates_and_opens_the_manifest()
    {
        var info = ContentInfo.Parse(Item.Info.Bytes, Item.Info.Id);
        Assert.Equal(Item.Info.Id, info.Id);
        Assert.Equal(3, info.PieceCount);
        Assert.Equal(40_009, info.Layout.PayloadLength);
        Assert.Equal(info.Length, ContentInfo.AnnouncedLength(info.Bytes[..20]));
        var manifest = info.OpenManifest(Item.Key);
        Assert.Equal(["x/a", "x/b"], manifest.Files.Select(f => f.Path));
    }

    [Fact]
    public void Another_cid_is_bad_info()
    {
        var other = TestItem.Create(TestItem.Files("x", ("x/a", 10)));
        Assert.Equal(SharingErrorCode.BadInfo, Assert.Throws<SharingException>(() => ContentInfo.Parse(Item.Info.Bytes, other.Info.Id)).Code);
    }

    [Fact]
    public void Wrong_key_is_wrong_key_and_a_lying_manifest_is_bad_manifest()
    {
        Assert.Equal(SharingErrorCode.WrongKey, Assert.Throws<SharingException>(() => Item.Info.OpenManifest(ContentKey.Generate())).Code);

        // The sizes add up to something else than payloadLength.
        var lying = TestItem.Create(TestItem.Files("x", ("x/a", 10)).ToJson(), 11);
        Assert.Equal(SharingErrorCode.BadManifest, Assert.Throws<SharingException>(() => lying.Info.OpenManifest(lying.Key)).Code);

        // Sealed fine, but not a manifest.
        var garbage = TestItem.Create("not json"u8.ToArray(), 5);
        Assert.Equal(SharingErrorCode.BadManifest, Assert.Throws<SharingException>(() => garbage.Info.OpenManifest(garbage.Key)).Code);
    }

    [Theory]
    [InlineData(0, 0x51)]          // magic
    [InlineData(4, 2)]             // version
    [InlineData(5, 13)]            // pieceSizeLog2 too small
    [InlineData(5, 23)]            // too large
    [InlineData(6, 1)]             // reserved
    [InlineData(7, 1)]
    public void Header_fields_out_of_range_are_bad_info(int offset, byte value)
    {
        var block = Item.Info.Bytes.ToArray();
        block[offset] = value;
        Assert.Equal(SharingErrorCode.BadInfo, Assert.Throws<SharingException>(() => ContentInfo.Parse(block)).Code);
    }

    [Fact]
    public void Lying_lengths_are_bad_info()
    {
        var good = Item.Info.Bytes.ToArray();
        void Bad(byte[] block) => Assert.Equal(SharingErrorCode.BadInfo, Assert.Throws<SharingException>(() => ContentInfo.Parse(block)).Code);

        for (var cut = 0; cut < good.Length; cut += 7)
        {
            Bad(good[..cut]);
        }

        Bad([.. good, 0]);
        foreach (var sealedLength in new uint[] { 0, 16, (uint)(good.Length - 52 - 1), (uint)(good.Length - 52 + 1), 4 * 1024 * 1024 + 17, uint.MaxValue })
        {
            var block = (byte[])good.Clone();
            BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(16), sealedLength);
            Bad(block);
        }

        foreach (var payload in new ulong[] { (1UL << 18) * 16384 + 1, ulong.MaxValue, 1UL << 63 })
        {
            var block = (byte[])good.Clone();
            BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan(8), payload);
            Bad(block);
        }

        // An empty payload must have the zero root.
        var empty = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64BigEndian(empty.AsSpan(8), 0);
        Bad(empty);
        empty.AsSpan(20, 32).Clear();
        Assert.Equal(0, ContentInfo.Parse(empty).PieceCount);

        // The largest payload for 4 MiB pieces parses (262,144 pieces, 1 TiB).
        var largest = (byte[])good.Clone();
        largest[5] = 22;
        BinaryPrimitives.WriteUInt64BigEndian(largest.AsSpan(8), 1UL << 40);
        Assert.Equal(262_144, ContentInfo.Parse(largest).PieceCount);
    }

    [Fact]
    public void Random_mutations_give_bad_info_or_a_different_cid_never_another_exception()
    {
        var good = Item.Info.Bytes.ToArray();
        var random = new Random(777);
        for (var round = 0; round < 20_000; round++)
        {
            var block = (byte[])good.Clone();
            var flips = random.Next(1, 5);
            for (var f = 0; f < flips; f++)
            {
                // Mostly the header, where the ranges are.
                var at = random.Next(3) == 0 ? random.Next(block.Length) : random.Next(52);
                block[at] = (byte)random.Next(256);
            }

            if (random.Next(4) == 0)
            {
                block = block[..random.Next(block.Length + 1)];
            }

            try
            {
                var info = ContentInfo.Parse(block, Item.Info.Id);
                Assert.True(block.AsSpan().SequenceEqual(good)); // only the unchanged block has this CID
            }
            catch (SharingException e)
            {
                Assert.Equal(SharingErrorCode.BadInfo, e.Code);
            }
        }
    }
}
