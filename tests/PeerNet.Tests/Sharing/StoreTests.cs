using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

public class StoreTests
{
    private static void WriteFile(string path, int length, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
    }

    private static async Task<SealedItem> SealFolderAsync(TempDirectory dir, int pieceSizeLog2 = 14)
    {
        WriteFile(dir.Combine("src", "album", "a.bin"), 20_000, 1);
        WriteFile(dir.Combine("src", "album", "empty.txt"), 0, 2);
        WriteFile(dir.Combine("src", "album", "sub", "b.jpg"), 30_000, 3);
        WriteFile(dir.Combine("src", "album", "sub", "c.txt"), 25_000, 4);
        WriteFile(dir.Combine("src", "album", "B.txt"), 5, 5);
        return await ItemSealer.SealAsync(ItemSource.FromFolder(dir.Combine("src", "album")), new ItemSealerOptions { PieceSizeLog2 = pieceSizeLog2 });
    }

    private static async Task CopyPiecesAsync(ISealedPieceSource from, IPieceStore to, IEnumerable<int> pieces)
    {
        var buffer = new byte[from.Info.Layout.SealedPieceStride];
        var proof = new byte[MerkleTree.MaxProofHashes * 32];
        foreach (var i in pieces)
        {
            var length = await from.ReadSealedPieceAsync(i, buffer);
            Assert.True(from.TryGetProof(i, proof, out var proofLength));
            Assert.True(await to.StorePieceAsync(i, buffer.AsMemory(0, length), proof.AsMemory(0, proofLength)));
        }
    }

    [Fact]
    public async Task Folder_is_walked_sorted_sealed_and_served()
    {
        using var dir = new TempDirectory();
        var item = await SealFolderAsync(dir);
        Assert.Equal(["album/B.txt", "album/a.bin", "album/empty.txt", "album/sub/b.jpg", "album/sub/c.txt"], item.Manifest.Files.Select(f => f.Path));
        Assert.Equal("album", item.Manifest.Name);
        Assert.Equal("image/jpeg", item.Manifest.Files[3].Type);
        Assert.NotNull(item.Manifest.Files[0].Mtime);
        Assert.Equal(5, item.Info.PieceCount);
        Assert.Equal(item.Id, ContentInfo.Parse(item.Info.Bytes, item.Id).Id);
        var link = ShareLink.Parse(item.CreateLink("hub.example").ToString());
        Assert.Equal(item.Id, link.ContentId);
        var manifest = item.Info.OpenManifest(link.RequireKey());
        Assert.Equal(item.Manifest.Files, manifest.Files);

        using var source = new PlainPieceSource(item);
        var buffer = new byte[item.Info.Layout.SealedPieceStride];
        var plain = new byte[item.Info.Layout.PieceSize];
        var proof = new byte[18 * 32];
        using var sealer = new PieceSealer(item.Key);
        var payload = new MemoryStream();
        for (var i = 0; i < 5; i++)
        {
            var length = await source.ReadSealedPieceAsync(i, buffer);
            Assert.True(source.TryGetProof(i, proof, out var proofLength));
            var leaf = new byte[32];
            MerkleTree.LeafHash(buffer.AsSpan(0, length), leaf);
            Assert.True(MerkleTree.Verify(item.Info.PiecesRoot, 5, i, leaf, proof.AsSpan(0, proofLength)));
            payload.Write(plain, 0, sealer.OpenPiece(i, buffer.AsSpan(0, length), plain));
        }

        var expected = item.Manifest.Files.SelectMany(f => File.ReadAllBytes(dir.Combine("src", f.Path))).ToArray();
        Assert.Equal(expected, payload.ToArray());
    }

