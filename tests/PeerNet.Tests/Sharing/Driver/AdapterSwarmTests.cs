using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using PeerNet.Sharing.Swarm;

namespace PeerNet.Tests.Sharing.Driver;

/// <summary>
/// What <see cref="ShareSwarm"/> does with the content adapters, without sockets: two schedulers
/// wired back to back, a pin (<see cref="SealedStore"/>) serving, a downloader that knows only the
/// CID fetching the info block through <see cref="ContentInfoVerifier"/> and storing each verified
/// piece, with the proof its <see cref="ContentPieceVerifier"/> kept, into a <see cref="DownloadStore"/>.
/// </summary>
public sealed class AdapterSwarmTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_download_that_knows_only_the_cid_ends_byte_exact()
    {
        using var temp = new TempDirectory();
        var item = TestItem.Create(TestItem.Files("item", ("folder/a.bin", 70_000), ("folder/b.bin", 1), ("c.bin", 33_000)), pieceSizeLog2: 14, seed: 5);
        await using var pin = await SealedStore.OpenAsync(temp.Combine("pin"), item.Info);
        for (var i = 0; i < item.Info.PieceCount; i++)
        {
            Assert.True(await pin.StorePieceAsync(i, item.SealedPieces[i], item.Proof(i)));
        }

        var id = item.Info.Id.ToArray();
        var seeder = new SwarmScheduler(id, random: new Random(1));
        var pinBits = new PieceBitfield(item.Info.PieceCount);
        var bytes = new byte[PieceBitfield.ByteLength(item.Info.PieceCount)];
        pin.CopyBitfield(bytes);
        pinBits.Load(bytes);
        seeder.SetInfo(item.Info.Memory, new ContentPieceVerifier(item.Info), pinBits, now: 0);

        var infoVerifier = new ContentInfoVerifier();
        var downloader = new SwarmScheduler(id, infoVerifier: infoVerifier, random: new Random(2));
        seeder.AddPeer("d", 0);
        downloader.AddPeer("s", 0);
        DownloadStore? store = null;
        var buffer = new byte[65_536];
        var completed = false;
        for (var round = 0; round < 10_000 && !completed; round++)
        {
            var moved = false;
            int n;
            while ((n = seeder.PollTransmit("d", buffer, round)) > 0)
            {
                downloader.HandleMessage("s", buffer.AsSpan(0, n), round);
                moved = true;
            }

            while ((n = downloader.PollTransmit("s", buffer, round)) > 0)
            {
                seeder.HandleMessage("d", buffer.AsSpan(0, n), round);
                moved = true;
            }

            while (seeder.TryPollEvent(out var e))
            {
                if (e.Kind == SwarmEventKind.PieceNeeded)
                {
                    var sealedPiece = new byte[item.Info.Layout.SealedPieceLength(e.Piece)];
                    await pin.ReadSealedPieceAsync(e.Piece, sealedPiece);
                    var proof = new byte[18 * 32];
                    Assert.True(pin.TryGetProof(e.Piece, proof, out var proofLength));
                    seeder.ProvidePiece(e.PeerId!, e.Piece, sealedPiece, proof.AsSpan(0, proofLength));
                    moved = true;
                }
            }

            while (downloader.TryPollEvent(out var e))
            {
                switch (e.Kind)
                {
                    case SwarmEventKind.InfoVerified:
                        Assert.NotNull(infoVerifier.Accepted);
                        store = await DownloadStore.OpenAsync(temp.Combine("download"), infoVerifier.Accepted!.Info, item.Key);
                        break;
                    case SwarmEventKind.PieceVerified:
                        Assert.True(infoVerifier.Accepted!.TryTakeProof(e.Piece, out var kept));
                        Assert.True(await store!.StorePieceAsync(e.Piece, e.Data.AsMemory(0, e.Length), kept));
                        e.ReturnData();
                        downloader.MarkPieceStored(e.Piece, round);
                        break;
                    case SwarmEventKind.Completed:
                        completed = true;
                        break;
                    case SwarmEventKind.PeerReported:
                        Assert.Fail(e.ToString());
                        break;
                }

                moved = true;
            }

            if (!moved && round > 10)
            {
                break;
            }
        }

        Assert.True(completed, "the download did not complete");
        Assert.NotNull(store);
        await using (store)
        {
            Assert.True(store.IsComplete);
            Assert.Equal(0, infoVerifier.Accepted!.KeptProofCount);
            var a = await File.ReadAllBytesAsync(temp.Combine("download", "folder", "a.bin"));
            var b = await File.ReadAllBytesAsync(temp.Combine("download", "folder", "b.bin"));
            var c = await File.ReadAllBytesAsync(temp.Combine("download", "c.bin"));
            Assert.Equal(item.Payload, a.Concat(b).Concat(c).ToArray());
        }
    }
}
