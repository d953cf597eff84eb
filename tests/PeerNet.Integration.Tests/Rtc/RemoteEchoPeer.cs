using System.Text.Json;
using Microsoft.Playwright;
using PeerNet.Integration.Tests.Turn;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Rtc;

/// <summary>
/// An independent WebRTC stack on the other end of an interop test — aiortc (aiortc_peer.py) or
/// Chromium (rtc-echo.html) — that joins a hub room, offers or answers, and echoes every message.
/// Both report what happens as JSON events ({"event":"open","label":...}).
/// </summary>
internal abstract class RemoteEchoPeer : IAsyncDisposable
{
    public abstract string Name { get; }

    /// <summary>The events so far.</summary>
    public abstract Task<IReadOnlyList<JsonElement>> EventsAsync();

    public abstract ValueTask DisposeAsync();

    /// <summary>Waits for an event named <paramref name="name"/> (matching <paramref name="match"/>); fails with the event log on timeout.</summary>
    public async Task<JsonElement> WaitForAsync(string name, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var events = await EventsAsync();
            foreach (var e in events)
            {
                if (e.TryGetProperty("event", out var n) && n.GetString() == name && (match is null || match(e))) return e;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{Name}: no '{name}' event in time. Events:\n{string.Join("\n", events.Select(e => e.GetRawText()))}\n{await DiagnosticsAsync()}");
            }
            await Task.Delay(50);
        }
    }

    public async Task<bool> HasEventAsync(string name, Func<JsonElement, bool>? match = null) =>
        (await EventsAsync()).Any(e => e.TryGetProperty("event", out var n) && n.GetString() == name && (match is null || match(e)));

    protected virtual Task<string> DiagnosticsAsync() => Task.FromResult("");

    /// <summary>Everything it reported, for a failure message.</summary>
    public async Task<string> DescribeAsync() =>
        $"{Name} events:\n{string.Join("\n", (await EventsAsync()).Select(e => e.GetRawText()))}\n{await DiagnosticsAsync()}";

    public static string ChannelsJson(IEnumerable<object> specs) => JsonSerializer.Serialize(specs);
}

/// <summary>aiortc 1.4 (Debian's python3-aiortc) running tests/PeerNet.Integration.Tests/Rtc/aiortc_peer.py.</summary>
internal sealed class AiortcEchoPeer : RemoteEchoPeer
{
    private readonly TurnLoopback.BackgroundProcess _process;

    private AiortcEchoPeer(TurnLoopback.BackgroundProcess process) => _process = process;

    public override string Name => "aiortc";

    public static AiortcEchoPeer Start(Uri signalingUrl, string room, string role, string? channelsJson = null, bool forgeFingerprint = false, bool useHubTurn = false)
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python) || !Directory.Exists("/usr/lib/python3/dist-packages/aiortc"))
            Assert.Fail("aiortc is missing: install the Debian package python3-aiortc (apt-get install python3-aiortc python3-websockets).");
        var script = Path.Combine(AppContext.BaseDirectory, "Rtc", "aiortc_peer.py");
        var arguments = new List<string> { "-u", script, "--hub", signalingUrl.ToString(), "--room", room, "--role", role };
        if (channelsJson is not null) arguments.AddRange(["--channels", channelsJson]);
        if (forgeFingerprint) arguments.Add("--forge-fingerprint");
        if (useHubTurn) arguments.Add("--turn");
        return new AiortcEchoPeer(TurnLoopback.Start(python, arguments));
    }

    public override Task<IReadOnlyList<JsonElement>> EventsAsync()
    {
        var events = new List<JsonElement>();
        foreach (var line in _process.Output.Split('\n'))
        {
            var trimmed = line.Trim();
            if (!trimmed.StartsWith('{')) continue;
            try
            {
                events.Add(JsonDocument.Parse(trimmed).RootElement.Clone());
            }
            catch (JsonException)
            {
            }
        }
        return Task.FromResult<IReadOnlyList<JsonElement>>(events);
    }

    protected override Task<string> DiagnosticsAsync() => Task.FromResult("aiortc output:\n" + _process.Output);

    public override ValueTask DisposeAsync()
    {
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Headless Chromium running rtc-echo.html on the hub's origin.</summary>
internal sealed class ChromiumEchoPeer : RemoteEchoPeer
{
    private const string PagePath = "/__test/rtc-echo.html";
    private readonly IPage _page;

    private ChromiumEchoPeer(IPage page) => _page = page;

    public override string Name => "Chromium";

    public static async Task<ChromiumEchoPeer> StartAsync(BrowserFixture? browser, ITestOutputHelper output, Uri hubUrl, string room, string role, string? channelsJson = null, bool forgeFingerprint = false, Func<Task<IPage>>? newPage = null, bool relay = false, bool hubIceServers = false)
    {
        var page = newPage is not null ? await newPage() : await (browser ?? throw new ArgumentNullException(nameof(browser), "a browser or newPage")).NewPageAsync();
        page.Console += (_, message) =>
        {
            try { output.WriteLine($"[chromium] {message.Text}"); } catch (InvalidOperationException) { }
        };
        var html = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Rtc", "rtc-echo.html"));
        // Served on the hub's own origin so the page can import the hub's signaling module.
        await page.RouteAsync(url => new Uri(url).AbsolutePath == PagePath, route => route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "text/html", Body = html }));
        var query = $"?room={Uri.EscapeDataString(room)}&role={role}";
        if (channelsJson is not null) query += "&channels=" + Uri.EscapeDataString(channelsJson);
        if (forgeFingerprint) query += "&forge=1";
        if (relay) query += "&relay=1";
        if (hubIceServers) query += "&hub-ice=1";
        await page.GotoAsync(new Uri(hubUrl, PagePath + query).ToString());
        return new ChromiumEchoPeer(page);
    }

    public override async Task<IReadOnlyList<JsonElement>> EventsAsync()
    {
        var json = await _page.EvaluateAsync<string>("() => JSON.stringify(window.events ?? [])");
        return JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    protected override async Task<string> DiagnosticsAsync()
    {
        try
        {
            return "Chromium pc: " + await _page.EvaluateAsync<string>("() => window.pc ? `${window.pc.connectionState} ice=${window.pc.iceConnectionState} local=${window.pc.localDescription?.sdp} remote=${window.pc.remoteDescription?.sdp}` : 'none'");
        }
        catch (PlaywrightException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// The selected candidate pair's counters from getStats(): packets and bytes each way, and
    /// packetsDiscardedOnSend (packets Chromium dropped before they left, which SCTP sees as loss).
    /// </summary>
    public async Task<string> TransportStatsAsync() => await _page.EvaluateAsync<string>("""
        async () => {
          const stats = await window.pc.getStats();
          let pair = null;
          stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && (!pair || s.bytesSent > pair.bytesSent)) pair = s; });
          if (!pair) return 'no candidate pair';
          return `packetsSent ${pair.packetsSent} packetsReceived ${pair.packetsReceived} bytesSent ${pair.bytesSent} bytesReceived ${pair.bytesReceived} ` +
            `packetsDiscardedOnSend ${pair.packetsDiscardedOnSend ?? '?'} currentRoundTripTime ${pair.currentRoundTripTime ?? '?'}`;
        }
        """);

    public override async ValueTask DisposeAsync() => await _page.Context.CloseAsync();
}