    [Fact]
    public async Task A_changed_source_file_is_reported_not_served()
    {
        using var dir = new TempDirectory();
        var item = await SealFolderAsync(dir);
        using var source = new PlainPieceSource(item);
        var buffer = new byte[item.Info.Layout.SealedPieceStride];
        var path = dir.Combine("src", "album", "sub", "c.txt");
        var bytes = File.ReadAllBytes(path);
        bytes[100] ^= 1; // payload 50,105: piece 3
        File.WriteAllBytes(path, bytes);
        var e = await Assert.ThrowsAsync<SharingException>(async () => await source.ReadSealedPieceAsync(3, buffer));
        Assert.Equal(SharingErrorCode.SourceChanged, e.Code);
        File.WriteAllBytes(path, bytes[..10]);
        e = await Assert.ThrowsAsync<SharingException>(async () => await source.ReadSealedPieceAsync(4, buffer));
        Assert.Equal(SharingErrorCode.SourceChanged, e.Code);
        e = await Assert.ThrowsAsync<SharingException>(async () => await source.ReadSealedPieceAsync(5, buffer));
        Assert.Equal(SharingErrorCode.PieceNotAvailable, e.Code);
    }

    [Fact]
    public async Task Download_writes_parts_renames_each_file_when_complete_and_resumes()
    {
        using var dir = new TempDirectory();
        var item = await SealFolderAsync(dir);
        using var source = new PlainPieceSource(item);
        var target = dir.Combine("out");
        string Final(string path) => Path.Combine(target, path);

        await using (var store = await DownloadStore.OpenAsync(target, item.Info, item.Key))
        {
            Assert.True(store.StartedOver);
            Assert.True(File.Exists(Final("album/empty.txt")));           // empty files are complete at once
            Assert.True(File.Exists(Final("album/a.bin") + ".peernet-part"));
            Assert.False(File.Exists(Final("album/a.bin")));
            // B.txt (5 bytes) + a.bin (20,000) + empty: pieces 0 and 1 complete B.txt and a.bin.
            await CopyPiecesAsync(source, store, [1]);
            Assert.False(File.Exists(Final("album/a.bin")));
            await CopyPiecesAsync(source, store, [0]);
            Assert.True(File.Exists(Final("album/B.txt")));
            Assert.True(File.Exists(Final("album/a.bin")));
            Assert.False(File.Exists(Final("album/a.bin") + ".peernet-part"));
            Assert.False(File.Exists(Final("album/sub/b.jpg")));
            Assert.Equal(2, store.StoredPieceCount);
        }

        // Reopen: it resumes with pieces 0 and 1, serves them, and finishes.
        await using (var store = await DownloadStore.OpenAsync(target, item.Info, item.Key))
        {
            Assert.False(store.StartedOver);
            Assert.True(store.HasPiece(0) && store.HasPiece(1) && !store.HasPiece(2));
            var bits = new byte[1];
            store.CopyBitfield(bits);
            Assert.Equal(0b1100_0000, bits[0]);
            var again = new byte[store.Info.Layout.SealedPieceStride];
            var original = new byte[store.Info.Layout.SealedPieceStride];
            Assert.Equal(await source.ReadSealedPieceAsync(1, original), await store.ReadSealedPieceAsync(1, again));
            Assert.Equal(original, again);
            Assert.True(store.TryGetProof(1, new byte[18 * 32], out _));
            Assert.False(store.TryGetProof(2, new byte[18 * 32], out _));

            await CopyPiecesAsync(source, store, [4, 2, 3]);
            Assert.True(store.IsComplete);
        }

        foreach (var f in item.Manifest.Files)
        {
            Assert.Equal(File.ReadAllBytes(dir.Combine("src", f.Path)), File.ReadAllBytes(Final(f.Path)));
        }

        Assert.Empty(Directory.GetFiles(target, "*.peernet-part", SearchOption.AllDirectories));

        // A finished download reopens as a complete seeder.
        await using (var store = await DownloadStore.OpenAsync(target, item.Info, item.Key))
        {
            Assert.True(store.IsComplete);
            await CopyPiecesAsync(store, await SealedStore.OpenAsync(dir.Combine("pin"), item.Info), [0, 1, 2, 3, 4]);
        }
    }

