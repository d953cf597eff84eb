using System.Text;
using PeerNet.Sharing;

namespace PeerNet.Tests.Sharing;

public class ManifestTests
{
    [Fact]
    public void Round_trips_through_json()
    {
        var manifest = new Manifest("holiday", [
            new ManifestFile("holiday/beach.jpg", 2481152, "image/jpeg", 1763950000000),
            new ManifestFile("holiday/notes.txt", 87, "text/plain"),
            new ManifestFile("holiday/ünï/😀.txt", 0),
        ]);
        var json = manifest.ToJson();
        var again = Manifest.Parse(json);
        Assert.Equal("holiday", again.Name);
        Assert.Equal(manifest.Files, again.Files);
        Assert.Equal(2481152 + 87, again.PayloadLength);
        Assert.Equal([0L, 2481152, 2481152 + 87, 2481152 + 87], again.FileOffsets.ToArray());
        Assert.Equal(json, again.ToJson());
        Assert.Contains("ünï", Encoding.UTF8.GetString(json)); // non-ASCII stays readable (astral characters are \u-escaped)
        Assert.False(ManifestPath.IsValid("\ud800x"));         // a lone surrogate has no UTF-8 form
        Assert.False(ManifestPath.IsValid("x\udc00"));
        Assert.True(ManifestPath.IsValid("\ud83d\ude00"));
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\Windows\\x")]
    [InlineData("a\\..\\b")]
    [InlineData("a/./b")]
    [InlineData(".")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("")]
    [InlineData("a\u0000b")]
    [InlineData("a\u001bb")]
    [InlineData("a\u0085b")]
    public void Path_attacks_are_bad_manifests(string path)
    {
        Assert.False(ManifestPath.IsValid(path));
        var e = Assert.Throws<SharingException>(() => new Manifest("x", [new ManifestFile(path, 1)]));
        Assert.Equal(SharingErrorCode.BadManifest, e.Code);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("..a")]
    [InlineData("a..")]
    [InlineData(".hidden/x")]
    [InlineData("C:x")]
    [InlineData("white space/ok")]
    public void Odd_but_valid_paths(string path) => Assert.True(ManifestPath.IsValid(path), path);

    [Fact]
    public void Duplicates_and_file_folder_clashes_are_found_case_insensitively()
    {
        Assert.Throws<SharingException>(() => TestItem.Files("x", ("a/B.txt", 1), ("A/b.TXT", 2)));
        Assert.Throws<SharingException>(() => TestItem.Files("x", ("Ärger", 1), ("ärger", 2)));
        Assert.Throws<SharingException>(() => TestItem.Files("x", ("a", 1), ("A/b", 2)));
        Assert.Throws<SharingException>(() => TestItem.Files("x", ("d/e/f", 1), ("D/E", 2)));
        TestItem.Files("x", ("a/b", 1), ("a/c", 2), ("ab", 3));
    }

    [Fact]
    public void Limits()
    {
        var many = Enumerable.Range(0, Manifest.MaxFiles).Select(i => new ManifestFile($"f{i}", 1)).ToList();
        Assert.Equal(Manifest.MaxFiles, Manifest.Parse(new Manifest("x", many).ToJson()).Files.Count);
        many.Add(new ManifestFile("one-more", 1));
        Assert.Equal(SharingErrorCode.BadManifest, Assert.Throws<SharingException>(() => new Manifest("x", many)).Code);
        var tooManyJson = "{\"v\":1,\"name\":\"x\",\"files\":[" + string.Join(',', Enumerable.Range(0, Manifest.MaxFiles + 1).Select(i => $"{{\"path\":\"f{i}\",\"size\":1}}")) + "]}";
        Assert.Equal(SharingErrorCode.BadManifest, Assert.Throws<SharingException>(() => Manifest.Parse(Encoding.UTF8.GetBytes(tooManyJson))).Code);

        var big = new byte[Manifest.MaxJsonLength + 1];
        Assert.Equal(SharingErrorCode.BadManifest, Assert.Throws<SharingException>(() => Manifest.Parse(big)).Code);

        // 100,000 files of long paths do not fit in 4 MiB: ToJson says so.
        var longPaths = new Manifest("x", Enumerable.Range(0, 20_000).Select(i => new ManifestFile($"{i}/" + new string('p', 250), 1)));
        Assert.Equal(SharingErrorCode.TooLarge, Assert.Throws<SharingException>(() => longPaths.ToJson()).Code);

        // The sizes may not add up past 2^53-1.
        Assert.Throws<SharingException>(() => TestItem.Files("x", ("a", Manifest.MaxFileSize), ("b", 1)));
    }

    [Fact]
    public void Deep_nesting_and_garbage_are_bad_manifests_not_crashes()
    {
        var deep = "{\"v\":1,\"name\":\"x\",\"x\":" + new string('[', 10_000) + new string(']', 10_000) + ",\"files\":[{\"path\":\"a\",\"size\":1}]}";
        Assert.Equal(SharingErrorCode.BadManifest, Assert.Throws<SharingException>(() => Manifest.Parse(Encoding.UTF8.GetBytes(deep))).Code);
        foreach (var text in new[] { "", "null", "{", "\"x\"", "{\"v\":1}", "\ufeff{}", "{\"v\":1,\"name\":\"x\",\"files\":{}}" })
        {
            Assert.Equal(SharingErrorCode.BadManifest, Assert.Throws<SharingException>(() => Manifest.Parse(Encoding.UTF8.GetBytes(text))).Code);
        }

        Assert.Equal(SharingErrorCode.BadManifest, Assert.Throws<SharingException>(() => Manifest.Parse([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])).Code);
    }

    [Fact]
    public void Random_mutations_give_a_manifest_or_bad_manifest_only()
    {
        var json = new Manifest("holiday", [
            new ManifestFile("holiday/beach.jpg", 2481152, "image/jpeg", 1763950000000),
            new ManifestFile("holiday/notes.txt", 87, "text/plain"),
        ]).ToJson();
        var random = new Random(12345);
        var parsed = 0;
        for (var round = 0; round < 20_000; round++)
        {
            var bytes = (byte[])json.Clone();
            var edits = random.Next(1, 4);
            for (var e = 0; e < edits; e++)
            {
                switch (random.Next(4))
                {
                    case 0: bytes[random.Next(bytes.Length)] = (byte)random.Next(256); break;
                    case 1: bytes[random.Next(bytes.Length)] = (byte)"{}[]\",:0-.e\\/ \u0000"[random.Next(15)]; break;
                    case 2: bytes = bytes[..random.Next(bytes.Length)]; break;
                    default:
                        var at = random.Next(bytes.Length);
                        bytes = [.. bytes[..at], .. bytes[at..(at + random.Next(bytes.Length - at))], .. bytes[at..]];
                        break;
                }

                if (bytes.Length == 0) break;
            }

            try
            {
                var manifest = Manifest.Parse(bytes);
                Assert.All(manifest.Files, f => Assert.True(ManifestPath.IsValid(f.Path)));
                parsed++;
            }
            catch (SharingException e)
            {
                Assert.Equal(SharingErrorCode.BadManifest, e.Code);
            }
        }

        Assert.True(parsed > 0);
    }
}
