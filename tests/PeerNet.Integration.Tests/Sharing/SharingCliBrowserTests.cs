using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// Native and browser peers in one swarm: `peernet share` seeds and Chromium downloads through the
/// web app's get page; Chromium's send page seeds and `peernet get` downloads. Byte-exact both ways.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class SharingCliBrowserTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    [GeneratedRegex(@"^https?://\S+/#/get/[A-Za-z0-9_-]{43}#k=[A-Za-z0-9_-]{43}$")]
    private static partial Regex LinkLine();

    [Fact(Timeout = 150_000)]
    public async Task The_cli_seeds_chromium_downloads_through_the_web_app_and_serves_the_next_cli_peer()
    {
        var big = Files.Random("a-random.bin", 16L << 20, seed: 51);
        var png = Files.Png("b-image.png", 64, 48);
        using var share = CliProcess.Start("share", "share", big, png, "--hub", Hub.Url.ToString(), "--name", "mixed", "--plain");
        try
        {
            var link = (await share.WaitForLineAsync(LinkLine().ToString(), TimeSpan.FromSeconds(30))).Value;
            await share.WaitForLineAsync("^seeding: 0 peer", TimeSpan.FromSeconds(30));
            var receiver = await OpenAsync("receiver", link);
            await Expect(receiver.GetByTestId("item-name")).ToHaveTextAsync("mixed", new() { Timeout = 30_000 });
            await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
            await WebApp.WaitVerifiedAsync(receiver, 1, TransferTimeout);
            await AssertSavedIdenticalAsync(receiver, 0, big, "chromium");
            await AssertSavedIdenticalAsync(receiver, 1, png, "chromium");
            Assert.Equal(0, await share.StopAsync(TimeSpan.FromSeconds(30)));
            Assert.Matches(@"stopped: (1[6-9]|[2-9]\d)\.\d MiB uploaded", share.Output);

            // The sharer is gone: a native downloader gets everything from the browser tab alone.
            var directory = Path.Combine(Files.Downloads, "from-browser");
            var (exitCode, text) = await CliProcess.RunAsync(TimeSpan.FromSeconds(90), "get", link, "-o", directory, "--plain");
            Output.WriteLine(text);
            Assert.True(exitCode == 0, $"get exited {exitCode}");
            Assert.Equal(TestFiles.Sha256Hex(big), TestFiles.Sha256Hex(Path.Combine(directory, "a-random.bin")));
            Assert.Equal(TestFiles.Sha256Hex(png), TestFiles.Sha256Hex(Path.Combine(directory, "b-image.png")));
        }
        finally
        {
            Output.WriteLine("--- share:\n" + share.Output);
        }
    }

    [Fact(Timeout = 150_000)]
    public async Task Chromium_seeds_and_the_cli_downloads()
    {
        var big = Files.Random("c-random.bin", 16L << 20, seed: 52);
        var png = Files.Png("d-image.png", 80, 60);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big, png);
        var directory = Path.Combine(Files.Downloads, "cli");
        var (exitCode, text) = await CliProcess.RunAsync(TimeSpan.FromSeconds(90), "get", link, "-o", directory, "--plain");
        Output.WriteLine(text);
        Assert.True(exitCode == 0, $"get exited {exitCode}");
        Assert.Contains("complete: 2 file(s)", text);
        foreach (var original in new[] { big, png })
        {
            var saved = Path.Combine(directory, Path.GetFileName(original));
            Assert.Equal(TestFiles.Sha256Hex(original), TestFiles.Sha256Hex(saved));
        }
    }
}
