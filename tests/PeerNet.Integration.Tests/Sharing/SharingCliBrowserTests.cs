using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// Native and browser peers in one swarm: `peernet share` seeds and Chromium downloads through the
/// web app's get page; Chromium's send page seeds and `peernet get` downloads. Byte-exact both ways.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class SharingCliBrowserTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    [GeneratedRegex(@"^https?://\S+/#/get/[A-Za-z0-9_-]{43}#k=[A-Za-z0-9_-]{43}$")]
    internal static partial Regex LinkLine();

    [Fact(Timeout = 150_000)]
    public async Task The_cli_seeds_chromium_downloads_through_the_web_app_and_serves_the_next_cli_peer()
    {
        var big = Files.Random("a-random.bin", 16L << 20, seed: 51);
        var png = Files.Png("b-image.png", 64, 48);
        using var share = CliProcess.Start("share", "share", big, png, "--hub", Hub.Url.ToString(), "--name", "mixed", "--plain");
        try
        {
            var link = (await share.WaitForLineAsync(LinkLine().ToString(), TimeSpan.FromSeconds(30))).Value;
            await share.WaitForLineAsync("^seeding: 0 peer", TimeSpan.FromSeconds(30));
            var receiver = await OpenAsync("receiver", link);
            await Expect(receiver.GetByTestId("item-name")).ToHaveTextAsync("mixed", new() { Timeout = 30_000 });
            await WebApp.WaitVerifiedAsync(receiver, 0, TransferTimeout);
            await WebApp.WaitVerifiedAsync(receiver, 1, TransferTimeout);
            await AssertSavedIdenticalAsync(receiver, 0, big, "chromium");
            await AssertSavedIdenticalAsync(receiver, 1, png, "chromium");
            Assert.Equal(0, await share.StopAsync(TimeSpan.FromSeconds(30)));
            Assert.Matches(@"stopped: (1[6-9]|[2-9]\d)\.\d MiB uploaded", share.Output);

            // The sharer is gone: a native downloader gets everything from the browser tab alone.
            var directory = Path.Combine(Files.Downloads, "from-browser");
            var (exitCode, text) = await CliProcess.RunAsync(TimeSpan.FromSeconds(90), "get", link, "-o", directory, "--plain");
            Output.WriteLine(text);
            Assert.True(exitCode == 0, $"get exited {exitCode}");
            Assert.Equal(TestFiles.Sha256Hex(big), TestFiles.Sha256Hex(Path.Combine(directory, "a-random.bin")));
            Assert.Equal(TestFiles.Sha256Hex(png), TestFiles.Sha256Hex(Path.Combine(directory, "b-image.png")));
        }
        finally
        {
            Output.WriteLine("--- share:\n" + share.Output);
        }
    }

    /// <summary>
    /// A 1 GiB file seeded by the CLI downloads into Chromium's disk storage (OPFS) through the web
    /// app, and the page never holds it: what its JavaScript heap keeps alive (measured after a forced
    /// garbage collection, every 2 s of the download) stays far below what has arrived, every
    /// renderer's peak memory stays below the file's size, and the SHA-256 the page computes from the
    /// stored file is the original's.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task A_1_GiB_file_from_the_cli_downloads_in_chromium_without_the_page_holding_it()
    {
        var big = Files.Random("one-gib.bin", 1L << 30, seed: 53);
        var expected = TestFiles.Sha256Hex(big);
        using var share = CliProcess.Start("share", "share", big, "--hub", Hub.Url.ToString(), "--plain");
        try
        {
            var link = (await share.WaitForLineAsync(LinkLine().ToString(), TimeSpan.FromSeconds(60))).Value;
            await share.WaitForLineAsync("^seeding: 0 peer", TimeSpan.FromSeconds(30));
            var receiver = await OpenAsync("receiver", link);
            await Expect(receiver.GetByTestId("receive-view")).ToHaveAttributeAsync("data-storage", "opfs", new() { Timeout = 30_000 });
            var devtools = await receiver.Context.NewCDPSessionAsync(receiver);

            // Every renderer's resident memory, sampled while the gigabyte arrives.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long peakRenderer = 0;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peakRenderer = Math.Max(peakRenderer, RendererPeakKiB());
                    await Task.Delay(500);
                }
            });
            // What the page keeps alive, next to how far the download is.
            var live = new List<(int Percent, long Bytes)>();
            var verified = WebApp.WaitVerifiedAsync(receiver, 0, TimeSpan.FromSeconds(240));
            while (!verified.IsCompleted)
            {
                await devtools.SendAsync("HeapProfiler.collectGarbage");
                var heap = (long)await receiver.EvaluateAsync<double>("() => performance.memory ? performance.memory.usedJSHeapSize : 0");
                live.Add((await WebApp.PercentAsync(receiver, 0), heap));
                await Task.WhenAny(verified, Task.Delay(2000));
            }
            await verified;
            await sampling.CancelAsync();
            await sampler;
            var peakLive = live.Max(l => l.Bytes);
            Output.WriteLine($"1 GiB in {clock.Elapsed.TotalSeconds:0.0} s ({(1L << 30) / 1e6 / clock.Elapsed.TotalSeconds:0.0} MB/s); JS heap alive after GC (percent: MiB): "
                + string.Join(", ", live.Select(l => $"{l.Percent}%: {l.Bytes >> 20}")) + $"; peak renderer RSS {peakRenderer >> 10} MiB");
            await Expect(WebApp.FileRow(receiver, 0).GetByTestId("file-sha256")).ToHaveTextAsync(expected);
            Assert.True(live.Count(l => l.Percent >= 50) > 0, "no sample in the second half of the download");
            Assert.InRange(peakLive, 1, 128L << 20);
            Assert.InRange(peakRenderer, 1, (1L << 30 >> 10) - 1); // KiB: a renderer holding the file would reach its size
        }
        finally
        {
            Output.WriteLine("--- share:\n" + share.Output);
        }
    }

    /// <summary>The largest VmHWM (KiB) of the Chromium renderer processes on this machine.</summary>
    private static long RendererPeakKiB()
    {
        long peak = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (!cmdline.Contains("--type=renderer", StringComparison.Ordinal)) continue;
                foreach (var line in File.ReadLines(Path.Combine(dir, "status")))
                {
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    {
                        peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the process ended meanwhile
            }
        }
        return peak;
    }

    [Fact(Timeout = 150_000)]
    public async Task Chromium_seeds_and_the_cli_downloads()
    {
        var big = Files.Random("c-random.bin", 16L << 20, seed: 52);
        var png = Files.Png("d-image.png", 80, 60);
        var sender = await OpenAsync("sender", Hub.Url.ToString());
        var link = await WebApp.ShareAsync(sender, big, png);
        var directory = Path.Combine(Files.Downloads, "cli");
        var (exitCode, text) = await CliProcess.RunAsync(TimeSpan.FromSeconds(90), "get", link, "-o", directory, "--plain");
        Output.WriteLine(text);
        Assert.True(exitCode == 0, $"get exited {exitCode}");
        Assert.Contains("complete: 2 file(s)", text);
        foreach (var original in new[] { big, png })
        {
            var saved = Path.Combine(directory, Path.GetFileName(original));
            Assert.Equal(TestFiles.Sha256Hex(original), TestFiles.Sha256Hex(saved));
        }
    }
}