    [Fact]
    public async Task A_crash_between_data_and_state_fetches_the_piece_again()
    {
        using var dir = new TempDirectory();
        var item = await SealFolderAsync(dir);
        using var source = new PlainPieceSource(item);
        var target = dir.Combine("out");
        await using (var store = await DownloadStore.OpenAsync(target, item.Info, item.Key))
        {
            await CopyPiecesAsync(source, store, [0]);
        }

        // Simulate: piece 2's data reached the part file, the process died before the state was written.
        var plain = new byte[16384];
        var length = await source.ReadPlainPieceAsync(2, plain);
        var part = Path.Combine(target, "album/sub/b.jpg.peernet-part");
        using (var handle = File.OpenHandle(part, FileMode.Open, FileAccess.Write))
        {
            // Piece 2 starts at payload 32768 = B.txt 5 + a.bin 20,000 + 12,763 bytes into b.jpg.
            RandomAccess.Write(handle, plain.AsSpan(0, length - 1000), 12_763);
        }

        await using (var store = await DownloadStore.OpenAsync(target, item.Info, item.Key))
        {
            Assert.True(store.HasPiece(0));
            Assert.False(store.HasPiece(2));            // not recorded: fetched again
            await CopyPiecesAsync(source, store, [1, 2, 3, 4]);
            Assert.True(store.IsComplete);
        }

        foreach (var f in item.Manifest.Files)
        {
            Assert.Equal(File.ReadAllBytes(dir.Combine("src", f.Path)), File.ReadAllBytes(Path.Combine(target, f.Path)));
        }
    }

    [Fact]
    public async Task Corrupt_or_foreign_state_files_start_over()
    {
        using var dir = new TempDirectory();
        var item = await SealFolderAsync(dir);
        var other = await ItemSealer.SealAsync(ItemSource.FromFolder(dir.Combine("src", "album")), new ItemSealerOptions { PieceSizeLog2 = 14 });
        using var source = new PlainPieceSource(item);
        var target = dir.Combine("out");
        var statePath = Path.Combine(target, ".peernet", item.Id + ".state");

        async Task<bool> ResumesAsync()
        {
            await using var store = await DownloadStore.OpenAsync(target, item.Info, item.Key);
            return !store.StartedOver && store.HasPiece(2);
        }

        // Pieces 2 and 3 complete no file: a start-over finds no final file in its way (one would be
        // a FileExists error, as the store cannot tell it from a user's file without a trusted state).
        await using (var store = await DownloadStore.OpenAsync(target, item.Info, item.Key))
        {
            await CopyPiecesAsync(source, store, [2, 3]);
        }

        var good = File.ReadAllBytes(statePath);
        Assert.True(await ResumesAsync());

        // Every single-byte corruption is caught (checksum), and so is truncation.
        var random = new Random(5);
        for (var round = 0; round < 40; round++)
        {
            var bad = (byte[])good.Clone();
            bad[random.Next(bad.Length)] ^= (byte)(1 << random.Next(8));
            File.WriteAllBytes(statePath, bad);
            Assert.False(await ResumesAsync());
            File.WriteAllBytes(statePath, good);
        }

        File.WriteAllBytes(statePath, good[..^1]);
        Assert.False(await ResumesAsync());

        // Another content's state under this name.
        var otherTarget = dir.Combine("other");
        await using (var store = await DownloadStore.OpenAsync(otherTarget, other.Info, other.Key))
        {
            await CopyPiecesAsync(new PlainPieceSource(other), store, [0]);
        }

        File.Copy(Path.Combine(otherTarget, ".peernet", other.Id + ".state"), statePath, overwrite: true);
        Assert.False(await ResumesAsync());

        // A state that records pieces whose proof slot is garbage: those pieces are fetched again.
        File.WriteAllBytes(statePath, good);
        var proofsPath = Path.Combine(target, ".peernet", item.Id + ".proofs");
        var proofs = File.ReadAllBytes(proofsPath);
        proofs[3 * 608 + 40] ^= 1;
        File.WriteAllBytes(proofsPath, proofs);
        await using (var store = await DownloadStore.OpenAsync(target, item.Info, item.Key))
        {
            Assert.False(store.StartedOver);
            Assert.True(store.HasPiece(2));
            Assert.False(store.HasPiece(3));
        }
    }

