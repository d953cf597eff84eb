using Microsoft.Playwright;
using PeerNet.Hub;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests;

/// <summary>Per test: a fresh hub, a temp folder for files, and the pages it opened (all closed afterwards).</summary>
public abstract class WebAppTestBase(BrowserFixture browser, ITestOutputHelper output) : IAsyncLifetime
{
    protected static readonly TimeSpan TransferTimeout = TimeSpan.FromSeconds(90);

    private readonly List<IPage> _pages = [];

    protected BrowserFixture Browser { get; } = browser;

    protected ITestOutputHelper Output { get; } = output;

    protected TestFiles Files { get; } = new();

    protected TestHub Hub { get; private set; } = null!;

    /// <summary>Hub options for this test class (limits etc.).</summary>
    protected virtual void ConfigureHub(HubOptions options)
    {
    }

    public virtual async Task InitializeAsync() => Hub = await TestHub.StartAsync(ConfigureHub);

    public virtual async Task DisposeAsync()
    {
        foreach (var page in _pages) await WebApp.CloseAsync(page);
        await Hub.DisposeAsync();
        Files.Dispose();
    }

    protected async Task<IPage> OpenAsync(string who, string url, Func<IPage, Task>? beforeGoto = null, bool grantMedia = true)
    {
        var page = await WebApp.OpenAsync(Browser, Output, who, url, beforeGoto, grantMedia);
        _pages.Add(page);
        return page;
    }

    /// <summary>Polls the receiver's percent for file 0 until it is at least <paramref name="min"/>; returns it.</summary>
    protected static async Task<int> WaitPercentAsync(IPage receiver, int min, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var percent = -1;
        while (clock.Elapsed < timeout)
        {
            percent = await WebApp.PercentAsync(receiver, 0);
            if (percent >= min) return percent;
            if (await WebApp.ErrorBox(receiver).IsVisibleAsync())
            {
                Assert.Fail($"receiver failed: {await WebApp.ErrorBox(receiver).TextContentAsync()}");
            }
            await Task.Delay(25);
        }
        Assert.Fail($"file 0 did not reach {min}% within {timeout.TotalSeconds} s (last seen {percent}%)\n{await WebApp.DiagnosticsAsync(receiver)}");
        return percent;
    }

    /// <summary>Saves file <paramref name="index"/> from <paramref name="receiver"/> and checks it equals <paramref name="original"/>.</summary>
    protected async Task AssertSavedIdenticalAsync(IPage receiver, int index, string original, string folder)
    {
        var expected = TestFiles.Sha256Hex(original);
        var row = WebApp.FileRow(receiver, index);
        await Microsoft.Playwright.Assertions.Expect(row.GetByTestId("file-percent")).ToHaveTextAsync("100%");
        await Microsoft.Playwright.Assertions.Expect(row.GetByTestId("file-sha256")).ToHaveTextAsync(expected);
        var saved = await WebApp.SaveAsync(receiver, index, Path.Combine(Files.Downloads, folder));
        Assert.Equal(Path.GetFileName(original), Path.GetFileName(saved));
        Assert.Equal(new FileInfo(original).Length, new FileInfo(saved).Length);
        Assert.Equal(expected, TestFiles.Sha256Hex(saved));
    }
}
