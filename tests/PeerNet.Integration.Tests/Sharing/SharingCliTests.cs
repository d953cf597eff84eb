using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PeerNet.Rtc;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using PeerNet.Signaling;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Sharing;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharingCliCollection
{
    public const string Name = "sharing-cli";
}

/// <summary>
/// `peernet share`, `get`, `pin` and `serve --store` as real processes on a loopback hub: byte-exact
/// folders, a swarm of downloaders, the sharer leaving, kill -9 and resume, clear errors, and a hub
/// whose log never holds the key.
/// </summary>
[Collection(SharingCliCollection.Name)]
public sealed partial class SharingCliTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Transfer = TimeSpan.FromSeconds(60);

    private readonly TestFiles _files = new();
    private readonly List<CliProcess> _processes = [];
    private SharingHub _hub = null!;

    [GeneratedRegex(@"^(https?://\S+/#/get/[A-Za-z0-9_-]{43})#k=([A-Za-z0-9_-]{43})$")]
    private static partial Regex LinkLine();

    public async Task InitializeAsync() => _hub = await SharingHub.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            output.WriteLine($"--- {p.Output}");
            p.Dispose();
        }
        await _hub.DisposeAsync();
        _files.Dispose();
    }

    private CliProcess Start(params string[] arguments)
    {
        var process = CliProcess.Start(arguments[0], arguments);
        _processes.Add(process);
        return process;
    }

    private async Task<(string Link, string PinLink, string Key)> ShareAsync(CliProcess share)
    {
        var match = await share.WaitForLineAsync(LinkLine().ToString(), Step);
        await share.WaitForLineAsync("^seeding: 0 peer", Step);
        return (match.Value, match.Groups[1].Value, match.Groups[2].Value);
    }

    private async Task<string> GetAsync(string link, string directory, params string[] extra)
    {
        var (exitCode, text) = await CliProcess.RunAsync(Transfer, ["get", link, "-o", directory, "--plain", .. extra]);
        output.WriteLine(text);
        Assert.True(exitCode == 0, $"get exited {exitCode}:\n{text}");
        return text;
    }

    private static void AssertSameFile(string expected, string actual)
    {
        Assert.True(File.Exists(actual), $"{actual} is missing");
        Assert.Equal(new FileInfo(expected).Length, new FileInfo(actual).Length);
        Assert.Equal(TestFiles.Sha256Hex(expected), TestFiles.Sha256Hex(actual));
    }

    private static void AssertNoPartFiles(string directory) =>
        Assert.Empty(Directory.EnumerateFiles(directory, "*" + DownloadStore.PartSuffix, SearchOption.AllDirectories));

    private string Folder(out string big, out string notes, out string empty)
    {
        var root = Directory.CreateDirectory(Path.Combine(_files.Root, "holiday"));
        Directory.CreateDirectory(Path.Combine(root.FullName, "day 1"));
        big = _files.Random(Path.Combine("holiday", "day 1", "beach.bin"), 24L << 20, seed: 41);
        notes = _files.Random(Path.Combine("holiday", "notes.txt"), 1000, seed: 42);
        empty = Path.Combine(root.FullName, "empty.txt");
        File.WriteAllBytes(empty, []);
        return root.FullName;
    }

    [Fact(Timeout = 120_000)]
    public async Task One_seeder_and_three_downloaders_at_once_get_a_folder_byte_exact_and_the_hub_never_sees_the_key()
    {
        var folder = Folder(out var big, out var notes, out var empty);
        var share = Start("share", folder, "--hub", _hub.Url.ToString(), "--plain");
        var (link, _, key) = await ShareAsync(share);

        var directories = Enumerable.Range(1, 3).Select(i => Path.Combine(_files.Downloads, "d" + i)).ToArray();
        var texts = await Task.WhenAll(directories.Select(d => GetAsync(link, d, "--verbose")));
        foreach (var (directory, text) in directories.Zip(texts))
        {
            AssertSameFile(big, Path.Combine(directory, "holiday", "day 1", "beach.bin"));
            AssertSameFile(notes, Path.Combine(directory, "holiday", "notes.txt"));
            AssertSameFile(empty, Path.Combine(directory, "holiday", "empty.txt"));
            AssertNoPartFiles(directory);
            Assert.Contains("complete: 3 file(s)", text);
            // Logs at debug level: the link's key is nowhere in them (nor on the screen).
            Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        }

        Assert.Equal(0, await share.StopAsync(Step));
        Assert.Contains("stopped:", share.Output);
        var hubLog = _hub.Log;
        Assert.Contains("/signal", hubLog); // the hub did log its requests, at trace level
        Assert.DoesNotContain(key, hubLog, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(Base64Url(key)), hubLog, StringComparison.OrdinalIgnoreCase);
    }

    private static byte[] Base64Url(string text) => Convert.FromBase64String(text.Replace('-', '+').Replace('_', '/') + "=");

    [Fact(Timeout = 120_000)]
    public async Task The_sharer_leaves_and_a_fresh_downloader_gets_everything_from_a_pin_and_a_finished_downloader()
    {
        var file = _files.Random("leaving.bin", 12L << 20, seed: 43);
        var share = Start("share", file, "--hub", _hub.Url.ToString(), "--plain");
        var (link, pinLink, key) = await ShareAsync(share);

        var store = Path.Combine(_files.Root, "store");
        var pin = Start("pin", pinLink, "--store", store, "--plain");
        await pin.WaitForLineAsync("^pinned: a complete replica", Transfer);
        var first = Path.Combine(_files.Downloads, "first");
        var seeder = Start("get", link, "-o", first, "--plain", "--seed");
        await seeder.WaitForLineAsync("^seeding: serving it", Transfer);
        AssertSameFile(file, Path.Combine(first, "leaving.bin"));

        Assert.Equal(0, await share.StopAsync(Step));
        var fresh = Path.Combine(_files.Downloads, "fresh");
        await GetAsync(link, fresh);
        AssertSameFile(file, Path.Combine(fresh, "leaving.bin"));

        // The replica holds sealed pieces only: the key is in none of its files.
        var keyBytes = Base64Url(key);
        foreach (var path in Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(path);
            Assert.True(bytes.AsSpan().IndexOf(keyBytes) < 0, $"{path} holds the key");
            Assert.DoesNotContain(key, Encoding.ASCII.GetString(bytes), StringComparison.Ordinal);
        }
        Assert.DoesNotContain(key, pin.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_download_killed_midway_resumes_to_a_byte_exact_file()
    {
        // The seeder runs in-process and serves each piece 40 ms late, so the download takes a few
        // seconds and can be caught midway.
        var file = _files.Random("resume.bin", 48L << 20, seed: 44);
        var item = await ItemSealer.SealAsync(ItemSource.FromFile(file));
        using var plain = new PlainPieceSource(item);
        await using var signaling = new SignalingClient(new SignalingClientOptions { Url = _hub.Server.SignalingUrl });
        await signaling.ConnectAsync();
        await using var swarm = await ShareSwarm.StartAsync(signaling, new SlowSource(plain, TimeSpan.FromMilliseconds(40)));
        var link = item.CreateLink(_hub.Url.Authority, "http").ToString();

        var directory = Path.Combine(_files.Downloads, "resume");
        var final = Path.Combine(directory, "resume.bin");
        using (var get = Start("get", link, "-o", directory, "--plain"))
        {
            // The first line may come as the peer connects, at 0 %: wait for one with data stored.
            var progress = await get.WaitForLineAsync(@"^progress: .*\(([1-9]\d*)%\)", Transfer);
            get.Kill();
            output.WriteLine($"killed at: {progress.Value}");
            Assert.InRange(int.Parse(progress.Groups[1].Value, CultureInfo.InvariantCulture), 1, 95);
        }

        // Nothing looks complete: the data is in the part file only.
        Assert.False(File.Exists(final), "the final name exists before the download completed");
        Assert.True(File.Exists(final + DownloadStore.PartSuffix));

        var text = await GetAsync(link, directory);
        var resumed = Regex.Match(text, @"resuming: (\d+) of (\d+) pieces already stored");
        Assert.True(resumed.Success, "the second run did not resume");
        Assert.InRange(int.Parse(resumed.Groups[1].Value, CultureInfo.InvariantCulture), 1, item.Info.PieceCount - 1);
        AssertSameFile(file, final);
        AssertNoPartFiles(directory);
    }

    [Fact(Timeout = 120_000)]
    public async Task Bad_links_pin_links_wrong_keys_and_no_peers_are_clear_errors()
    {
        var file = _files.Random("errors.bin", 100_000, seed: 45);
        var share = Start("share", file, "--hub", _hub.Url.ToString(), "--plain");
        var (link, pinLink, key) = await ShareAsync(share);
        var directory = Path.Combine(_files.Downloads, "errors");

        var (code, text) = await CliProcess.RunAsync(Step, "get", pinLink[..^5] + "#k=abc", "-o", directory);
        output.WriteLine(text);
        Assert.Equal(2, code);
        Assert.Contains("bad-link", text);

        (code, text) = await CliProcess.RunAsync(Step, "get", pinLink, "-o", directory);
        output.WriteLine(text);
        Assert.Equal(2, code);
        Assert.Contains("missing-key", text);
        Assert.Contains("peernet pin", text);

        // A well-formed key that is not the item's: the manifest does not open, nothing is written.
        var wrongKey = key[0] == 'A' ? "B" + key[1..] : "A" + key[1..];
        (code, text) = await CliProcess.RunAsync(Step, "get", pinLink + "#k=" + wrongKey, "-o", directory, "--plain");
        output.WriteLine(text);
        Assert.Equal(2, code);
        Assert.Contains("wrong-key", text);
        Assert.Empty(Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories));

        // Nobody has this one.
        var unknown = new ShareLink(_hub.Url.Authority, ContentId.FromBytes(new byte[32]), ContentKey.Generate(), "http").ToString();
        (code, text) = await CliProcess.RunAsync(Step, "get", unknown, "-o", directory, "--timeout", "3", "--plain");
        output.WriteLine(text);
        Assert.Equal(2, code);
        Assert.Contains("no peers", text);

        // The real link still works after all that.
        await GetAsync(link, directory);
        AssertSameFile(file, Path.Combine(directory, "errors.bin"));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("--upload-limit", "1MB", "--upload-limit needs --store")]
    [InlineData("--pin", "https://127.0.0.1/#/get/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--pin needs --store")]
    [InlineData("--pin-token", "a-token-nobody-can-use-here", "--pin-token needs --store")]
    public async Task Serve_options_that_only_work_with_a_store_are_refused_without_one(string option, string value, string expected)
    {
        // Refused before anything listens, so the port given is never bound.
        var (code, text) = await CliProcess.RunAsync(Step, "serve", "--port", "1", "--http", "--no-turn", option, value);
        output.WriteLine(text);
        Assert.Equal(2, code);
        Assert.Contains(expected, text);
    }

    [Fact(Timeout = 120_000)]
    public async Task Share_runs_its_own_hub_and_serve_store_reseeds_a_pin_after_everyone_left()
    {
        var file = _files.Random("alone.bin", 6L << 20, seed: 46);
        var hubData = Path.Combine(_files.Root, "hub-data");
        var share = Start("share", file, "--http", "--bind", "127.0.0.1", "--data-dir", hubData, "--plain");
        var (link, pinLink, _) = await ShareAsync(share);
        Assert.Contains("hub: running here at http://127.0.0.1:", share.Output);

        var store = Path.Combine(_files.Root, "store");
        var pin = Start("pin", pinLink, "--store", store, "--plain");
        await pin.WaitForLineAsync("^pinned: a complete replica", Transfer);
        Assert.Equal(0, await pin.StopAsync(Step));
        Assert.Equal(0, await share.StopAsync(Step)); // its hub goes with it

        // A hub with the store serves the item in its own rooms: the same CID and key on this hub.
        var serve = Start("serve", "--store", store, "--http", "--bind", "127.0.0.1", "--port", "0", "--data-dir", hubData, "--no-turn");
        var open = await serve.WaitForLineAsync(@"Open\s+(http://127\.0\.0\.1:\d+)/", Step);
        await serve.WaitForLineAsync("store: .*: 1 item\\(s\\) re-seeded", Step);
        var moved = open.Groups[1].Value + link[link.IndexOf("/#/get/", StringComparison.Ordinal)..];
        var directory = Path.Combine(_files.Downloads, "from-store");
        await GetAsync(moved, directory);
        AssertSameFile(file, Path.Combine(directory, "alone.bin"));
    }

    [Fact(Timeout = 120_000)]
    public async Task Pin_to_a_running_serve_store_makes_it_keep_the_item_after_the_sharer_leaves()
    {
        var file = _files.Random("remote-pin.bin", 6L << 20, seed: 47);
        var store = Path.Combine(_files.Root, "hub-store");
        var serve = Start("serve", "--store", store, "--http", "--bind", "127.0.0.1", "--port", "0",
            "--data-dir", Path.Combine(_files.Root, "serve-data"), "--no-turn");
        var hubUrl = (await serve.WaitForLineAsync(@"Open\s+(http://127\.0\.0\.1:\d+)/", Step)).Groups[1].Value + "/";
        await serve.WaitForLineAsync("store: accepting pins at .*/api/pins", Step);
        var tokenFile = Path.Combine(store, ".pin-token");
        Assert.True(File.Exists(tokenFile), "the store keeps its pin token");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
        var token = File.ReadAllText(tokenFile).Trim();

        var share = Start("share", file, "--hub", hubUrl, "--plain");
        var (link, _, key) = await ShareAsync(share);

        // A wrong token is refused, and nothing is kept.
        var (code, text) = await CliProcess.RunAsync(Step, "pin", link, "--to", hubUrl, "--token", "not-the-store-token-at-all");
        output.WriteLine(text);
        Assert.Equal(2, code);
        Assert.Contains("refused the pin (401)", text);

        // The full link is given; only its content id travels.
        (code, text) = await CliProcess.RunAsync(Step, "pin", link, "--to", hubUrl, "--token", token);
        output.WriteLine(text);
        Assert.True(code == 0, $"pin --to exited {code}:\n{text}");
        Assert.Contains("now pinning", text);
        await serve.WaitForLineAsync("store: .*: complete, serving", Transfer);
        (code, text) = await CliProcess.RunAsync(Step, "pin", link, "--to", hubUrl, "--token", token);
        Assert.True(code == 0 && text.Contains("already kept (complete)", StringComparison.Ordinal), text);

        Assert.Equal(0, await share.StopAsync(Step));
        var directory = Path.Combine(_files.Downloads, "from-remote-pin");
        await GetAsync(link, directory);
        AssertSameFile(file, Path.Combine(directory, "remote-pin.bin"));
        Assert.DoesNotContain(key, serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories),
            f => File.ReadAllText(f, Encoding.Latin1).Contains(key, StringComparison.Ordinal));
    }

    /// <summary>A source that serves each piece late (a slow uplink).</summary>
    private sealed class SlowSource(ISealedPieceSource inner, TimeSpan delay) : ISealedPieceSource
    {
        public ContentInfo Info => inner.Info;

        public bool IsComplete => inner.IsComplete;

        public bool HasPiece(int index) => inner.HasPiece(index);

        public void CopyBitfield(Span<byte> destination) => inner.CopyBitfield(destination);

        public bool TryGetProof(int index, Span<byte> destination, out int bytesWritten) => inner.TryGetProof(index, destination, out bytesWritten);

        public async ValueTask<int> ReadSealedPieceAsync(int index, Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.ReadSealedPieceAsync(index, destination, cancellationToken);
        }
    }
}