    [Fact]
    public async Task Bad_pieces_are_rejected_and_nothing_is_recorded()
    {
        using var dir = new TempDirectory();
        var item = await SealFolderAsync(dir);
        using var source = new PlainPieceSource(item);
        await using var store = await DownloadStore.OpenAsync(dir.Combine("out"), item.Info, item.Key);
        var buffer = new byte[item.Info.Layout.SealedPieceStride];
        var proof = new byte[18 * 32];
        var length = await source.ReadSealedPieceAsync(1, buffer);
        source.TryGetProof(1, proof, out var proofLength);

        async Task Rejected(int index, byte[] piece, byte[] p)
        {
            var e = await Assert.ThrowsAsync<SharingException>(async () => await store.StorePieceAsync(index, piece, p));
            Assert.Equal(SharingErrorCode.CorruptPiece, e.Code);
        }

        var tampered = buffer[..length];
        tampered[10] ^= 1;
        await Rejected(1, tampered, proof[..proofLength]);
        await Rejected(2, buffer[..length], proof[..proofLength]);      // served at the wrong index
        await Rejected(1, buffer[..(length - 1)], proof[..proofLength]);
        await Rejected(1, buffer[..length], proof[..(proofLength - 32)]);
        await Rejected(99, buffer[..length], proof[..proofLength]);
        Assert.Equal(0, store.StoredPieceCount);
        Assert.True(await store.StorePieceAsync(1, buffer.AsMemory(0, length), proof.AsMemory(0, proofLength)));
        Assert.False(await store.StorePieceAsync(1, buffer.AsMemory(0, length), proof.AsMemory(0, proofLength)));
        var e = await Assert.ThrowsAsync<SharingException>(async () => await store.ReadSealedPieceAsync(0, buffer));
        Assert.Equal(SharingErrorCode.PieceNotAvailable, e.Code);
    }

    [Fact]
    public async Task Wrong_key_and_bad_manifests_create_nothing()
    {
        using var dir = new TempDirectory();
        var item = await SealFolderAsync(dir);
        var target = dir.Combine("out");
        var e = await Assert.ThrowsAsync<SharingException>(() => DownloadStore.OpenAsync(target, item.Info, ContentKey.Generate()));
        Assert.Equal(SharingErrorCode.WrongKey, e.Code);
        Assert.False(Directory.Exists(target));

        var bad = TestItem.Create("{\"v\":1,\"name\":\"x\",\"files\":[{\"path\":\"../escape\",\"size\":3}]}"u8.ToArray(), 3);
        e = await Assert.ThrowsAsync<SharingException>(() => DownloadStore.OpenAsync(target, bad.Info, bad.Key));
        Assert.Equal(SharingErrorCode.BadManifest, e.Code);
        Assert.False(Directory.Exists(target));
    }

    [Theory]
    [InlineData(".peernet/x.state")]
    [InlineData(".PeerNet/evil")]
    [InlineData("a.txt.peernet-part")]
    public async Task Paths_onto_peernet_files_are_refused(string path)
    {
        using var dir = new TempDirectory();
        var item = TestItem.Create(TestItem.Files("x", (path, 3)));
        var e = await Assert.ThrowsAsync<SharingException>(() => DownloadStore.OpenAsync(dir.Combine("out"), item.Info, item.Key));
        Assert.Equal(SharingErrorCode.UnsafePath, e.Code);
    }

    [Fact]
    public async Task A_link_inside_the_target_is_not_followed()
    {
        using var dir = new TempDirectory();
        var outside = dir.Combine("outside");
        Directory.CreateDirectory(outside);
        var target = dir.Combine("out");
        Directory.CreateDirectory(target);
        Directory.CreateSymbolicLink(Path.Combine(target, "album"), outside);
        var item = TestItem.Create(TestItem.Files("album", ("album/x.bin", 100)));
        var e = await Assert.ThrowsAsync<SharingException>(() => DownloadStore.OpenAsync(target, item.Info, item.Key));
        Assert.Equal(SharingErrorCode.UnsafePath, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(outside));
    }

