using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests;

/// <summary>The web app's signaling client against a real hub when its WebSocket misbehaves.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SignalingResilienceTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    [Fact(Timeout = 120_000)]
    public async Task Sender_whose_signaling_drops_resumes_its_id_and_still_serves_the_link()
    {
        var routes = new List<(IWebSocketRoute Page, IWebSocketRoute Server)>();
        var sender = await OpenAsync("sender", Hub.Url.ToString(), page => page.RouteWebSocketAsync("**/signal**", route =>
        {
            var server = route.ConnectToServer(); // a transparent proxy the test can cut
            lock (routes) routes.Add((route, server));
        }));
        var file = Files.Random("after-resume.bin", 4L << 20, seed: 7);
        var link = await WebApp.ShareAsync(sender, file);

        // Cut the sender's signaling connection (both directions), as a network drop would.
        (IWebSocketRoute Page, IWebSocketRoute Server) first;
        lock (routes) first = routes.Single();
        await first.Server.CloseAsync(new() { Code = 1001, Reason = "test drop" });
        await first.Page.CloseAsync(new() { Code = 4999, Reason = "test drop" });

        // It reconnects with its resume token and keeps its id, so the link still works.
        var log = sender.GetByTestId("diag-log");
        await Expect(log).ToContainTextAsync("(resumed)", new() { Timeout = 15_000 });
        await Expect(sender.GetByTestId("diag-signaling-state")).ToHaveTextAsync("open");
        lock (routes) Assert.Equal(2, routes.Count);
        Assert.Equal(link, await sender.GetByTestId("share-link").InputValueAsync());
        Assert.Contains("?resume=", routes[1].Page.Url, StringComparison.Ordinal);

        var receiver = await OpenAsync("receiver", link);
        await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
        await AssertSavedIdenticalAsync(receiver, 0, file, "r1");
    }

    [Fact(Timeout = 60_000)]
    public async Task Receiver_that_cannot_reach_signaling_says_signaling_disconnected()
    {
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, Files.Png("a.png", 8, 8));
        // The receiver's WebSocket is refused (closed before any welcome).
        var receiver = await OpenAsync("receiver", link, page => page.RouteWebSocketAsync("**/signal**", route => _ = route.CloseAsync(new() { Code = 1011, Reason = "refused by test" })));

        var text = await WebApp.WaitErrorAsync(receiver, "signaling-disconnected", TimeSpan.FromSeconds(20));
        Assert.Contains("hub", text, StringComparison.Ordinal);
    }
}
