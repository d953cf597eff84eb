using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

public class SharingVectorTests
{
    private static string VectorsPath([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "vectors.json");

    [Fact]
    public void Vectors_file_matches_what_the_code_produces()
    {
        var generated = SharingVectors.Generate();
        var path = VectorsPath();
        if (Environment.GetEnvironmentVariable("PEERNET_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(path, generated, new UTF8Encoding(false));
        }

        Assert.True(File.Exists(path), "vectors.json is missing: run the tests once with PEERNET_WRITE_VECTORS=1");
        Assert.Equal(File.ReadAllText(path), generated);
    }

    [Fact]
    public void Vectors_check_out_from_their_own_fields()
    {
        // Reads the file as another implementation would and checks its values with the public API.
        using var doc = JsonDocument.Parse(File.ReadAllBytes(VectorsPath()));
        var items = doc.RootElement.GetProperty("items");
        Assert.True(items.GetArrayLength() >= 5);
        foreach (var item in items.EnumerateArray())
        {
            var key = ContentKey.FromBytes(Convert.FromHexString(item.GetProperty("key").GetString()!));
            Assert.Equal(key, ContentKey.Parse(item.GetProperty("keyB64u").GetString()!));
            var info = ContentInfo.Parse(Convert.FromHexString(item.GetProperty("info").GetString()!));
            Assert.Equal(item.GetProperty("cidB64u").GetString(), info.Id.ToString());
            Assert.Equal(item.GetProperty("pieceCount").GetInt32(), info.PieceCount);
            var manifest = info.OpenManifest(key);
            Assert.Equal(Convert.FromHexString(item.GetProperty("manifestJson").GetString()!), manifest.ToJson());
            var link = ShareLink.Parse(item.GetProperty("link").GetString()!);
            Assert.Equal(info.Id, link.ContentId);
            Assert.Equal(key, link.Key);
            Assert.True(ShareLink.Parse(item.GetProperty("pinLink").GetString()!).IsPinLink);
            var root = Convert.FromHexString(item.GetProperty("piecesRoot").GetString()!);
            Assert.Equal(root, info.PiecesRoot.ToArray());
            foreach (var piece in item.GetProperty("pieces").EnumerateArray())
            {
                var proof = piece.GetProperty("proof").EnumerateArray().SelectMany(h => Convert.FromHexString(h.GetString()!)).ToArray();
                Assert.True(MerkleTree.Verify(root, info.PieceCount, piece.GetProperty("index").GetInt32(),
                    Convert.FromHexString(piece.GetProperty("leafHash").GetString()!), proof));
            }
        }

        foreach (var c in doc.RootElement.GetProperty("manifestCases").EnumerateArray())
        {
            var json = Convert.FromHexString(c.GetProperty("json").GetString()!);
            var valid = c.GetProperty("valid").GetBoolean();
            if (valid)
            {
                Manifest.Parse(json);
            }
            else
            {
                var e = Assert.Throws<SharingException>(() => Manifest.Parse(json));
                Assert.Equal(SharingErrorCode.BadManifest, e.Code);
            }
        }
    }

    [Fact]
    public void Known_answers_do_not_depend_on_this_code()
    {
        // Independent checks of the derivations with raw BCL primitives, so a bug shared by the
        // generator and the library cannot hide in the vectors.
        var item = SharingVectors.Items[0];
        var key = SharingVectors.Key(item.KeySeed);
        var manifestKey = System.Security.Cryptography.HKDF.DeriveKey(System.Security.Cryptography.HashAlgorithmName.SHA256,
            key.Bytes.ToArray(), 32, salt: [], info: "peernet-sharing/1 manifest"u8.ToArray());
        var derived = new byte[32];
        key.DeriveManifestKey(derived);
        Assert.Equal(manifestKey, derived);

        var plain = "hello world"u8.ToArray().Select((_, n) => SharingVectors.PayloadByte(n)).ToArray();
        var pieceKey = System.Security.Cryptography.HKDF.DeriveKey(System.Security.Cryptography.HashAlgorithmName.SHA256,
            key.Bytes.ToArray(), 32, salt: [], info: "peernet-sharing/1 piece"u8.ToArray());
        using var aes = new System.Security.Cryptography.AesGcm(pieceKey, 16);
        var cipher = new byte[plain.Length];
        var tag = new byte[16];
        aes.Encrypt(new byte[12], plain, cipher, tag);
        var leaf = System.Security.Cryptography.SHA256.HashData([0, .. cipher, .. tag]);

        using var sealer = new PieceSealer(key);
        var sealedPiece = new byte[plain.Length + 16];
        sealer.SealPiece(0, plain, sealedPiece);
        Assert.Equal([.. cipher, .. tag], sealedPiece);
        var ourLeaf = new byte[32];
        MerkleTree.LeafHash(sealedPiece, ourLeaf);
        Assert.Equal(leaf, ourLeaf);
    }
}
