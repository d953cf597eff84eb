using System.Diagnostics;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests;

/// <summary>Files sent between real Chromium pages through the real web app and hub.</summary>
[Collection(BrowserCollection.Name)]
public sealed class FileTransferTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    [Fact(Timeout = 180_000)]
    public async Task Random_file_png_and_empty_file_arrive_byte_exact_with_verified_sha256()
    {
        var big = Files.Random("random-32MiB.bin", 32L << 20, seed: 1);
        var png = Files.Png("gradient.png", 320, 200);
        var empty = Path.Combine(Files.Root, "empty.txt");
        File.WriteAllBytes(empty, []);
        var clock = Stopwatch.StartNew();

        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big, png, empty);
        var receiver = await OpenAsync("receiver", link);

        await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
        await WebApp.WaitVerifiedAsync(receiver, 1, TransferTimeout);
        await WebApp.WaitVerifiedAsync(receiver, 2, TransferTimeout);
        Output.WriteLine($"all files verified after {clock.Elapsed.TotalSeconds:0.0} s");

        // Percent 100, "verified", the page's own SHA-256 (sha256.js) equal to .NET's hash of the
        // original, and the saved download byte-identical.
        await Expect(WebApp.FileRow(receiver, 0).GetByTestId("file-status")).ToContainTextAsync("verified");
        await AssertSavedIdenticalAsync(receiver, 0, big, "r1");
        await AssertSavedIdenticalAsync(receiver, 1, png, "r1");
        await AssertSavedIdenticalAsync(receiver, 2, empty, "r1");

        // The PNG is previewed, and decodes as a real image.
        var preview = WebApp.FileRow(receiver, 1).GetByTestId("file-preview");
        await Expect(preview).ToBeVisibleAsync();
        Assert.Equal(320, await preview.EvaluateAsync<int>("img => img.decode().then(() => img.naturalWidth)"));
        await Expect(receiver.GetByTestId("receive-done")).ToBeVisibleAsync();
        await Expect(receiver.GetByTestId("receive-view")).ToHaveAttributeAsync("data-storage", "opfs");

        // The sender saw the receiver finish.
        var row = sender.GetByTestId("receiver-row");
        Output.WriteLine($"the sender's receiver rows:\n{await WebApp.ReceiverRowsAsync(sender)}");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row).ToHaveAttributeAsync("data-state", "complete", new() { Timeout = 10_000 });
        await Expect(row.GetByTestId("receiver-percent")).ToHaveTextAsync("100%");

        // The diagnostics panel shows the connection: a selected candidate pair on loopback, DTLS up.
        await receiver.Locator("[data-testid=diagnostics] > summary").ClickAsync();
        var connection = receiver.GetByTestId("diag-connection");
        await Expect(connection.GetByTestId("diag-selected-pair")).ToContainTextAsync("127.0.0.1");
        await Expect(receiver.GetByTestId("diag-log")).ToContainTextAsync("offer");
        await Expect(receiver.GetByTestId("diag-log")).ToContainTextAsync("answer");
        await Expect(receiver.GetByTestId("diag-log")).ToContainTextAsync("candidate");
    }

    [Fact(Timeout = 180_000)]
    public async Task Third_receiver_joining_mid_transfer_gets_everything_intact()
    {
        var big = Files.Random("random-64MiB.bin", 64L << 20, seed: 2);
        var png = Files.Png("small.png", 40, 30);

        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big, png);
        var first = await OpenAsync("receiver-1", link);
        var second = await OpenAsync("receiver-2", link);

        // The third receiver arrives while the first is between 20 % and 100 % of the big file.
        var seen = await WaitPercentAsync(first, 20, TransferTimeout);
        var third = await OpenAsync("receiver-3", link);
        Output.WriteLine($"third receiver opened the link when the first was at {seen}%");
        Assert.InRange(seen, 20, 99);
        Assert.NotEqual("verified", await WebApp.FileRow(first, 0).GetAttributeAsync("data-state"));

        var receivers = new[] { first, second, third };
        foreach (var receiver in receivers)
        {
            await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
            await WebApp.WaitVerifiedAsync(receiver, 1, TransferTimeout);
        }
        for (var r = 0; r < receivers.Length; r++)
        {
            await AssertSavedIdenticalAsync(receivers[r], 0, big, $"r{r + 1}");
            await AssertSavedIdenticalAsync(receivers[r], 1, png, $"r{r + 1}");
        }

        var rows = sender.GetByTestId("receiver-row");
        Output.WriteLine($"the sender's receiver rows:\n{await WebApp.ReceiverRowsAsync(sender)}");
        await Expect(rows).ToHaveCountAsync(3);
        for (var i = 0; i < 3; i++) await Expect(rows.Nth(i)).ToHaveAttributeAsync("data-state", "complete", new() { Timeout = 10_000 });
    }

    [Fact(Timeout = 120_000)]
    public async Task Receiver_without_disk_storage_keeps_files_in_memory_and_states_the_limit()
    {
        var file = Files.Random("in-memory.bin", 6L << 20, seed: 8);
        var png = Files.Png("in-memory.png", 16, 16);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, file, png);
        // ?storage=memory forces the fallback used by browsers without OPFS writable streams.
        var receiver = await OpenAsync("receiver", WebApp.WithQuery(link, "storage=memory"));

        await Expect(receiver.GetByTestId("receive-view")).ToHaveAttributeAsync("data-storage", "memory");
        await Expect(receiver.GetByTestId("storage-note")).ToContainTextAsync("1 GiB");
        await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
        await WebApp.WaitVerifiedAsync(receiver, 1, TransferTimeout);
        await AssertSavedIdenticalAsync(receiver, 0, file, "r1");
        await AssertSavedIdenticalAsync(receiver, 1, png, "r1");
    }
}
