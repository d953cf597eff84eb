using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// The web app's share and get pages on sharing protocol v1: a swarm of pages through the hub,
/// every downloader serving the next, resume after a reload, links without a usable key, folders.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class SharingWebAppTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    [GeneratedRegex("#k=([A-Za-z0-9_-]{43})$")]
    private static partial Regex KeyPattern();

    private static async Task<int> OverallPercentAsync(IPage page)
    {
        var text = (await page.GetByTestId("overall-percent").TextContentAsync())?.Trim() ?? "";
        return int.TryParse(text.TrimEnd('%'), out var p) ? p : -1;
    }

    [Fact(Timeout = 180_000)]
    public async Task Downloaders_get_from_every_peer_and_serve_the_next_one_after_the_sender_left()
    {
        var big = Files.Random("swarm-24MiB.bin", 24L << 20, seed: 31);
        var png = Files.Png("swarm.png", 120, 80);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big, png);
        var key = KeyPattern().Match(link).Groups[1].Value;

        var first = await OpenAsync("receiver-1", link);
        await WebApp.WaitVerifiedAsync(first, 0, TransferTimeout);
        await WebApp.WaitVerifiedAsync(first, 1, TransferTimeout);

        // The second finds the sender and the first: two peers.
        var second = await OpenAsync("receiver-2", link);
        await Expect(second.GetByTestId("peer-count")).ToHaveTextAsync("2 peers", new() { Timeout = 30_000 });
        await WebApp.WaitVerifiedAsync(second, 0, TransferTimeout);
        await WebApp.WaitVerifiedAsync(second, 1, TransferTimeout);
        await Expect(second.GetByTestId("overall-percent")).ToHaveTextAsync("100%");
        await Expect(second.GetByTestId("receive-done")).ToBeVisibleAsync();

        // The sender leaves; a third gets everything from the two downloaders alone.
        await sender.CloseAsync(new() { RunBeforeUnload = false });
        var third = await OpenAsync("receiver-3", link);
        await WebApp.WaitVerifiedAsync(third, 0, TransferTimeout);
        await WebApp.WaitVerifiedAsync(third, 1, TransferTimeout);
        foreach (var (page, name) in new[] { (first, "r1"), (second, "r2"), (third, "r3") })
        {
            await AssertSavedIdenticalAsync(page, 0, big, name);
            await AssertSavedIdenticalAsync(page, 1, png, name);
            // The key lives in the fragment only: nothing this page said to the hub contains it.
            await page.Locator("[data-testid=diagnostics] > summary").ClickAsync();
            Assert.DoesNotContain(key, await page.GetByTestId("diag-log").InnerTextAsync(), StringComparison.Ordinal);
        }
        await Expect(third.GetByTestId("peer-count")).ToHaveTextAsync("2 peers");
    }

    [Fact(Timeout = 180_000)]
    public async Task A_reload_resumes_from_the_pieces_already_stored()
    {
        var big = Files.Random("resume-64MiB.bin", 64L << 20, seed: 32);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big);
        var receiver = await OpenAsync("receiver", link);
        var resumed = new List<string>();
        receiver.Console += (_, m) =>
        {
            if (m.Text.Contains("resuming:", StringComparison.Ordinal)) lock (resumed) resumed.Add(m.Text);
        };

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var before = -1;
        while (clock.Elapsed < TransferTimeout && before < 25) before = await OverallPercentAsync(receiver);
        Assert.InRange(before, 25, 99);
        await receiver.ReloadAsync();
        Output.WriteLine($"reloaded at {before}%");

        await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
        await AssertSavedIdenticalAsync(receiver, 0, big, "r1");
        lock (resumed)
        {
            Assert.True(resumed.Count == 1, "the reloaded page did not resume");
            var pieces = int.Parse(Regex.Match(resumed[0], "resuming: (\\d+) pieces").Groups[1].Value);
            Output.WriteLine(resumed[0]);
            Assert.True(pieces >= 256 * before / 100 - 8, $"only {pieces} pieces kept of the {before}% stored before the reload");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Pin_links_damaged_links_and_a_wrong_key_are_explained()
    {
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, Files.Png("key.png", 8, 8));
        var pinLink = link[..link.IndexOf("#k=", StringComparison.Ordinal)];

        var pin = await OpenAsync("pin", pinLink);
        var text = await WebApp.WaitErrorAsync(pin, "missing-key", TimeSpan.FromSeconds(10));
        Assert.Contains("no key", text, StringComparison.Ordinal);

        var damaged = await OpenAsync("damaged", pinLink[..^3] + "#k=abc");
        await WebApp.WaitErrorAsync(damaged, "bad-link", TimeSpan.FromSeconds(10));

        // A well-formed key that is not the item's: the manifest does not open.
        var other = link[..^43] + new string('A', 42) + "Q";
        var wrong = await OpenAsync("wrong-key", other);
        text = await WebApp.WaitErrorAsync(wrong, "wrong-key", TimeSpan.FromSeconds(45));
        Assert.Contains("key", text, StringComparison.Ordinal);
        await Expect(wrong.GetByTestId("file-row")).ToHaveCountAsync(0);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_shared_folder_arrives_with_its_paths()
    {
        var folder = Directory.CreateDirectory(Path.Combine(Files.Root, "holiday"));
        Directory.CreateDirectory(Path.Combine(folder.FullName, "day 1"));
        var a = Files.Random(Path.Combine("holiday", "day 1", "beach.bin"), 3L << 20, seed: 33);
        var b = Files.Random(Path.Combine("holiday", "notes.txt"), 1000, seed: 34);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        await sender.GetByTestId("folder-input").SetInputFilesAsync(folder.FullName);
        var share = sender.GetByTestId("share-link");
        await Expect(share).ToHaveValueAsync(new Regex("#k="), new() { Timeout = 30_000 });
        var receiver = await OpenAsync("receiver", await share.InputValueAsync());
        await Expect(receiver.GetByTestId("item-name")).ToHaveTextAsync("holiday", new() { Timeout = 30_000 });
        var names = await receiver.GetByTestId("file-name").AllTextContentsAsync();
        Output.WriteLine(string.Join(", ", names));
        Assert.Equal(["holiday/day 1/beach.bin", "holiday/notes.txt"], names.Order(StringComparer.Ordinal).ToArray());
        var index = names.ToList().IndexOf("holiday/day 1/beach.bin");
        await WebApp.WaitVerifiedAsync(receiver, index, TransferTimeout);
        await WebApp.WaitVerifiedAsync(receiver, 1 - index, TransferTimeout);
        await AssertSavedIdenticalAsync(receiver, index, a, "r1");
        await AssertSavedIdenticalAsync(receiver, 1 - index, b, "r1");
    }
}