    [Fact]
    public async Task An_existing_file_with_the_final_name_is_an_error_before_anything_is_created()
    {
        using var dir = new TempDirectory();
        var target = dir.Combine("out");
        Directory.CreateDirectory(Path.Combine(target, "album"));
        File.WriteAllText(Path.Combine(target, "album", "b.bin"), "mine");
        var item = TestItem.Create(TestItem.Files("album", ("album/a.bin", 10), ("album/b.bin", 10)));
        var e = await Assert.ThrowsAsync<SharingException>(() => DownloadStore.OpenAsync(target, item.Info, item.Key));
        Assert.Equal(SharingErrorCode.FileExists, e.Code);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(target, "album", "b.bin")));
        Assert.False(File.Exists(Path.Combine(target, "album", "a.bin.peernet-part")));
    }

    [Fact]
    public async Task Pin_stores_sealed_pieces_without_the_key_and_resumes()
    {
        using var dir = new TempDirectory();
        var item = await SealFolderAsync(dir);
        using var source = new PlainPieceSource(item);
        var pinDir = dir.Combine("pin", item.Id.ToString());
        var pinLink = ShareLink.Parse(item.CreateLink("hub.example").ToPinLink().ToString());
        Assert.True(pinLink.IsPinLink);

        await using (var pin = await SealedStore.OpenAsync(pinDir, item.Info))
        {
            await CopyPiecesAsync(source, pin, [4, 0]);
            Assert.Equal(2, pin.StoredPieceCount);
        }

        Assert.Equal(item.Info.Bytes.ToArray(), File.ReadAllBytes(Path.Combine(pinDir, "info")));
        Assert.Equal(4L * 16400 + item.Info.Layout.SealedPieceLength(4), new FileInfo(Path.Combine(pinDir, "pieces")).Length);
        Assert.Null(await SealedStore.TryOpenExistingAsync(dir.Combine("nowhere"), pinLink.ContentId));
        await using (var pin = await SealedStore.TryOpenExistingAsync(pinDir, pinLink.ContentId))
        {
            Assert.NotNull(pin);
            Assert.False(pin.StartedOver);
            Assert.True(pin.HasPiece(4) && pin.HasPiece(0) && !pin.HasPiece(1));
            await CopyPiecesAsync(source, pin, [1, 2, 3]);
            Assert.True(pin.IsComplete);

            // The replica serves a downloader, which checks everything against the CID.
            var target = dir.Combine("out");
            await using var download = await DownloadStore.OpenAsync(target, pin.Info, item.Key);
            await CopyPiecesAsync(pin, download, [0, 1, 2, 3, 4]);
            Assert.True(download.IsComplete);
            foreach (var f in item.Manifest.Files)
            {
                Assert.Equal(File.ReadAllBytes(dir.Combine("src", f.Path)), File.ReadAllBytes(Path.Combine(target, f.Path)));
            }
        }

        // Bit rot in the pieces file: reading reports it rather than serving it.
        var piecesPath = Path.Combine(pinDir, "pieces");
        var bytes = File.ReadAllBytes(piecesPath);
        bytes[16400 + 7] ^= 1;
        File.WriteAllBytes(piecesPath, bytes);
        await using (var pin = await SealedStore.OpenAsync(pinDir, item.Info))
        {
            var e = await Assert.ThrowsAsync<SharingException>(async () => await pin.ReadSealedPieceAsync(1, new byte[16400]));
            Assert.Equal(SharingErrorCode.CorruptPiece, e.Code);
        }
    }

    [Fact]
    public async Task Concurrent_writers_and_readers()
    {
        using var dir = new TempDirectory();
        WriteFile(dir.Combine("src", "big.bin"), 70 * 16384 + 5, 9);
        var item = await ItemSealer.SealAsync(ItemSource.FromFile(dir.Combine("src", "big.bin")), new ItemSealerOptions { PieceSizeLog2 = 14 });
        using var source = new PlainPieceSource(item);
        var target = dir.Combine("out");
        await using var store = await DownloadStore.OpenAsync(target, item.Info, item.Key);
        var n = item.Info.PieceCount;
        // Every piece offered twice, from 8 tasks at once, while readers read what is there.
        var work = Enumerable.Range(0, n).Concat(Enumerable.Range(0, n)).OrderBy(i => (i * 7919) % 131).ToArray();
        var next = -1;
        var stored = 0;
        var writers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var buffer = new byte[16400];
            var proof = new byte[18 * 32];
            int k;
            while ((k = Interlocked.Increment(ref next)) < work.Length)
            {
                var i = work[k];
                var length = await source.ReadSealedPieceAsync(i, buffer);
                source.TryGetProof(i, proof, out var proofLength);
                if (await store.StorePieceAsync(i, buffer.AsMemory(0, length), proof.AsMemory(0, proofLength)))
                {
                    Interlocked.Increment(ref stored);
                }
            }
        })).ToArray();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[16400];
            while (!writers.All(w => w.IsCompleted))
            {
                for (var i = 0; i < n; i++)
                {
                    if (store.HasPiece(i))
                    {
                        await store.ReadSealedPieceAsync(i, buffer);
                    }
                }
            }
        });
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));
        await reader.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(n, stored);
        Assert.True(store.IsComplete);
        Assert.Equal(File.ReadAllBytes(dir.Combine("src", "big.bin")), File.ReadAllBytes(Path.Combine(target, "big.bin")));
    }

    [Fact]
    public async Task An_item_of_empty_files_has_no_pieces_and_completes_at_once()
    {
        using var dir = new TempDirectory();
        WriteFile(dir.Combine("src", "e", "a"), 0, 1);
        WriteFile(dir.Combine("src", "e", "b"), 0, 1);
        var item = await ItemSealer.SealAsync(ItemSource.FromFolder(dir.Combine("src", "e")));
        Assert.Equal(0, item.Info.PieceCount);
        Assert.All(item.Info.PiecesRoot.ToArray(), b => Assert.Equal(0, b));
        await using (var store = await DownloadStore.OpenAsync(dir.Combine("out"), ContentInfo.Parse(item.Info.Bytes, item.Id), item.Key))
        {
            Assert.True(store.IsComplete);
        }

        Assert.True(File.Exists(dir.Combine("out", "e", "a")) && File.Exists(dir.Combine("out", "e", "b")));
        await using var pin = await SealedStore.OpenAsync(dir.Combine("pin"), item.Info);
        Assert.True(pin.IsComplete);
    }

    [Fact]
    public async Task Files_and_folders_side_by_side_and_name_clashes()
    {
        using var dir = new TempDirectory();
        WriteFile(dir.Combine("src", "one.txt"), 10, 1);
        WriteFile(dir.Combine("src", "folder", "two.txt"), 20, 2);
        WriteFile(dir.Combine("other", "ONE.txt"), 10, 1);
        var source = ItemSource.FromPaths([dir.Combine("src", "one.txt"), dir.Combine("src", "folder")]);
        Assert.Equal(["folder/two.txt", "one.txt"], source.Manifest.Files.Select(f => f.Path));
        Assert.Equal("2 files", source.Name);
        var e = Assert.Throws<SharingException>(() => ItemSource.FromPaths([dir.Combine("src", "one.txt"), dir.Combine("other", "ONE.txt")]));
        Assert.Equal(SharingErrorCode.BadManifest, e.Code);
        Assert.Throws<FileNotFoundException>(() => ItemSource.FromFile(dir.Combine("missing")));
        var item = await ItemSealer.SealAsync(source);
        Assert.Equal(1, item.Info.PieceCount);
    }
}
