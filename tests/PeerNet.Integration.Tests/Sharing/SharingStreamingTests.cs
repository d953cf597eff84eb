using System.Text.Json;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// Streaming (issue 7, deliverable 4): a video seeded by `peernet share` at a capped rate plays in
/// Chromium's &lt;video&gt; while it downloads — through the web app's service worker, which turns
/// the player's range requests into reads of verified pieces — and still ends byte-exact.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SharingStreamingTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    // A real VP8 WebM, recorded by Chromium from a canvas of noise (so it is large for its length).
    private const string RecordVideo = """
        async (ms) => {
          const canvas = document.createElement('canvas');
          canvas.width = 320;
          canvas.height = 240;
          document.body.appendChild(canvas);
          const g = canvas.getContext('2d');
          const image = g.createImageData(320, 240);
          const recorder = new MediaRecorder(canvas.captureStream(30), { mimeType: 'video/webm;codecs=vp8', videoBitsPerSecond: 3000000 });
          const chunks = [];
          recorder.ondataavailable = (e) => chunks.push(e.data);
          let frame = 0;
          const draw = setInterval(() => {
            const d = image.data;
            for (let i = 0; i < d.length; i += 4) {
              const v = (Math.random() * 256) | 0;
              d[i] = v; d[i + 1] = (v + frame * 3) & 255; d[i + 2] = (frame * 5) & 255; d[i + 3] = 255;
            }
            g.putImageData(image, 0, 0);
            frame++;
          }, 33);
          recorder.start(500);
          await new Promise((r) => setTimeout(r, ms));
          const stopped = new Promise((r) => { recorder.onstop = r; });
          recorder.stop();
          await stopped;
          clearInterval(draw);
          canvas.remove();
          const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
          let s = '';
          for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
          return btoa(s);
        }
        """;

    // The player, the file's row and the download, read at one instant.
    private const string PlayerState = """
        () => {
          const v = document.querySelector('[data-testid=file-player]');
          const row = document.querySelector('[data-testid=file-row][data-index="0"]');
          return {
            time: v ? v.currentTime : -1,
            readyState: v ? v.readyState : 0,
            error: v && v.error ? `${v.error.code} ${v.error.message}` : '',
            src: v ? v.currentSrc : '',
            controlled: !!navigator.serviceWorker.controller,
            state: row ? row.dataset.state : '',
            percent: document.querySelector('[data-testid=overall-percent]').textContent,
          };
        }
        """;

    [Fact(Timeout = 180_000)]
    public async Task A_video_seeded_by_the_cli_at_a_capped_rate_plays_in_chromium_while_it_downloads()
    {
        var recorder = await OpenAsync("recorder", Hub.Url.ToString());
        var video = Path.Combine(Files.Root, "clip.webm");
        await File.WriteAllBytesAsync(video, Convert.FromBase64String(await recorder.EvaluateAsync<string>(RecordVideo, 8000)));
        var size = new FileInfo(video).Length;
        Output.WriteLine($"recorded {size} bytes of VP8 WebM");
        Assert.True(size > 1_000_000, $"the recording is only {size} bytes");

        // At 256 KB/s the download takes several seconds longer than the start of playback needs.
        using var share = CliProcess.Start("share", "share", video, "--hub", Hub.Url.ToString(), "--plain", "--upload-limit", "256KB");
        try
        {
            var link = (await share.WaitForLineAsync(SharingCliBrowserTests.LinkLine().ToString(), TimeSpan.FromSeconds(30))).Value;
            await share.WaitForLineAsync("^seeding: 0 peer", TimeSpan.FromSeconds(30));
            var viewer = await OpenAsync("viewer", link);
            var row = WebApp.FileRow(viewer, 0);
            await Expect(row.GetByTestId("file-play")).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await row.GetByTestId("file-play").ClickAsync();

            var clock = System.Diagnostics.Stopwatch.StartNew();
            JsonElement state = default;
            while (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                state = await viewer.EvaluateAsync<JsonElement>(PlayerState);
                if (state.GetProperty("error").GetString() is { Length: > 0 } error) Assert.Fail($"the player failed: {error}");
                if (state.GetProperty("time").GetDouble() >= 1.0) break;
                await Task.Delay(100);
            }
            Output.WriteLine($"after {clock.Elapsed.TotalSeconds:F1} s: {state}");
            Assert.True(state.GetProperty("time").GetDouble() >= 1.0, $"the video did not play: {state}\n{await WebApp.DiagnosticsAsync(viewer)}");
            Assert.True(state.GetProperty("controlled").GetBoolean(), "the page has no streaming service worker");
            Assert.Contains("/stream/", state.GetProperty("src").GetString());
            // Playing, yet not downloaded: the file was streamed, not played from a finished copy.
            Assert.NotEqual("verified", state.GetProperty("state").GetString());
            Assert.NotEqual("100%", state.GetProperty("percent").GetString());

            await WebApp.WaitVerifiedAsync(viewer, 0, TransferTimeout);
            await AssertSavedIdenticalAsync(viewer, 0, video, "streamed");
            var after = await viewer.EvaluateAsync<JsonElement>(PlayerState);
            Output.WriteLine($"complete: {after}");
            Assert.Equal("", after.GetProperty("error").GetString());
            Assert.True(after.GetProperty("time").GetDouble() > state.GetProperty("time").GetDouble(), $"the video stopped playing: {after}");
        }
        finally
        {
            Output.WriteLine("--- share:\n" + share.Output);
        }
    }
}
