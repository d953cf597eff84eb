using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

/// <summary>
/// Builds tests/PeerNet.Tests/Sharing/vectors.json: small items sealed under fixed keys, with every
/// intermediate value of docs/sharing.md §1–3, the contract the browser implementation is tested against.
/// </summary>
internal static class SharingVectors
{
    public const string Hub = "peernet.example";

    public sealed record Item(string Name, string Description, int PieceSizeLog2, string ItemName, (string Path, long Size, string? Type, long? Mtime)[] Files, int KeySeed);

    public static readonly Item[] Items =
    [
        new("one-piece", "one small file, one piece: the pieces root is the leaf hash", 14, "hello.txt",
            [("hello.txt", 11, "text/plain", 1763950000000)], 1),
        new("empty-file", "one empty file: no pieces, the pieces root is 32 zero bytes", 14, "empty.txt",
            [("empty.txt", 0, null, null)], 2),
        new("exact-multiple", "a payload of exactly 2 pieces of 16 KiB: the last piece is full", 14, "two.bin",
            [("two.bin", 32768, "application/octet-stream", null)], 3),
        new("three-pieces", "16 KiB pieces (the minimum), 3 pieces, the last one short (carried-up odd node)", 14, "three.bin",
            [("three.bin", 40000, null, 1700000000123)], 4),
        new("folder-five-pieces", "a folder of 4 files incl. an empty one and non-ASCII names; pieces span file boundaries; 5 pieces: odd levels 5 -> 3 -> 2 -> 1", 14, "album",
            [("album/a.bin", 20000, null, 1600000000000), ("album/empty.txt", 0, "text/plain", null),
             ("album/sub/b é.bin", 30000, null, null), ("album/sub/c.txt", 25000, "text/plain", 1763950000001)], 5),
        new("seven-pieces-256k", "the default 256 KiB pieces, 7 pieces: odd levels 7 -> 4 -> 2 -> 1", 18, "seven.bin",
            [("seven.bin", 6L * 262144 + 1000, null, null)], 6),
    ];

    /// <summary>The payload byte at offset n: (n * 7 + 3) mod 251, over the whole payload.</summary>
    public static byte PayloadByte(long n) => (byte)((n * 7 + 3) % 251);

    public static ContentKey Key(int seed) => ContentKey.FromBytes(Enumerable.Range(0, 32).Select(i => (byte)(seed * 0x20 + i)).ToArray());

    public static string Generate()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("description", "PeerNet sharing protocol v1 test vectors (docs/sharing.md). Binary values are lowercase hex unless named *B64u. " +
                "Each item: the content key, the manifest JSON exactly as sealed, the derived keys, the sealed manifest, the info block, " +
                "every piece (its plaintext is payload bytes (n*7+3) mod 251 at payload offset n), its nonce, the leaf hash of its sealed form, " +
                "the pieces root, the CID, the link and the proof of every piece (sibling hashes from the leaf level up). " +
                "Regenerated and compared by tests/PeerNet.Tests/Sharing/SharingVectorTests.cs.");
            w.WriteString("payloadByte", "payload[n] = (n * 7 + 3) mod 251");
            w.WriteString("hub", Hub);
            w.WriteStartArray("items");
            foreach (var item in Items)
            {
                WriteItem(w, item);
            }

