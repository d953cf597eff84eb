using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace PeerNet.Bench.Throughput;

/// <summary>Which implementation runs one side of a pair.</summary>
internal enum PeerKind
{
    PeerNet,
    Chromium,
    Aiortc,
}

/// <summary>What every side is told: its role, where to meet, how much to send in what messages.</summary>
internal sealed record PeerSpec(string Role, Uri Hub, Uri SignalingUrl, string Room, long Bytes, int Chunk, long HighWaterMark, string Address);

/// <summary>
/// One side of a throughput pair, in processes of its own: a PeerNet peer (this program in
/// <c>throughput-peer</c> mode), aiortc (throughput_peer.py) or a Chromium browser (throughput.html).
/// All speak the same events (joined, open, sent, done, error) and take "go" to start sending.
/// </summary>
internal abstract class BenchPeer : IAsyncDisposable
{
    private readonly List<JsonElement> _events = [];

    protected BenchPeer(PeerKind kind) => Kind = kind;

    public PeerKind Kind { get; }

    /// <summary>Every process of this peer.</summary>
    public abstract ProcessTree Tree { get; }

    public static async Task<BenchPeer> StartAsync(PeerKind kind, PeerSpec spec, IPlaywright playwright, string page)
    {
        BenchPeer peer = kind switch
        {
            PeerKind.Chromium => await BrowserPeer.LaunchAsync(playwright, spec, page),
            _ => ProcessPeer.Start(kind, spec),
        };
        await peer.WaitEventAsync("joined", TimeSpan.FromSeconds(60));
        return peer;
    }

    /// <summary>Tells the sender to start.</summary>
    public abstract Task GoAsync();

    /// <summary>A PeerNet peer's SCTP counters after the transfer; null for the others.</summary>
    public virtual Task<string?> SctpCountersAsync() => Task.FromResult<string?>(null);

    /// <summary>Output so far, for error messages.</summary>
    public abstract string Diagnostics();

    public abstract ValueTask DisposeAsync();

    protected void OnEvent(string json)
    {
        JsonElement e;
        try
        {
            e = JsonDocument.Parse(json).RootElement.Clone();
        }
        catch (JsonException)
        {
            return;
        }
        lock (_events) _events.Add(e);
    }

