using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using PeerNet.Bench.Throughput;

namespace PeerNet.Bench.BrowserSharing;

/// <summary>
/// One person's browser in the sharing-browser benchmark: a headless Debian Chromium of its own
/// (so its processes, and their CPU, are its alone) with a fresh profile on disk (so both web apps
/// store what they receive where a real browser would: the origin-private file system on disk, not
/// the in-memory storage of an incognito context), and one page. The page reports its steps as
/// console lines <c>bench {json}</c>; they are collected here.
/// </summary>
internal sealed class BrowserSide : IAsyncDisposable
{
    // Playwright replaces its own --disable-features list with ours: the integration tests' list
    // (BrowserFixture), which keeps Chromium quiet and lets WebRTC use loopback addresses.
    private const string DisabledFeatures = "WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks,AvoidUnnecessaryBeforeUnloadCheckSync,"
        + "DestroyProfileOnBrowserClose,DialMediaRouteProvider,GlobalMediaControls,HttpsUpgrades,MediaRouter,PaintHolding,"
        + "ThirdPartyStoragePartitioning,Translate,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled";

    private readonly IBrowserContext _context;
    private readonly string _profile;
    private readonly List<JsonElement> _events = [];
    private readonly Queue<string> _console = new();
    private bool _closed;

    private BrowserSide(string who, IBrowserContext context, IPage page, string profile, string marker)
    {
        Who = who;
        _context = context;
        Page = page;
        _profile = profile;
        Tree = new ProcessTree(() => ProcessTree.WithCommandLine(marker));
    }

    public string Who { get; }

    public IPage Page { get; }

    /// <summary>Every process of this browser: the browser process and its zygotes, renderers, GPU and utility processes.</summary>
    public ProcessTree Tree { get; }

    /// <summary>Lines of the page's console that were not benchmark events (the last 200), for error messages.</summary>
    public string Diagnostics()
    {
        lock (_console) return _console.Count == 0 ? "" : $"{Who} console:\n" + string.Join('\n', _console);
    }

    public static async Task<BrowserSide> LaunchAsync(IPlaywright playwright, string who)
    {
        var profile = Directory.CreateTempSubdirectory("peernet-bench-profile-").FullName;
        // An argument Chromium ignores, to find this browser's processes in /proc.
        var marker = "--peernet-bench-side=" + Guid.NewGuid().ToString("N");
        IBrowserContext context;
        try
        {
            context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = "/usr/bin/chromium",
                Headless = true,
                Timeout = 60_000,
                Args =
                [
                    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--allow-loopback-in-peer-connection",
                    "--disable-features=" + DisabledFeatures,
                    marker,
                ],
            });
        }
        catch
        {
            DeleteProfile(profile);
            throw;
        }
        // Headless Chromium gathers host ICE candidates only for pages allowed camera/microphone.
        await context.GrantPermissionsAsync(["camera", "microphone"]);
        context.SetDefaultTimeout(60_000);
        var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
        var side = new BrowserSide(who, context, page, profile, marker);
        page.Console += (_, message) => side.OnConsole(message.Text);
        page.PageError += (_, error) => side.Add(JsonSerializer.SerializeToElement(new { @event = "error", message = error }));
        page.Crash += (_, _) => side.Add(JsonSerializer.SerializeToElement(new { @event = "error", message = "the page crashed" }));
        return side;
    }

    private void OnConsole(string text)
    {
        if (text.StartsWith("bench ", StringComparison.Ordinal))
        {
            try
            {
                Add(JsonDocument.Parse(text["bench ".Length..]).RootElement.Clone());
                return;
            }
            catch (JsonException)
            {
            }
        }
        lock (_console)
        {
            _console.Enqueue(text);
            while (_console.Count > 200) _console.Dequeue();
        }
    }

    private void Add(JsonElement e)
    {
        lock (_events) _events.Add(e);
    }

    /// <summary>The first event of that name so far, if any.</summary>
    public JsonElement? Event(string name)
    {
        lock (_events)
        {
            foreach (var e in _events)
                if (e.GetProperty("event").GetString() == name) return e;
        }
        return null;
    }

    /// <summary>Every event's name so far, in order (for progress lines).</summary>
    public IReadOnlyList<JsonElement> Events()
    {
        lock (_events) return [.. _events];
    }

    /// <summary>Waits for the first event of that name; an "error" event, or the timeout, throws.</summary>
    public async Task<JsonElement> WaitEventAsync(string name, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (Event(name) is { } found) return found;
            if (Event("error") is { } error) throw new InvalidOperationException($"{Who}: {error.GetProperty("message")}\n{Diagnostics()}");
            if (_closed) throw new InvalidOperationException($"{Who}: closed before '{name}'");
            if (clock.Elapsed > timeout) throw new TimeoutException($"{Who}: no '{name}' within {timeout.TotalSeconds:F0} s\n{Diagnostics()}");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _closed = true;
        try
        {
            await _context.CloseAsync();
        }
        catch (PlaywrightException)
        {
        }
        DeleteProfile(_profile);
    }

    private static void DeleteProfile(string profile)
    {
        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
