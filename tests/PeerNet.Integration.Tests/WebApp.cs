using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests;

/// <summary>Drives the web app the way a person would, through its data-testid hooks.</summary>
public static partial class WebApp
{
    /// <summary>Opens a page in a fresh context; its console goes to the test output.</summary>
    public static async Task<IPage> OpenAsync(BrowserFixture browser, ITestOutputHelper output, string who, string url, Func<IPage, Task>? beforeGoto = null, bool grantMedia = true)
    {
        var page = await browser.NewPageAsync(grantMedia);
        var clock = Stopwatch.StartNew();
        page.Console += (_, m) => Log(output, $"[{clock.Elapsed.TotalSeconds,6:0.00}s {who}] {m.Type}: {m.Text}");
        page.PageError += (_, e) => Log(output, $"[{clock.Elapsed.TotalSeconds,6:0.00}s {who}] page error: {e}");
        if (beforeGoto is not null) await beforeGoto(page);
        await page.GotoAsync(url);
        return page;
    }

    private static void Log(ITestOutputHelper output, string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test already finished.
        }
    }

    /// <summary>Picks files on the send page and returns the share link (<c>…/#/get/CID#k=KEY</c>) once the files are sealed and shared.</summary>
    public static async Task<string> ShareAsync(IPage sender, params string[] files)
    {
        await sender.GetByTestId("file-input").SetInputFilesAsync(files);
        var link = sender.GetByTestId("share-link");
        await Expect(link).ToHaveValueAsync(ShareLinkPattern(), new() { Timeout = 30_000 });
        return await link.InputValueAsync();
    }

    [GeneratedRegex("^http://127\\.0\\.0\\.1:\\d+/#/get/[A-Za-z0-9_-]{43}#k=[A-Za-z0-9_-]{43}$")]
    private static partial Regex ShareLinkPattern();

    /// <summary>The link with the web app's options in its query (<c>/?relay=1#/get/…</c>): the fragment stays as it is.</summary>
    public static string WithQuery(string link, string query) => link.Replace("/#/", $"/?{query}#/", StringComparison.Ordinal);

    /// <summary>
    /// Time allowed for one look at an element that exists: generous, because on a busy 2-core
    /// machine a page's main thread can be late by seconds while it moves data.
    /// </summary>
    private const float PollTimeoutMs = 20_000;

    public static ILocator FileRow(IPage page, int index) => page.Locator($"[data-testid=file-row][data-index='{index}']");

    public static ILocator ErrorBox(IPage page) => page.GetByTestId("error");

    /// <summary>Waits until file <paramref name="index"/> is verified; fails early, with the page's explanation, if the page reports an error.</summary>
    public static async Task WaitVerifiedAsync(IPage page, int index, TimeSpan timeout)
    {
        var row = FileRow(page, index);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (await row.CountAsync() > 0 && await row.GetAttributeAsync("data-state", new() { Timeout = PollTimeoutMs }) == "verified") return;
            if (await ErrorBox(page).IsVisibleAsync())
            {
                Assert.Fail($"the receiver reported an error instead of verifying file {index}: {await ErrorBox(page).TextContentAsync()}\n{await DiagnosticsAsync(page)}");
            }
            await Task.Delay(100);
        }
        Assert.Fail($"file {index} was not verified within {timeout.TotalSeconds} s (percent: {await PercentAsync(page, index)})\n{await DiagnosticsAsync(page)}");
    }

    /// <summary>The sender's receiver rows, one line each (peer, state, status), for a test's output.</summary>
    public static async Task<string> ReceiverRowsAsync(IPage sender) =>
        await sender.EvaluateAsync<string>("""
            () => [...document.querySelectorAll('[data-testid=receiver-row]')]
              .map((r) => `${r.dataset.peerId} ${r.dataset.state}: ${r.querySelector('[data-testid=receiver-status]')?.textContent ?? ''}`)
              .join('\n')
            """);

    /// <summary>The percent shown for file <paramref name="index"/>, or -1 while there is no such row.</summary>
    public static async Task<int> PercentAsync(IPage page, int index)
    {
        var percent = FileRow(page, index).GetByTestId("file-percent");
        if (await percent.CountAsync() == 0) return -1;
        var text = (await percent.TextContentAsync(new() { Timeout = PollTimeoutMs }))?.Trim() ?? "";
        return int.TryParse(text.TrimEnd('%'), out var p) ? p : -1;
    }

    /// <summary>Clicks the file's save link and saves the download to <paramref name="directory"/>.</summary>
    public static async Task<string> SaveAsync(IPage page, int index, string directory)
    {
        var link = FileRow(page, index).GetByTestId("file-save");
        await Expect(link).ToBeVisibleAsync(new() { Timeout = 5_000 });
        var download = await page.RunAndWaitForDownloadAsync(() => link.ClickAsync(), new() { Timeout = 30_000 });
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, download.SuggestedFilename);
        await download.SaveAsAsync(path);
        return path;
    }

    /// <summary>Waits until the page shows an error with the given code, and returns its text.</summary>
    public static async Task<string> WaitErrorAsync(IPage page, string code, TimeSpan timeout)
    {
        var box = ErrorBox(page);
        try
        {
            await Expect(box).ToHaveAttributeAsync("data-code", code, new() { Timeout = (float)timeout.TotalMilliseconds });
        }
        catch (PlaywrightException e)
        {
            Assert.Fail($"expected error '{code}', got '{await box.GetAttributeAsync("data-code")}': {await box.TextContentAsync()}\n{e.Message}\n{await DiagnosticsAsync(page)}");
        }
        await Expect(box).ToBeVisibleAsync();
        return (await box.TextContentAsync())!;
    }

    /// <summary>The diagnostics panel as text (for failure messages).</summary>
    public static async Task<string> DiagnosticsAsync(IPage page)
    {
        try
        {
            return "diagnostics:\n" + await page.GetByTestId("diagnostics").EvaluateAsync<string>("d => d.querySelector('#diagnostics-root').innerText");
        }
        catch (PlaywrightException e)
        {
            return $"(no diagnostics: {e.Message})";
        }
    }

    /// <summary>Closes a page and its whole context.</summary>
    public static async Task CloseAsync(IPage? page)
    {
        if (page is null) return;
        try
        {
            await page.Context.CloseAsync();
        }
        catch (PlaywrightException)
        {
        }
    }
}