            w.WriteEndArray();
            WriteManifestCases(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static void WriteItem(Utf8JsonWriter w, Item item)
    {
        var key = Key(item.KeySeed);
        var manifest = new Manifest(item.ItemName, item.Files.Select(f => new ManifestFile(f.Path, f.Size, f.Type, f.Mtime)));
        var json = manifest.ToJson();
        var layout = new PieceLayout(item.PieceSizeLog2, manifest.PayloadLength);
        using var sealer = new PieceSealer(key);
        var sealedManifest = new byte[json.Length + 16];
        sealer.SealManifest(json, sealedManifest);
        var leaves = new byte[layout.PieceCount * 32];
        var sealedPieces = new List<byte[]>();
        for (var i = 0; i < layout.PieceCount; i++)
        {
            var plain = new byte[layout.PieceLength(i)];
            var start = layout.PieceOffset(i);
            for (var j = 0; j < plain.Length; j++)
            {
                plain[j] = PayloadByte(start + j);
            }

            var sealedPiece = new byte[plain.Length + 16];
            sealer.SealPiece(i, plain, sealedPiece);
            MerkleTree.LeafHash(sealedPiece, leaves.AsSpan(i * 32, 32));
            sealedPieces.Add(sealedPiece);
        }

        var root = new byte[32];
        MerkleTree.ComputeRoot(leaves, root);
        var info = ContentInfo.Create(layout, root, sealedManifest);
        var tree = MerkleTree.FromLeafHashes(leaves);

        w.WriteStartObject();
        w.WriteString("name", item.Name);
        w.WriteString("description", item.Description);
        w.WriteString("key", Convert.ToHexStringLower(key.Bytes));
        w.WriteString("keyB64u", key.ToBase64Url());
        var derived = new byte[32];
        key.DeriveManifestKey(derived);
        w.WriteString("manifestKey", Convert.ToHexStringLower(derived));
        key.DerivePieceKey(derived);
        w.WriteString("pieceKey", Convert.ToHexStringLower(derived));
        w.WriteString("manifestJsonText", Encoding.UTF8.GetString(json));
        w.WriteString("manifestJson", Convert.ToHexStringLower(json));
        w.WriteString("manifestNonce", "000000000000000000000000");
        w.WriteString("sealedManifest", Convert.ToHexStringLower(sealedManifest));
        w.WriteNumber("pieceSizeLog2", layout.PieceSizeLog2);
        w.WriteNumber("pieceSize", layout.PieceSize);
        w.WriteNumber("payloadLength", layout.PayloadLength);
        w.WriteNumber("pieceCount", layout.PieceCount);
        w.WriteString("payloadSha256", Convert.ToHexStringLower(SHA256.HashData(Payload(layout.PayloadLength))));
        w.WriteStartArray("pieces");
        for (var i = 0; i < layout.PieceCount; i++)
        {
            var sealedPiece = sealedPieces[i];
            var nonce = new byte[12];
            PieceSealer.PieceNonce(i, nonce);
            w.WriteStartObject();
            w.WriteNumber("index", i);
            w.WriteNumber("offset", layout.PieceOffset(i));
            w.WriteNumber("length", layout.PieceLength(i));
            w.WriteString("nonce", Convert.ToHexStringLower(nonce));
            w.WriteNumber("sealedLength", sealedPiece.Length);
            w.WriteString("sealedPieceSha256", Convert.ToHexStringLower(SHA256.HashData(sealedPiece)));
            w.WriteString("sealedHead", Convert.ToHexStringLower(sealedPiece.AsSpan(0, Math.Min(32, sealedPiece.Length - 16))));
            w.WriteString("tag", Convert.ToHexStringLower(sealedPiece.AsSpan(sealedPiece.Length - 16)));
            w.WriteString("leafHash", Convert.ToHexStringLower(leaves.AsSpan(i * 32, 32)));
            var proof = new byte[MerkleTree.MaxProofHashes * 32];
            Assert.True(tree.TryGetProof(i, proof, out var proofLength));
            w.WriteStartArray("proof");
            for (var p = 0; p < proofLength; p += 32)
            {
                w.WriteStringValue(Convert.ToHexStringLower(proof.AsSpan(p, 32)));
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("piecesRoot", Convert.ToHexStringLower(root));
        w.WriteString("info", Convert.ToHexStringLower(info.Bytes));
        var manifestLeaf = new byte[32];
        var leafInput = new byte[1 + 20 + sealedManifest.Length];
        info.Bytes[..20].CopyTo(leafInput.AsSpan(1));
        sealedManifest.CopyTo(leafInput.AsSpan(21));
        SHA256.HashData(leafInput, manifestLeaf);
        w.WriteString("manifestLeaf", Convert.ToHexStringLower(manifestLeaf));
        w.WriteString("cid", Convert.ToHexStringLower(info.Id.ToArray()));
        w.WriteString("cidB64u", info.Id.ToString());
        w.WriteString("link", new ShareLink(Hub, info.Id, key).ToString());
        w.WriteString("pinLink", new ShareLink(Hub, info.Id).ToString());
        w.WriteEndObject();
    }

    public static byte[] Payload(long length)
    {
        var bytes = new byte[length];
        for (var n = 0; n < length; n++)
        {
            bytes[n] = PayloadByte(n);
        }

        return bytes;
    }

    // 255 + 255 + 255 + 254 bytes, 3 slashes, then "/a": 1,024 bytes.
    private static readonly string Path1024 = string.Join('/', new string('a', 255), new string('a', 255), new string('a', 255), new string('a', 254)) + "/a";

    /// <summary>Manifests every implementation must accept or reject (the reason is informative).</summary>
    public static readonly (string Json, bool Valid, string Why)[] ManifestCases =
    [
        ("""{"v":1,"name":"x","files":[{"path":"a","size":0}]}""", true, "minimal"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":1,"future":{"x":[1,2]}}],"extra":true}""", true, "unknown fields are ignored"),
        ("""{"v":1,"name":"x","files":[{"path":"d/a","size":1},{"path":"d/b","size":2}]}""", true, "two files in a folder"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":9007199254740991}]}""", true, "size 2^53-1"),
        ("""{"v":2,"name":"x","files":[{"path":"a","size":0}]}""", false, "v is not 1"),
        ("""{"name":"x","files":[{"path":"a","size":0}]}""", false, "no v"),
        ("""{"v":1,"files":[{"path":"a","size":0}]}""", false, "no name"),
        ("""{"v":1,"name":"x","files":[]}""", false, "no files"),
        ("""{"v":1,"name":"x","files":[{"path":"a"}]}""", false, "no size"),
        ("""{"v":1,"name":"x","files":[{"size":1}]}""", false, "no path"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":-1}]}""", false, "negative size"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":1.5}]}""", false, "fractional size"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":9007199254740992}]}""", false, "size 2^53"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":"1"}]}""", false, "size is a string"),
        ("""{"v":1,"name":"x","files":[{"path":"/a","size":1}]}""", false, "absolute path"),
        ("""{"v":1,"name":"x","files":[{"path":"a/../b","size":1}]}""", false, ".. segment"),
        ("""{"v":1,"name":"x","files":[{"path":"./a","size":1}]}""", false, ". segment"),
        ("""{"v":1,"name":"x","files":[{"path":"..","size":1}]}""", false, ".. path"),
        ("""{"v":1,"name":"x","files":[{"path":"a//b","size":1}]}""", false, "empty segment"),
        ("""{"v":1,"name":"x","files":[{"path":"a/","size":1}]}""", false, "trailing /"),
        ("""{"v":1,"name":"x","files":[{"path":"a\\b","size":1}]}""", false, "backslash"),
        ("""{"v":1,"name":"x","files":[{"path":"a\u0000b","size":1}]}""", false, "NUL"),
        ("""{"v":1,"name":"x","files":[{"path":"a\nb","size":1}]}""", false, "control character"),
        ("""{"v":1,"name":"x","files":[{"path":"a\u007fb","size":1}]}""", false, "DEL"),
        ("""{"v":1,"name":"x","files":[{"path":"","size":1}]}""", false, "empty path"),
        ("""{"v":1,"name":"x","files":[{"path":"A.txt","size":1},{"path":"a.TXT","size":1}]}""", false, "duplicate, case-insensitively"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":1},{"path":"a/b","size":1}]}""", false, "a file that is also a folder"),
        ("{\"v\":1,\"name\":\"x\",\"files\":[{\"path\":\"" + new string('a', 256) + "\",\"size\":1}]}", false, "a 256-byte segment"),
        ("{\"v\":1,\"name\":\"x\",\"files\":[{\"path\":\"" + string.Join('/', Enumerable.Repeat(new string('a', 200), 6)) + "\",\"size\":1}]}", false, "a path of 1,205 bytes"),
        ("{\"v\":1,\"name\":\"x\",\"files\":[{\"path\":\"" + Path1024 + "\",\"size\":1}]}", true, "a path of 1,024 bytes"),
        ("{\"v\":1,\"name\":\"x\",\"files\":[{\"path\":\"" + Path1024 + "b\",\"size\":1}]}", false, "a path of 1,025 bytes"),
        ("{\"v\":1,\"name\":\"x\",\"files\":[{\"path\":\"" + new string('é', 127) + "\",\"size\":1}]}", true, "a segment of 254 UTF-8 bytes"),
        ("{\"v\":1,\"name\":\"x\",\"files\":[{\"path\":\"" + new string('é', 128) + "\",\"size\":1}]}", false, "a segment of 256 UTF-8 bytes"),
        ("""{"v":1,"name":"x","files":[{"path":"/a","size":1,"path":"a"}]}""", true, "a field twice: the last one counts (as JSON.parse reads it)"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":1,"path":"/a"}]}""", false, "a field twice: the last one counts, here an absolute path"),
        ("""{"v":1,"name":"a\u001bb","files":[{"path":"a","size":1}]}""", false, "a control character in the name (PeerNet rule: names are shown in terminals)"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":1,"type":null}]}""", false, "type is null, not a string"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":1,"mtime":-1000}]}""", true, "an mtime before 1970"),
        ("""{"v":1,"name":"x","files":[{"path":"\ud800","size":1}]}""", false, "a lone surrogate"),
        ("{\"v\":1,\"name\":\"x\",\"files\":[{\"path\":\"a\",\"size\":1,\"type\":\"" + new string('t', 256) + "\"}]}", false, "a type of 256 characters"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":1}]} x""", false, "text after the object"),
        ("""[1]""", false, "not an object"),
        ("""{"v":1,"name":"x","files":[{"path":"a","size":1}],}""", false, "trailing comma"),
    ];

    private static void WriteManifestCases(Utf8JsonWriter w)
    {
        w.WriteStartArray("manifestCases");
        foreach (var (json, valid, why) in ManifestCases)
        {
            w.WriteStartObject();
            w.WriteString("json", Convert.ToHexStringLower(Encoding.UTF8.GetBytes(json)));
            w.WriteBoolean("valid", valid);
            w.WriteString("why", why);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
