using Microsoft.Playwright;
using PeerNet.Hub;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests;

/// <summary>
/// A real browser's relay path: both Chromiums restricted to relayed candidates
/// (<c>iceTransportPolicy: "relay"</c>), so every byte crosses the hub's own TURN server.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class RelayTransferTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    // Both relays live on loopback in this namespace, so the relay must be allowed to reach it
    // (refused by default, as every loopback/private peer is).
    protected override void ConfigureHub(HubOptions options) => options.Turn.AllowPeers.Add("127.0.0.0/8");

    [Fact(Timeout = 180_000)]
    public async Task A_file_sent_through_our_turn_server_with_relay_policy_arrives_byte_exact()
    {
        var file = Files.Random("relayed-8MiB.bin", 8L << 20, seed: 11);
        var sender = await OpenAsync("sender", new Uri(Hub.Url, "/?relay=1").ToString());
        var receiverUrl = WebApp.WithQuery(await WebApp.ShareAsync(sender, file), "relay=1");
        Assert.Contains("/?relay=1#/get/", receiverUrl);
        var receiver = await OpenAsync("receiver", receiverUrl);

        await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
        await AssertSavedIdenticalAsync(receiver, 0, file, "relay");

        // The selected pair is relayed on both sides, and the bytes went through our server.
        var pair = receiver.GetByTestId("diag-selected-pair");
        await Expect(pair).ToContainTextAsync("relay", new() { Timeout = 10_000 });
        Output.WriteLine($"receiver's selected pair: {await pair.TextContentAsync()}");
        var stats = Hub.Server.Turn!.GetStatistics();
        Output.WriteLine($"TURN: {stats.AllocationsCreated} allocations, {stats.BytesToPeers} bytes to peers, {stats.BytesToClients} bytes to clients");
        Assert.True(stats.AllocationsCreated >= 2, "each browser allocates a relay");
        Assert.True(stats.BytesToPeers >= new FileInfo(file).Length, $"only {stats.BytesToPeers} bytes were relayed");
    }
}