    /// <summary>Waits for the first event of that name; an "error" event, or the timeout, throws.</summary>
    public async Task<JsonElement> WaitEventAsync(string name, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_events)
            {
                foreach (var e in _events)
                {
                    var kind = e.GetProperty("event").GetString();
                    if (kind == name) return e;
                    if (kind == "error") throw new InvalidOperationException($"{Kind} peer: {e.GetProperty("message").GetString()}\n{Diagnostics()}");
                }
            }
            if (HasExited) throw new InvalidOperationException($"{Kind} peer exited before '{name}'\n{Diagnostics()}");
            if (clock.Elapsed > timeout) throw new TimeoutException($"{Kind} peer: no '{name}' within {timeout.TotalSeconds:F0} s\n{Diagnostics()}");
            await Task.Delay(10);
        }
    }

    protected abstract bool HasExited { get; }

    /// <summary>PeerNet or aiortc: a child process, events as JSON lines on its stdout, commands on its stdin.</summary>
    private sealed class ProcessPeer : BenchPeer
    {
        private readonly Process _process;
        private readonly StringBuilder _stderr = new();
        private readonly ProcessTree _tree;

        private ProcessPeer(PeerKind kind, Process process) : base(kind)
        {
            _process = process;
            var pid = process.Id;
            _tree = new ProcessTree(() => [pid]);
        }

        public override ProcessTree Tree => _tree;

        protected override bool HasExited => _process.HasExited;

        public static ProcessPeer Start(PeerKind kind, PeerSpec spec)
        {
            ProcessStartInfo info;
            if (kind == PeerKind.PeerNet)
            {
                var self = Environment.ProcessPath!;
                info = new ProcessStartInfo(self);
                if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
                info.ArgumentList.Add("throughput-peer");
                // The peer runs as a user's program would: socket completions on the thread pool.
                info.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
            }
            else
            {
                info = new ProcessStartInfo("/usr/bin/python3");
                info.ArgumentList.Add("-u");
                info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "throughput_peer.py"));
            }
            foreach (var a in (string[])["--hub", spec.SignalingUrl.ToString(), "--room", spec.Room, "--role", spec.Role,
                "--bytes", spec.Bytes.ToString(CultureInfo.InvariantCulture), "--chunk", spec.Chunk.ToString(CultureInfo.InvariantCulture),
                "--hwm", spec.HighWaterMark.ToString(CultureInfo.InvariantCulture), "--address", spec.Address])
            {
                info.ArgumentList.Add(a);
            }
            info.RedirectStandardInput = true;
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = true;
            info.UseShellExecute = false;
            var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start the {kind} peer");
            var peer = new ProcessPeer(kind, process);
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) peer.OnEvent(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (peer._stderr) peer._stderr.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return peer;
        }

        public override async Task GoAsync()
        {
            await _process.StandardInput.WriteLineAsync("go");
            await _process.StandardInput.FlushAsync();
        }

        public override async Task<string?> SctpCountersAsync()
        {
            if (Kind != PeerKind.PeerNet) return null;
            await _process.StandardInput.WriteLineAsync("stats");
            await _process.StandardInput.FlushAsync();
            return (await WaitEventAsync("stats", TimeSpan.FromSeconds(10))).GetProperty("text").GetString();
        }

        public override string Diagnostics()
        {
            lock (_stderr) return _stderr.Length == 0 ? "" : "stderr:\n" + _stderr;
        }

        public override async ValueTask DisposeAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    await _process.StandardInput.WriteLineAsync("quit");
                    await _process.StandardInput.FlushAsync();
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
                }
            }
            catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException)
            {
            }
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }

    /// <summary>A Chromium browser of its own with one page; events come as console messages (no polling of the page).</summary>
    private sealed class BrowserPeer : BenchPeer
    {
        // Playwright replaces its own --disable-features list with ours: the integration tests' list
        // (BrowserFixture), which keeps Chromium quiet and lets WebRTC use local addresses.
        private const string DisabledFeatures = "WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks,AvoidUnnecessaryBeforeUnloadCheckSync,"
            + "DestroyProfileOnBrowserClose,DialMediaRouteProvider,GlobalMediaControls,HttpsUpgrades,MediaRouter,PaintHolding,"
            + "ThirdPartyStoragePartitioning,Translate,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled";

        private readonly IBrowser _browser;
        private readonly IPage _page;
        private readonly ProcessTree _tree;
        private readonly StringBuilder _console = new();
        private bool _closed;

        private BrowserPeer(IBrowser browser, IPage page, string marker) : base(PeerKind.Chromium)
        {
            _browser = browser;
            _page = page;
            _tree = new ProcessTree(() => ProcessTree.WithCommandLine(marker));
        }

        public override ProcessTree Tree => _tree;

        protected override bool HasExited => _closed;

        public static async Task<BrowserPeer> LaunchAsync(IPlaywright playwright, PeerSpec spec, string html)
        {
            // An argument Chromium ignores, to find this browser's processes in /proc.
            var marker = "--peernet-bench-peer=" + Guid.NewGuid().ToString("N");
            var loopback = System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(spec.Address));
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = "/usr/bin/chromium",
                Headless = true,
                Timeout = 60_000,
                Args =
                [
                    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    // Over the delay line the peers meet on a non-loopback address; loopback would bypass it.
                    .. loopback ? (string[])["--allow-loopback-in-peer-connection"] : [],
                    "--disable-features=" + DisabledFeatures,
                    marker,
                ],
            });
            var context = await browser.NewContextAsync();
            // Headless Chromium gathers every local address only for pages allowed camera/microphone.
            await context.GrantPermissionsAsync(["camera", "microphone"]);
            var page = await context.NewPageAsync();
            var peer = new BrowserPeer(browser, page, marker);
            page.Console += (_, message) =>
            {
                var text = message.Text;
                if (text.StartsWith("bench ", StringComparison.Ordinal)) peer.OnEvent(text["bench ".Length..]);
                else lock (peer._console) peer._console.AppendLine(text);
            };
            page.PageError += (_, error) => peer.OnEvent(JsonSerializer.Serialize(new { @event = "error", message = error }));
            await page.RouteAsync(url => new Uri(url).AbsolutePath == "/__bench/throughput.html",
                route => route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "text/html", Body = html }));
            var query = $"?role={spec.Role}&room={spec.Room}&bytes={spec.Bytes}&chunk={spec.Chunk}&hwm={spec.HighWaterMark}";
            await page.GotoAsync(new Uri(spec.Hub, "/__bench/throughput.html" + query).ToString());
            return peer;
        }

        public override Task GoAsync() => _page.EvaluateAsync("() => { window.go(); }");

        public override string Diagnostics()
        {
            lock (_console) return _console.Length == 0 ? "" : "console:\n" + _console;
        }

        public override async ValueTask DisposeAsync()
        {
            _closed = true;
            try
            {
                await _browser.CloseAsync();
            }
            catch (PlaywrightException)
            {
            }
        }
    }
}
