using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

public class PieceSealerTests
{
    [Fact]
    public void Seal_and_open_round_trip_and_are_bound_to_index_and_key()
    {
        var key = ContentKey.Generate();
        using var sealer = new PieceSealer(key);
        var plain = new byte[16384];
        new Random(1).NextBytes(plain);
        var sealedPiece = new byte[plain.Length + 16];
        Assert.Equal(plain.Length + 16, sealer.SealPiece(5, plain, sealedPiece));
        var opened = new byte[plain.Length];
        Assert.Equal(plain.Length, sealer.OpenPiece(5, sealedPiece, opened));
        Assert.Equal(plain, opened);

        Assert.False(sealer.TryOpenPiece(6, sealedPiece, opened, out _));
        Assert.False(sealer.TryOpenPiece(-1, sealedPiece, opened, out _));
        Assert.False(sealer.TryOpenPiece(5, sealedPiece.AsSpan(0, 15), opened, out _));
        Assert.Equal(SharingErrorCode.CorruptPiece, Assert.Throws<SharingException>(() => sealer.OpenPiece(6, sealedPiece, opened)).Code);
        using var other = new PieceSealer(ContentKey.Generate());
        Assert.False(other.TryOpenPiece(5, sealedPiece, opened, out _));
        sealedPiece[100] ^= 1;
        Assert.False(sealer.TryOpenPiece(5, sealedPiece, opened, out _));

        // The same piece sealed twice gives the same bytes (derived nonces): a seeder can seal again on demand.
        var a = new byte[plain.Length + 16];
        var b = new byte[plain.Length + 16];
        sealer.SealPiece(1, plain, a);
        sealer.SealPiece(1, plain, b);
        Assert.Equal(a, b);
        sealer.SealPiece(2, plain, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Manifest_and_piece_zero_use_different_keys()
    {
        var key = ContentKey.Generate();
        using var sealer = new PieceSealer(key);
        var plain = "{\"v\":1}"u8.ToArray();
        var asManifest = new byte[plain.Length + 16];
        var asPiece = new byte[plain.Length + 16];
        sealer.SealManifest(plain, asManifest);
        sealer.SealPiece(0, plain, asPiece); // nonce 0 too: only the key differs
        Assert.NotEqual(asManifest, asPiece);
        var opened = new byte[plain.Length];
        Assert.False(sealer.TryOpenManifest(asPiece, opened, out _));
        Assert.Equal(plain.Length, sealer.OpenManifest(asManifest, opened));
        using var wrong = new PieceSealer(ContentKey.Generate());
        Assert.Equal(SharingErrorCode.WrongKey, Assert.Throws<SharingException>(() => wrong.OpenManifest(asManifest, opened)).Code);
    }

    [Fact]
    public void Piece_nonce_layout()
    {
        var nonce = new byte[12];
        PieceSealer.PieceNonce(0x0102030405060708, nonce);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 }, nonce);
    }
}
