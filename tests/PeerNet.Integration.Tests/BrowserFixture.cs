using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Playwright;

namespace PeerNet.Integration.Tests;

/// <summary>
/// One headless Debian Chromium for the whole collection, driven by Playwright. Never downloads
/// a browser. Each simulated person gets its own browser context (like a separate profile).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    // Playwright replaces its own --disable-features list with ours, so ours repeats the parts of
    // it that keep Chromium quiet, plus what WebRTC on loopback needs. LocalNetworkAccessChecks: test
    // pages fulfilled by Playwright have no address space of their own and would be refused the hub.
    private static readonly string[] DisabledFeatures =
    [
        "WebRtcHideLocalIpsWithMdns", "LocalNetworkAccessChecks",
        "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "DialMediaRouteProvider",
        "GlobalMediaControls", "HttpsUpgrades", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
        "Translate", "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled",
    ];

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        AssertLoopbackOnly();
        if (!File.Exists(ChromiumPath)) throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (test.sh does)");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(LaunchOptions(hideLocalIpsWithMdns: false));
    }

    /// <summary>
    /// A second Chromium as browsers ship: host candidates hidden behind random ".local" names
    /// (mDNS), which our ICE must resolve. The caller disposes it.
    /// </summary>
    public Task<IBrowser> LaunchWithMdnsCandidatesAsync() => _playwright!.Chromium.LaunchAsync(LaunchOptions(hideLocalIpsWithMdns: true));

    /// <summary>How every test Chromium starts; <paramref name="executablePath"/> may be a wrapper that runs <see cref="ChromiumPath"/> elsewhere (in a NAT lab namespace).</summary>
    internal static BrowserTypeLaunchOptions LaunchOptions(bool hideLocalIpsWithMdns, string executablePath = ChromiumPath) => new()
    {
        ExecutablePath = executablePath,
        Headless = true,
        Timeout = 60_000,
        Args =
        [
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-loopback-in-peer-connection",
            "--disable-features=" + string.Join(',', hideLocalIpsWithMdns ? DisabledFeatures.Where(f => f != "WebRtcHideLocalIpsWithMdns") : DisabledFeatures),
        ],
    };

    /// <summary>A fresh context (own storage, own downloads) with the permissions WebRTC on loopback needs.</summary>
    public async Task<IPage> NewPageAsync(bool grantMedia = true)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { AcceptDownloads = true });
        // Headless Chromium gathers loopback ICE candidates only for pages allowed to use camera/mic.
        if (grantMedia) await context.GrantPermissionsAsync(["camera", "microphone"]);
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
    }

    /// <summary>
    /// Browsers in these tests gather ICE candidates, which must never use a real network: the
    /// tests run inside a network namespace that has only loopback (see the README / test.sh).
    /// </summary>
    private static void AssertLoopbackOnly()
    {
        var others = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.NetworkInterfaceType != NetworkInterfaceType.Loopback && i.OperationalStatus != OperationalStatus.Down)
            .Where(i => i.GetIPProperties().UnicastAddresses.Any(a => a.Address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            .Select(i => i.Name)
            .ToList();
        if (others.Count > 0)
        {
            throw new InvalidOperationException(
                $"network interfaces other than loopback are up ({string.Join(", ", others)}): run the integration tests inside a " +
                "loopback-only network namespace: ip netns add pn-test; ip -n pn-test link set lo up; " +
                "ip netns exec pn-test dotnet test tests/PeerNet.Integration.Tests --no-build");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}

/// <summary>
/// Browser tests that change the namespace's interfaces (e.g. add a private dummy address): they
/// run alone, after every other collection, so no other test ever sees the change.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialBrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser (alone)";
}
