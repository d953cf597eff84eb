using System.Diagnostics;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests;

/// <summary>Files sent between real Chromium pages through the real web app and hub.</summary>
[Collection(BrowserCollection.Name)]
public sealed class FileTransferTests(BrowserFixture browser, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan TransferTimeout = TimeSpan.FromSeconds(90);
    private readonly TestFiles _files = new();
    private readonly List<IPage> _pages = [];
    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var page in _pages) await WebApp.CloseAsync(page);
        await _hub.DisposeAsync();
        _files.Dispose();
    }

    private async Task<IPage> OpenAsync(string who, string url)
    {
        var page = await WebApp.OpenAsync(browser, output, who, url);
        _pages.Add(page);
        return page;
    }

    [Fact(Timeout = 180_000)]
    public async Task Random_file_and_png_arrive_byte_exact_with_verified_sha256()
    {
        var big = _files.Random("random-32MiB.bin", 32L << 20, seed: 1);
        var png = _files.Png("gradient.png", 320, 200);
        var clock = Stopwatch.StartNew();

        var sender = await OpenAsync("sender", _hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big, png);
        var receiver = await OpenAsync("receiver", link);

        await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
        await WebApp.WaitVerifiedAsync(receiver, 1, TransferTimeout);
        output.WriteLine($"both files verified after {clock.Elapsed.TotalSeconds:0.0} s");

        string[] originals = [big, png];
        for (var i = 0; i < originals.Length; i++)
        {
            var row = WebApp.FileRow(receiver, i);
            var expected = TestFiles.Sha256Hex(originals[i]);
            await Expect(row.GetByTestId("file-percent")).ToHaveTextAsync("100%");
            await Expect(row.GetByTestId("file-status")).ToContainTextAsync("verified");
            // The page's own SHA-256 (sha256.js) matches .NET's hash of the original file.
            await Expect(row.GetByTestId("file-sha256")).ToHaveTextAsync(expected);
            var saved = await WebApp.SaveAsync(receiver, i, Path.Combine(_files.Downloads, "r1"));
            Assert.Equal(Path.GetFileName(originals[i]), Path.GetFileName(saved));
            Assert.Equal(new FileInfo(originals[i]).Length, new FileInfo(saved).Length);
            Assert.Equal(expected, TestFiles.Sha256Hex(saved));
        }
        // The PNG is previewed, and decodes as a real image.
        var preview = WebApp.FileRow(receiver, 1).GetByTestId("file-preview");
        await Expect(preview).ToBeVisibleAsync();
        Assert.Equal(320, await preview.EvaluateAsync<int>("img => img.decode().then(() => img.naturalWidth)"));
        await Expect(receiver.GetByTestId("receive-done")).ToBeVisibleAsync();

        // The sender saw the receiver finish.
        var row0 = sender.Locator("[data-testid=receiver-row]");
        await Expect(row0).ToHaveCountAsync(1);
        await Expect(row0).ToHaveAttributeAsync("data-state", "complete", new() { Timeout = 10_000 });
        await Expect(row0.GetByTestId("receiver-percent")).ToHaveTextAsync("100%");
    }
}
