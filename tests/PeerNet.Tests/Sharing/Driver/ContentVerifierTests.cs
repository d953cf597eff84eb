using PeerNet.Sharing;
using PeerNet.Sharing.Driver;

namespace PeerNet.Tests.Sharing.Driver;

public sealed class ContentVerifierTests
{
    private static readonly TestItem Item = TestItem.Create(TestItem.Files("item", ("a.bin", 40_000), ("b.bin", 30_001)), pieceSizeLog2: 14);

    [Fact]
    public void Pieces_verify_against_the_root_and_their_proofs_are_kept_until_taken()
    {
        var verifier = new ContentPieceVerifier(Item.Info);
        Assert.Equal(5, verifier.PieceCount);
        Assert.Equal(16_384 + 16, verifier.GetSealedPieceLength(0));
        Assert.Equal(70_001 - (4 * 16_384) + 16, verifier.GetSealedPieceLength(4));
        for (var i = 0; i < verifier.PieceCount; i++)
        {
            Assert.True(verifier.VerifyPiece(i, Item.SealedPieces[i], Item.Proof(i)));
        }

        Assert.Equal(5, verifier.KeptProofCount);
        Assert.True(verifier.TryTakeProof(3, out var proof));
        Assert.Equal(Item.Proof(3), proof);
        Assert.False(verifier.TryTakeProof(3, out _));
        verifier.Forget(2);
        Assert.Equal(3, verifier.KeptProofCount);
    }

    [Fact]
    public void A_copy_of_a_piece_already_stored_verifies_but_keeps_no_proof()
    {
        var stored = new HashSet<int> { 1 };
        var verifier = new ContentPieceVerifier(Item.Info) { IsStored = stored.Contains };
        Assert.True(verifier.VerifyPiece(1, Item.SealedPieces[1], Item.Proof(1)));
        Assert.Equal(0, verifier.KeptProofCount);
        Assert.True(verifier.VerifyPiece(2, Item.SealedPieces[2], Item.Proof(2)));
        Assert.Equal(1, verifier.KeptProofCount);
    }

    [Fact]
    public void Wrong_pieces_proofs_and_indices_fail_and_keep_nothing()
    {
        var verifier = new ContentPieceVerifier(Item.Info);
        var flipped = (byte[])Item.SealedPieces[1].Clone();
        flipped[100] ^= 1;
        Assert.False(verifier.VerifyPiece(1, flipped, Item.Proof(1)));
        Assert.False(verifier.VerifyPiece(2, Item.SealedPieces[1], Item.Proof(1))); // right bytes, wrong index
        Assert.False(verifier.VerifyPiece(1, Item.SealedPieces[1], Item.Proof(2)));
        Assert.False(verifier.VerifyPiece(1, Item.SealedPieces[1], Item.Proof(1)[..32]));
        Assert.False(verifier.VerifyPiece(1, Item.SealedPieces[1][..^1], Item.Proof(1)));
        Assert.False(verifier.VerifyPiece(-1, Item.SealedPieces[1], Item.Proof(1)));
        Assert.False(verifier.VerifyPiece(5, Item.SealedPieces[1], Item.Proof(1)));
        Assert.Equal(0, verifier.KeptProofCount);
    }

    [Fact]
    public void An_info_block_is_accepted_only_for_its_own_content_id()
    {
        var verifier = new ContentInfoVerifier();
        var id = Item.Info.Id.ToArray();
        Assert.True(verifier.TryAccept(id, Item.Info.Bytes, out var pieces));
        Assert.Same(verifier.Accepted, pieces);
        Assert.Equal(Item.Info.PieceCount, pieces.PieceCount);

        var other = TestItem.Create(TestItem.Files("other", ("c", 10)));
        var fresh = new ContentInfoVerifier();
        Assert.False(fresh.TryAccept(id, other.Info.Bytes, out _));
        Assert.False(fresh.TryAccept(id, Item.Info.Bytes[..^1], out _));
        Assert.False(fresh.TryAccept(id[..31], Item.Info.Bytes, out _));
        var tampered = Item.Info.Bytes.ToArray();
        tampered[^1] ^= 1; // the sealed manifest is part of the CID
        Assert.False(fresh.TryAccept(id, tampered, out _));
        Assert.Null(fresh.Accepted);
    }

    [Fact]
    public void Random_info_blocks_are_refused_without_throwing()
    {
        var random = new Random(7);
        var verifier = new ContentInfoVerifier();
        var id = Item.Info.Id.ToArray();
        for (var i = 0; i < 2000; i++)
        {
            var block = Item.Info.Bytes.ToArray();
            var mutations = random.Next(1, 4);
            for (var m = 0; m < mutations; m++)
            {
                block[random.Next(block.Length)] ^= (byte)random.Next(1, 256);
            }

            var length = random.Next(4) == 0 ? random.Next(block.Length) : block.Length;
            Assert.False(verifier.TryAccept(id, block.AsSpan(0, length), out _));
        }
    }
}
