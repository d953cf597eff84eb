using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests;

/// <summary>Transfers that end early are explained to the receiver in words.</summary>
[Collection(BrowserCollection.Name)]
public sealed class TransferFailureTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    // Without the hub's STUN server: with it, a page with no host candidates still learns a
    // server-reflexive one (its loopback address, here) and connects, which is right in general
    // but defeats the "cannot be established" case below.
    protected override void ConfigureHub(PeerNet.Hub.HubOptions options) => options.Turn.Enabled = false;

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
        Output.WriteLine($"receiver says: {text}");
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

        // Usually the sender's goodbye (a leave, then the data channel closing) arrives at once; if
        // the closing page could not send it, the connection's loss is noticed within ~10 s.
        var text = await WebApp.WaitErrorAsync(receiver, "peer-left", TimeSpan.FromSeconds(45));
        Output.WriteLine($"receiver says: {text}");
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
        Output.WriteLine($"receiver says: {text}");
        Assert.Contains("The sender is not online", text);
    }

    [Fact(Timeout = 120_000)]
    public async Task Data_damaged_on_the_way_is_caught_as_a_checksum_mismatch_and_not_offered()
    {
        var file = Files.Random("damaged.bin", 8L << 20, seed: 6);
        // The sender's page flips one byte of its 40th binary message (a sealed piece's block or
        // its proof) after sealing: what a corrupting path (or a buggy peer) would deliver. The
        // piece fails its Merkle proof, the sender is dropped as corrupt, nothing damaged is kept.
        var sender = await OpenAsync("sender", Hub.Url.ToString(), page => page.AddInitScriptAsync("""
            (() => {
              const send = RTCDataChannel.prototype.send;
              let binary = 0;
              RTCDataChannel.prototype.send = function (data) {
                if (typeof data !== 'string' && ++binary === 40) {
                  const copy = new Uint8Array(data.byteLength);
                  copy.set(new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength));
                  copy[100] ^= 0xff;
                  return send.call(this, copy);
                }
                return send.call(this, data);
              };
            })();
            """));
        var link = await WebApp.ShareAsync(sender, file);
        var receiver = await OpenAsync("receiver", link);

        var text = await WebApp.WaitErrorAsync(receiver, "checksum-mismatch", TimeSpan.FromSeconds(60));
        Output.WriteLine($"receiver says: {text}");
        Assert.Contains("damaged", text, StringComparison.OrdinalIgnoreCase);
        await Expect(WebApp.FileRow(receiver, 0)).ToHaveAttributeAsync("data-state", "failed");
        await Expect(WebApp.FileRow(receiver, 0).GetByTestId("file-percent")).Not.ToHaveTextAsync("100%");
        await Expect(WebApp.FileRow(receiver, 0).GetByTestId("file-save")).ToBeHiddenAsync();
        var row = sender.GetByTestId("receiver-row");
        await Expect(row).ToHaveAttributeAsync("data-state", "failed", new() { Timeout = 10_000 });
        await Expect(row.GetByTestId("receiver-status")).ToContainTextAsync("Checksum mismatch");
    }

    [Fact(Timeout = 120_000)]
    public async Task Connection_that_cannot_be_established_is_reported_with_its_ice_and_connection_states()
    {
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, Files.Png("a.png", 8, 8));
        // This receiver gathers no candidates (no camera/microphone permission on loopback) and
        // ignores the sender's: no path can work. It gives up after 5 s instead of 30.
        var url = WebApp.WithQuery(link, "connectTimeout=5");
        var receiver = await OpenAsync("receiver", url,
            page => page.AddInitScriptAsync("RTCPeerConnection.prototype.addIceCandidate = async function () {};"),
            grantMedia: false);

        var text = await WebApp.WaitErrorAsync(receiver, "connection-failed", TimeSpan.FromSeconds(30));
        Output.WriteLine($"receiver says: {text}");
        Assert.Contains("ICE connection state:", text);
        Assert.Contains("connection state:", text);
        Assert.Matches("ICE connection state: (new|checking|disconnected|failed)", text);
    }
}
