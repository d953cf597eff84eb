using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests;

/// <summary>Transfers that end early are explained to the receiver in words.</summary>
[Collection(BrowserCollection.Name)]
public sealed class TransferFailureTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    [Fact(Timeout = 120_000)]
    public async Task Sender_cancel_is_shown_to_the_receiver_as_cancelled()
    {
        var big = Files.Random("big.bin", 96L << 20, seed: 3);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big);
        var receiver = await OpenAsync("receiver", link);

        var seen = await WaitPercentAsync(receiver, 3, TransferTimeout);
        var row = sender.GetByTestId("receiver-row");
        await row.GetByTestId("cancel-receiver").ClickAsync();
        Output.WriteLine($"cancelled at {seen}%");

        var text = await WebApp.WaitErrorAsync(receiver, "cancelled", TimeSpan.FromSeconds(20));
        Assert.Contains("cancelled", text, StringComparison.OrdinalIgnoreCase);
        await Expect(row).ToHaveAttributeAsync("data-state", "cancelled");
        await Expect(WebApp.FileRow(receiver, 0)).Not.ToHaveAttributeAsync("data-state", "verified");
        await Expect(WebApp.FileRow(receiver, 0).GetByTestId("file-save")).ToBeHiddenAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task Sender_leaving_mid_transfer_is_shown_to_the_receiver_as_peer_left()
    {
        var big = Files.Random("big.bin", 96L << 20, seed: 4);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big);
        var receiver = await OpenAsync("receiver", link);

        var seen = await WaitPercentAsync(receiver, 3, TransferTimeout);
        await sender.CloseAsync(new() { RunBeforeUnload = false });
        Output.WriteLine($"sender closed its page at {seen}%");

        var text = await WebApp.WaitErrorAsync(receiver, "peer-left", TimeSpan.FromSeconds(20));
        Assert.Contains("left", text, StringComparison.OrdinalIgnoreCase);
        await Expect(WebApp.FileRow(receiver, 0).GetByTestId("file-save")).ToBeHiddenAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Link_of_a_sender_who_is_gone_says_the_sender_is_not_online()
    {
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, Files.Png("a.png", 8, 8));
        await sender.Context.CloseAsync();

        // Well after the sender's page closed (its explicit leave, or the hub's resume grace).
        var receiver = await OpenAsync("receiver", link);
        var text = await WebApp.WaitErrorAsync(receiver, "sender-offline", TimeSpan.FromSeconds(20));
        Assert.Contains("The sender is not online", text);
    }
}
