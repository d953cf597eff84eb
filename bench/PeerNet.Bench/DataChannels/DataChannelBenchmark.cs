using System.Diagnostics;
using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using PeerNet.Hub;
using static PeerNet.Bench.BenchTools;

namespace PeerNet.Bench.DataChannels;

/// <summary>
/// `peernet ping` over loopback: PeerNet↔PeerNet (two CLI processes), PeerNet↔Chromium (the CLI
/// against a browser echo page) and, as the reference, Chromium↔Chromium (two pages running the
/// same measurement in JavaScript), in the same run against the same hub. Connection setup time,
/// round-trip time and the throughput of bytes sent and echoed back, with ratios to Chromium.
/// Browsers gather ICE candidates, so it runs in a loopback-only network namespace of its own.
/// </summary>
/// <remarks>
/// Every Chromium peer has a browser of its own, as every PeerNet peer has a process of its own.
/// Pages of one browser share its network service, which sends and receives every packet for
/// them; a renderer drops any packet that would put more than 64 KiB in flight to it
/// (packetsDiscardedOnSend), and with both ends of a bulk transfer relayed by one service that
/// happened hundreds of times per run, leaving SCTP to recover by retransmission timeouts for
/// 10-15 s: 1-4 MiB/s instead of the 6-20 MiB/s two browsers reach on the same machine.
/// </remarks>
public static partial class DataChannelBenchmark
{
    public const string Usage = """
        usage: PeerNet.Bench datachannel [options]   (root: it makes its own loopback-only network namespace)
          --bytes SIZE      bytes sent and echoed back per run (default 64M)
          --chunk SIZE      message size for the bulk transfer (default 16K)
          --count N         round trips timed per run (default 20)
          --repeat N        runs per pairing; the median is reported (default 3)
          --out FILE        also write the markdown report there
          --no-build        do not build src/PeerNet.Cli first
        """;

    private const string NamespaceVariable = "PEERNET_BENCH_NETNS";

    /// <param name="DiscardedOnSend">Packets the Chromium peers dropped before sending (see the remarks); 0 for PeerNet alone.</param>
    private sealed record Result(double SetupMs, double RttP50Ms, double MibPerSecond, long DiscardedOnSend = 0);

