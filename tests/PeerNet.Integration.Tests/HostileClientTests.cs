using System.Text.Json;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests;

/// <summary>
/// Broken and hostile signaling clients get typed errors and cannot disturb a transfer between
/// two browsers going on at the same time.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class HostileClientTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    private static readonly TimeSpan Reply = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 180_000)]
    public async Task Hostile_clients_get_typed_errors_while_a_transfer_completes_intact()
    {
        var file = Files.Random("payload.bin", 32L << 20, seed: 5);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, file);
        // …/#/get/CID#k=KEY: the swarm's room is share/CID; the sender's id is on its page.
        var cid = link[(link.IndexOf("#/get/", StringComparison.Ordinal) + 6)..link.IndexOf("#k=", StringComparison.Ordinal)];
        var room = $"share/{cid}";
        var senderId = (await sender.GetByTestId("share-panel").GetAttributeAsync("data-sender-id"))!;

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var attacker = await RawSignalingClient.ConnectAsync(Hub.SignalingUrl, cts.Token);
        await using var bystander = await RawSignalingClient.ConnectAsync(Hub.SignalingUrl, cts.Token);
        await using var flooder = await RawSignalingClient.ConnectAsync(Hub.SignalingUrl, cts.Token);

        // The receiver starts while the hostile clients do their worst.
        var receiver = await OpenAsync("receiver", link);

        // Malformed JSON, JSON that is not an object, a binary frame: bad-message.
        await attacker.SendTextAsync("{\"type\":\"join\",\"room\":");
        await attacker.ReceiveAsync(m => RawSignalingClient.IsError(m, "bad-message"), Reply);
        await attacker.SendTextAsync("[1,2,3]");
        await attacker.ReceiveAsync(m => RawSignalingClient.IsError(m, "bad-message"), Reply);
        await attacker.SendBinaryAsync([0x7b, 0x7d]);
        await attacker.ReceiveAsync(m => RawSignalingClient.IsError(m, "bad-message"), Reply);

        // A frame over 64 KiB: too-large, and the connection stays usable.
        await attacker.SendTextAsync("{\"type\":\"ping\",\"pad\":\"" + new string('x', 70 * 1024) + "\"}");
        await attacker.ReceiveAsync(m => RawSignalingClient.IsError(m, "too-large"), Reply);
        await attacker.SendJsonAsync(new { type = "ping", @ref = "still-here" });
        await attacker.ReceiveAsync(m => RawSignalingClient.Type(m) == "pong" && Ref(m) == "still-here", Reply);

        // A signal to an id nobody has: unknown-peer, echoing the ref.
        await attacker.SendJsonAsync(new { type = "signal", to = "AAAAAAAAAAAAAAAAAAAAAA", data = new { type = "offer", sdp = "v=0" }, @ref = 7 });
        var unknown = await attacker.ReceiveAsync(m => RawSignalingClient.IsError(m, "unknown-peer"), Reply);
        Assert.Equal(7, unknown.GetProperty("ref").GetInt32());

        // A forged `from`: the target sees the attacker's true id.
        await attacker.SendJsonAsync(new { type = "signal", to = bystander.Id, from = senderId, data = new { hello = "forged" } });
        var forged = await bystander.ReceiveAsync(m => RawSignalingClient.Type(m) == "signal", Reply);
        Assert.Equal(attacker.Id, forged.GetProperty("from").GetString());
        Assert.Equal("forged", forged.GetProperty("data").GetProperty("hello").GetString());

        // The same against the receiving browser, posing as the sender with a bogus answer and
        // candidate: the page sees the attacker's id and ignores it.
        var receiverId = await WaitAttributeAsync(receiver.GetByTestId("receive-view"), "data-my-id");
        await attacker.SendJsonAsync(new { type = "signal", to = receiverId, from = senderId, data = new { type = "answer", sdp = "v=0\r\nbogus" } });
        await attacker.SendJsonAsync(new
        {
            type = "signal", to = receiverId, from = senderId,
            data = new { type = "candidate", candidate = new { candidate = "candidate:1 1 udp 2122260223 192.0.2.1 9 typ host", sdpMid = "0", sdpMLineIndex = 0 } },
        });

        // Joining the share room and offering garbage to the sender only fails that one connection.
        await attacker.SendJsonAsync(new { type = "join", room, @ref = "j" });
        await attacker.ReceiveAsync(m => RawSignalingClient.Type(m) == "joined", Reply);
        await attacker.SendJsonAsync(new { type = "signal", to = senderId, data = new { type = "offer", sdp = "not an sdp" } });

        // A flood over the rate limit (burst 100, 50/s): rate-limited, connection kept.
        var flooding = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 400; i++) await flooder.SendJsonAsync(new { type = "ping", @ref = i });
        var sendSeconds = flooding.Elapsed.TotalSeconds;
        int limited = 0, pongs = 0;
        for (var i = 0; i < 400; i++)
        {
            // Every message of the flood is answered: a pong, or a rate-limited error echoing its ref.
            var answer = await flooder.ReceiveAsync(m => RawSignalingClient.Type(m) == "pong" || RawSignalingClient.IsError(m, "rate-limited"), Reply);
            if (RawSignalingClient.Type(answer) == "pong") pongs++;
            else limited++;
        }
        Output.WriteLine($"flood of 400 pings sent in {sendSeconds:0.00} s: {pongs} pongs, {limited} rate-limited");
        // The bucket lets the burst (100) through, plus 50 per second of sending; the rest is refused.
        Assert.InRange(pongs, 100, 100 + (int)Math.Ceiling(sendSeconds * 50) + 1);
        Assert.True(limited >= 400 - pongs && limited > 0, $"expected the excess to be rate-limited, got {limited}");
        await Task.Delay(500); // a few tokens come back
        await flooder.SendJsonAsync(new { type = "ping", @ref = "after-flood" });
        await flooder.ReceiveAsync(m => RawSignalingClient.Type(m) == "pong" && Ref(m) == "after-flood", Reply);

        // Meanwhile the real transfer completed, byte-exact.
        await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
        await AssertSavedIdenticalAsync(receiver, 0, file, "r1");

        // The receiver logged the forged signals under the attacker's id, never the sender's.
        await Expect(receiver.GetByTestId("diag-log")).ToContainTextAsync($"signal from {attacker.Id}: answer");
        await Expect(receiver.GetByTestId("diag-log")).ToContainTextAsync($"signal from {attacker.Id}: candidate");
        // The sender shows the garbage offer as a failed connection of its own row; the real one completed.
        var rows = sender.GetByTestId("receiver-row");
        await Expect(sender.Locator($"[data-testid=receiver-row][data-peer-id='{attacker.Id}']")).ToHaveAttributeAsync("data-state", "failed");
        await Expect(sender.Locator($"[data-testid=receiver-row][data-peer-id='{receiverId}']")).ToHaveAttributeAsync("data-state", "complete", new() { Timeout = 10_000 });
        Assert.True(attacker.IsOpen && bystander.IsOpen && flooder.IsOpen, "the hub dropped a client for an error it should only report");
    }

    private static string? Ref(JsonElement message) =>
        message.TryGetProperty("ref", out var r) ? (r.ValueKind == JsonValueKind.String ? r.GetString() : r.GetRawText()) : null;

    private static async Task<string> WaitAttributeAsync(Microsoft.Playwright.ILocator locator, string name)
    {
        await Expect(locator).ToHaveAttributeAsync(name, new System.Text.RegularExpressions.Regex("^[A-Za-z0-9_-]{22}$"), new() { Timeout = 15_000 });
        return (await locator.GetAttributeAsync(name))!;
    }
}
