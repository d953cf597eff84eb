using System.Diagnostics;
using System.Text;
using System.Text.Json;
using static PeerNet.Bench.BenchTools;

namespace PeerNet.Bench.BrowserSharing;

/// <summary>
/// The WebTorrent side's server: bench/PeerNet.Bench/webtorrent/server.mjs under Node, on
/// 127.0.0.1 — npm bittorrent-tracker's WebSocket tracker, plus the benchmark's page and
/// WebTorrent's browser bundle on the same port. The npm packages (versions pinned by the
/// folder's package.json and package-lock.json) are installed at run time into a cache directory
/// outside the repository, never committed.
/// </summary>
internal sealed class WebTorrentServer : IAsyncDisposable
{
    /// <summary>Pinned in webtorrent/package.json.</summary>
    public const string WebTorrentVersion = "3.0.21";

    /// <summary>Pinned in webtorrent/package.json.</summary>
    public const string TrackerVersion = "11.2.3";

    private readonly Process _process;

    private WebTorrentServer(Process process, int port)
    {
        _process = process;
        Url = new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>The page's address; the tracker is ws:// on the same host and port.</summary>
    public Uri Url { get; }

    /// <summary>The package folder in the repository: package.json, package-lock.json, server.mjs, page.html.</summary>
    public static string SourceDirectory(string repo) => Path.Combine(repo, "bench", "PeerNet.Bench", "webtorrent");

    /// <summary>Where the packages are installed: $XDG_CACHE_HOME (or ~/.cache)/peernet-bench/webtorrent.</summary>
    public static string CacheDirectory()
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cache)) cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "peernet-bench", "webtorrent");
    }

    /// <summary>True when the cache holds exactly what the committed lock file pins.</summary>
    public static bool IsInstalled(string repo)
    {
        var cache = CacheDirectory();
        var lockFile = Path.Combine(cache, "package-lock.json");
        return File.Exists(Path.Combine(cache, "node_modules", "webtorrent", "dist", "webtorrent.min.js"))
            && File.Exists(Path.Combine(cache, "node_modules", "bittorrent-tracker", "server.js"))
            && File.Exists(lockFile)
            && File.ReadAllText(lockFile) == File.ReadAllText(Path.Combine(SourceDirectory(repo), "package-lock.json"));
    }

    /// <summary>
    /// npm ci into the cache unless it is installed already. Scripts are off: the one install script
    /// in the tree (node-datachannel, WebTorrent's WebRTC for Node) fetches a prebuilt binary, and
    /// neither the browser bundle nor the tracker server needs it.
    /// </summary>
    public static async Task InstallAsync(string repo, Action<string> say)
    {
        if (IsInstalled(repo)) return;
        var cache = CacheDirectory();
        Directory.CreateDirectory(cache);
        foreach (var name in new[] { "package.json", "package-lock.json" })
            File.Copy(Path.Combine(SourceDirectory(repo), name), Path.Combine(cache, name), overwrite: true);
        say($"installing WebTorrent {WebTorrentVersion} and bittorrent-tracker {TrackerVersion} (npm ci) into {cache} ...");
        await RunToolAsync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cache, TimeSpan.FromMinutes(5));
        if (!IsInstalled(repo)) throw new InvalidOperationException($"npm ci in {cache} did not install the pinned packages");
    }

    /// <summary>Starts the server (the packages must be installed) and waits until it listens.</summary>
    public static async Task<WebTorrentServer> StartAsync(string repo)
    {
        var cache = CacheDirectory();
        // server.mjs resolves its packages from its own folder: it runs from the cache.
        File.Copy(Path.Combine(SourceDirectory(repo), "server.mjs"), Path.Combine(cache, "server.mjs"), overwrite: true);
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = cache,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(cache, "server.mjs"));
        info.ArgumentList.Add(Path.Combine(SourceDirectory(repo), "page.html"));
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start node");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            line = null;
        }
        if (line is null)
        {
            process.Kill(entireProcessTree: true);
            lock (stderr) throw new InvalidOperationException($"the WebTorrent tracker did not start:\n{stderr}");
        }
        var port = JsonDocument.Parse(line).RootElement.GetProperty("port").GetInt32();
        var server = new WebTorrentServer(process, port);
        // Keep draining stdout so the server never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException)
        {
        }
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
