using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// A real swarm between Chromium pages through the hub room <c>share/CID</c> over
/// <c>peernet-share/1</c> data channels: one page seeds files picked with a file input, two
/// download them into OPFS.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SwarmBrowserTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    private Task<IPage> PageAsync(string who) =>
        OpenAsync(who, new Uri(Hub.Url, SharingPage.BlankPath).ToString(), p => SharingPage.RouteAsync(p, Hub.Url));

    [Fact(Timeout = 180_000)]
    public async Task Two_downloaders_get_byte_exact_files_and_one_serves_the_other()
    {
        var big = Files.Random("swarm-12MiB.bin", 12L << 20, seed: 21);
        var png = Files.Png("swarm.png", 64, 48);
        var empty = Path.Combine(Files.Root, "empty.txt");
        File.WriteAllBytes(empty, []);

        var seeder = await PageAsync("seeder");
        await seeder.Locator("#files").SetInputFilesAsync([big, png, empty]);
        // One upload slot: while the seeder serves one downloader, the other can only be served by it.
        var link = await SharingPage.CallAsync(seeder, "seed", "#files", new { uploadSlots = 1 });
        Output.WriteLine($"link: {link}");
        Assert.Matches("^http://127\\.0\\.0\\.1:\\d+/#/get/[A-Za-z0-9_-]{43}#k=[A-Za-z0-9_-]{43}$", link.GetString());

        var first = await PageAsync("downloader-1");
        var second = await PageAsync("downloader-2");
        var results = await Task.WhenAll(
            SharingPage.CallAsync(first, "download", link.GetString(), 120_000),
            SharingPage.CallAsync(second, "download", link.GetString(), 120_000));

        var expected = new[] { big, png, empty };
        long uploadedByDownloaders = 0;
        foreach (var r in results)
        {
            Output.WriteLine(r.ToString());
            var files = r.GetProperty("files").EnumerateArray().ToList();
            Assert.Equal(3, files.Count);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(Path.GetFileName(expected[i]), files[i].GetProperty("path").GetString());
                Assert.Equal(new FileInfo(expected[i]).Length, files[i].GetProperty("size").GetInt64());
                Assert.Equal(TestFiles.Sha256Hex(expected[i]), files[i].GetProperty("sha256").GetString());
            }
        }

        // Counted once both are done: the one that finished first may serve the other only after
        // its own download (it had everything from the seeder), which its result, taken when it
        // finished, cannot show.
        foreach (var (name, page) in new[] { ("downloader-1", first), ("downloader-2", second) })
        {
            var stats = await SharingPage.CallAsync(page, "swarmStats");
            Output.WriteLine($"{name}: {stats}");
            uploadedByDownloaders += stats.GetProperty("bytesUp").GetInt64();
        }
        var seederStats = await SharingPage.CallAsync(seeder, "swarmStats");
        Output.WriteLine($"seeder: {seederStats}");
        Assert.True(uploadedByDownloaders > 1L << 20, $"the downloaders served each other only {uploadedByDownloaders} bytes");
    }
}