    public static async Task<int> RunAsync(string[] args)
    {
        long bytes = 64L << 20, chunk = 16 << 10;
        int count = 20, repeat = 3;
        string? outFile = null;
        var build = true;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--bytes": bytes = BenchTools.ParseSize(args[++i]); break;
                    case "--chunk": chunk = BenchTools.ParseSize(args[++i]); break;
                    case "--count": count = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--out": outFile = args[++i]; break;
                    case "--no-build": build = false; break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var repo = FindRepoRoot();
        var cliDll = Path.Combine(repo, "src", "PeerNet.Cli", "bin", "Release", "net10.0", "PeerNet.Cli.dll");
        if (!IsLoopbackOnly())
        {
            if (build)
            {
                Console.WriteLine("building src/PeerNet.Cli (Release) ...");
                await RunToolAsync("dotnet", ["build", Path.Combine(repo, "src", "PeerNet.Cli", "PeerNet.Cli.csproj"), "-c", "Release", "-nologo", "-v", "q", "-clp:ErrorsOnly"], repo, TimeSpan.FromMinutes(10));
            }
            return await RerunInNamespaceAsync(args);
        }
        if (!File.Exists(cliDll)) throw new FileNotFoundException($"PeerNet.Cli is not built: {cliDll}");

        var dataDir = Directory.CreateTempSubdirectory("peernet-bench-hub-").FullName;
        await using var hub = await HubServer.StartAsync(new HubOptions { Bind = "127.0.0.1", Port = 0, Http = true, DataDir = dataDir }, CancellationToken.None, _ => { });
        using var playwright = await Playwright.CreateAsync();
        // One browser per Chromium peer (see the remarks): the echo side's, and the pinger's.
        await using var browser = await LaunchChromiumAsync(playwright);
        await using var pingerBrowser = await LaunchChromiumAsync(playwright);
        var page = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "rtc-echo.html"));

        var machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, {(await CaptureAsync("/usr/bin/chromium", ["--version"])).Trim()}";
        Console.WriteLine($"data channels over loopback: {FormatSize(bytes)} echoed in {FormatSize(chunk)} messages, {count} round trips, {repeat} run(s) each; {machine}");

        var results = new Dictionary<string, List<Result>> { ["PeerNet ↔ PeerNet"] = [], ["PeerNet ↔ Chromium"] = [], ["Chromium ↔ Chromium"] = [] };
        for (var run = 0; run < repeat; run++)
        {
            // Alternate the pairings within each run, so drift on the machine hits all alike.
            results["Chromium ↔ Chromium"].Add(await ChromiumPairAsync(browser, pingerBrowser, hub, page, bytes, chunk, count));
            results["PeerNet ↔ PeerNet"].Add(await CliPingAsync(cliDll, hub, bytes, chunk, count, echo: "cli", browser, page));
            results["PeerNet ↔ Chromium"].Add(await CliPingAsync(cliDll, hub, bytes, chunk, count, echo: "chromium", browser, page));
            foreach (var (name, list) in results) Console.WriteLine($"  run {run + 1}: {name,-22} {Describe(list[^1])}");
        }

        var reference = Median(results["Chromium ↔ Chromium"]);
        var report = new StringBuilder();
        report.AppendLine($"| pairing | setup (ms) | RTT p50 (ms) | throughput (MiB/s each way) | throughput vs Chromium↔Chromium |");
        report.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var (name, list) in results)
        {
            var m = Median(list);
            report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {m.SetupMs:F0} | {m.RttP50Ms:F3} | {m.MibPerSecond:F1} | {m.MibPerSecond / reference.MibPerSecond:F2}× |");
        }
        report.AppendLine();
        report.AppendLine("Every peer runs alone: two `peernet` processes, or two Chromium browsers (pages of one browser share its network service, and bulk transfers between them stall for seconds).");
        Console.WriteLine();
        Console.WriteLine($"medians of {repeat} run(s); {machine}");
        Console.Write(report);
        if (outFile is not null) await File.WriteAllTextAsync(outFile, report.ToString());
        try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
        return 0;
    }

    private static async Task<Result> ChromiumPairAsync(IBrowser echoBrowser, IBrowser pingerBrowser, HubServer hub, string html, long bytes, long chunk, int count)
    {
        var room = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var echo = await OpenAsync(echoBrowser, hub, html, $"?room={room}&role=answer");
        try
        {
            await WaitEventAsync(echo, "joined", TimeSpan.FromSeconds(30));
            var pinger = await OpenAsync(pingerBrowser, hub, html, $"?room={room}&role=offer&bench={bytes}&chunk={chunk}&count={count}&channels=" + Uri.EscapeDataString("""[{"label":"bench"}]"""));
            try
            {
                var e = await WaitEventAsync(pinger, "bench", TimeSpan.FromMinutes(5));
                var discarded = e.GetProperty("packetsDiscardedOnSend").GetInt64() + await DiscardedOnSendAsync(echo);
                return new Result(e.GetProperty("setupMs").GetDouble(), e.GetProperty("rttP50").GetDouble(), e.GetProperty("mibPerSecond").GetDouble(), discarded);
            }
            finally
            {
                await pinger.Context.CloseAsync();
            }
        }
        finally
        {
            await echo.Context.CloseAsync();
        }
    }

    private static async Task<Result> CliPingAsync(string cliDll, HubServer hub, long bytes, long chunk, int count, string echo, IBrowser browser, string html)
    {
        var room = "bench-" + Guid.NewGuid().ToString("N")[..8];
        Process? echoProcess = null;
        IPage? echoPage = null;
        try
        {
            if (echo == "cli")
            {
                echoProcess = StartCli(cliDll, ["echo", "--hub", hub.Url.ToString(), "--room", room], out var output);
                var clock = Stopwatch.StartNew();
                while (!output.ToString().Contains("answering every offer", StringComparison.Ordinal))
                {
                    if (clock.Elapsed > TimeSpan.FromSeconds(30) || echoProcess.HasExited) throw new InvalidOperationException("peernet echo did not start:\n" + output);
                    await Task.Delay(20);
                }
            }
            else
            {
                echoPage = await OpenAsync(browser, hub, html, $"?room={room}&role=answer");
                await WaitEventAsync(echoPage, "joined", TimeSpan.FromSeconds(30));
            }
            using var ping = StartCli(cliDll, ["ping", "--hub", hub.Url.ToString(), "--room", room, "--count", count.ToString(CultureInfo.InvariantCulture),
                "--bytes", bytes.ToString(CultureInfo.InvariantCulture), "--chunk", chunk.ToString(CultureInfo.InvariantCulture), "--timeout", "60"], out var pingOutput);
            if (!ping.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                ping.Kill(entireProcessTree: true);
                throw new TimeoutException("peernet ping did not finish:\n" + pingOutput);
            }
            ping.WaitForExit();
            var text = pingOutput.ToString();
            if (ping.ExitCode != 0) throw new InvalidOperationException($"peernet ping failed ({ping.ExitCode}):\n{text}");
            var discarded = echoPage is null ? 0 : await DiscardedOnSendAsync(echoPage);
            return new Result(Number(SetupPattern(), text), Number(RttPattern(), text), Number(ThroughputPattern(), text), discarded);
        }
        finally
        {
            if (echoProcess is not null)
            {
                try { echoProcess.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                echoProcess.Dispose();
            }
            if (echoPage is not null) await echoPage.Context.CloseAsync();
        }
    }

    [GeneratedRegex(@"connected to \S+ in ([0-9.]+) ms")]
    private static partial Regex SetupPattern();

    [GeneratedRegex(@"p50 ([0-9.]+)")]
    private static partial Regex RttPattern();

    [GeneratedRegex(@"= ([0-9.]+) MiB/s each way")]
    private static partial Regex ThroughputPattern();

    private static double Number(Regex pattern, string text)
    {
        var match = pattern.Match(text);
        if (!match.Success) throw new InvalidOperationException($"no '{pattern}' in the ping output:\n{text}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static Process StartCli(string cliDll, string[] arguments, out StringBuilder output)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(cliDll);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start dotnet");
        var buffer = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (buffer) buffer.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (buffer) buffer.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = buffer;
        return process;
    }

    /// <summary>Headless Debian Chromium as the integration tests start it (Playwright adds its own flags that keep background pages from being throttled).</summary>
    private static Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args =
        [
            "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks,Translate,OptimizationHints,MediaRouter",
        ],
    });

    /// <summary>Packets the page's RTCPeerConnection dropped before sending (its candidate pairs' packetsDiscardedOnSend).</summary>
    private static async Task<long> DiscardedOnSendAsync(IPage page) => (long)await page.EvaluateAsync<double>(
        "async () => { let n = 0; (await window.pc.getStats()).forEach((s) => { if (s.type === 'candidate-pair') n += s.packetsDiscardedOnSend ?? 0; }); return n; }");

    private static async Task<IPage> OpenAsync(IBrowser browser, HubServer hub, string html, string query)
    {
        var context = await browser.NewContextAsync();
        await context.GrantPermissionsAsync(["camera", "microphone"]);
        var page = await context.NewPageAsync();
        await page.RouteAsync(url => new Uri(url).AbsolutePath == "/__bench/rtc-echo.html", route => route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "text/html", Body = html }));
        await page.GotoAsync(new Uri(hub.Url, "/__bench/rtc-echo.html" + query).ToString());
        return page;
    }

    private static async Task<JsonElement> WaitEventAsync(IPage page, string name, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var json = await page.EvaluateAsync<string>("() => JSON.stringify(window.events ?? [])");
            foreach (var e in JsonDocument.Parse(json).RootElement.EnumerateArray())
                if (e.GetProperty("event").GetString() == name) return e.Clone();
            if (clock.Elapsed > timeout) throw new TimeoutException($"no '{name}' from the page: {json}");
            await Task.Delay(50);
        }
    }

    private static Result Median(List<Result> results)
    {
        double M(IEnumerable<double> values) { var v = values.Order().ToList(); return v[v.Count / 2]; }
        return new Result(M(results.Select(r => r.SetupMs)), M(results.Select(r => r.RttP50Ms)), M(results.Select(r => r.MibPerSecond)));
    }

    private static string Describe(Result r) => $"setup {r.SetupMs,6:F0} ms   rtt p50 {r.RttP50Ms,7:F3} ms   {r.MibPerSecond,7:F1} MiB/s"
        + (r.DiscardedOnSend > 0 ? $"   (Chromium dropped {r.DiscardedOnSend} packets before sending)" : "");

    internal static bool IsLoopbackOnly() => !NetworkInterface.GetAllNetworkInterfaces()
        .Where(i => i.NetworkInterfaceType != NetworkInterfaceType.Loopback && i.OperationalStatus != OperationalStatus.Down)
        .Any(i => i.GetIPProperties().UnicastAddresses.Any(a => a.Address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6));

    /// <summary>Runs this benchmark again inside a fresh loopback-only network namespace, then removes it.</summary>
    internal static async Task<int> RerunInNamespaceAsync(string[] args)
    {
        if (Environment.GetEnvironmentVariable(NamespaceVariable) is not null)
            throw new InvalidOperationException("still not loopback-only inside the benchmark's network namespace");
        var name = $"pn-bench-{Environment.ProcessId}";
        await RunToolAsync("ip", ["netns", "add", name], "/", TimeSpan.FromSeconds(10));
        try
        {
            await RunToolAsync("ip", ["-n", name, "link", "set", "lo", "up"], "/", TimeSpan.FromSeconds(10));
            var info = new ProcessStartInfo("ip") { UseShellExecute = false };
            // Under `dotnet PeerNet.Bench.dll` the first command-line argument is the dll; under the apphost, the apphost.
            var self = Environment.ProcessPath!;
            var rest = Path.GetFileNameWithoutExtension(self) == "dotnet" ? Environment.GetCommandLineArgs() : Environment.GetCommandLineArgs().Skip(1);
            foreach (var a in (string[])["netns", "exec", name, "env", $"{NamespaceVariable}={name}", self, .. rest, "--no-build"])
                info.ArgumentList.Add(a);
            using var child = Process.Start(info) ?? throw new InvalidOperationException("cannot start ip netns exec");
            await child.WaitForExitAsync();
            return child.ExitCode;
        }
        finally
        {
            await RunToolAsync("ip", ["netns", "del", name], "/", TimeSpan.FromSeconds(10));
        }
    }


    private static string FormatSize(long bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : bytes >= 1 << 10 ? $"{bytes >> 10} KiB" : $"{bytes} B";
}
