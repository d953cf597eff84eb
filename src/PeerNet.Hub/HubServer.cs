using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerNet.Hub.Signaling;
using PeerNet.Rtc;

namespace PeerNet.Hub;

/// <summary>
/// A running hub: the signaling server at <c>/signal</c>, <c>/api/ice-servers</c>, and the web app,
/// over HTTPS (or plain HTTP on loopback when asked).
/// </summary>
public sealed class HubServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly X509Certificate2? _certificate;
    private readonly HubTurn? _turn;

    private HubServer(WebApplication app, Uri url, X509Certificate2? certificate, bool certificateGenerated, string dataDir, HubTurn? turn)
    {
        _app = app;
        _turn = turn;
        Url = url;
        _certificate = certificate;
        CertificateGenerated = certificateGenerated;
        DataDir = dataDir;
    }

    /// <summary>The URL to open, e.g. <c>https://localhost:8443/</c>.</summary>
    public Uri Url { get; }

    /// <summary>The signaling WebSocket URL.</summary>
    public Uri SignalingUrl => new UriBuilder(new Uri(Url, "signal")) { Scheme = Url.Scheme == "https" ? "wss" : "ws" }.Uri;

    /// <summary>The TLS certificate's SHA-256 fingerprint, or null over plain HTTP.</summary>
    public string? CertificateSha256 => _certificate is null ? null : HubCertificate.Sha256Fingerprint(_certificate);

    /// <summary>True when the self-signed certificate was created by this start.</summary>
    public bool CertificateGenerated { get; }

    /// <summary>The STUN/TURN server's UDP and TCP ports, or null when it is off.</summary>
    public (int Udp, int Tcp, int? Tls)? TurnPorts => _turn is null ? null : (_turn.UdpPort, _turn.TcpPort, _turn.TlsPort);

    /// <summary>The STUN/TURN server, or null when it is off.</summary>
    public PeerNet.Turn.TurnServerHost? Turn => _turn?.Host;

    /// <summary>The data directory in use.</summary>
    public string DataDir { get; }

    /// <summary>The pinning endpoint: a store attaches here to accept <c>POST /api/pins</c>.</summary>
    public HubPins Pins => _app.Services.GetRequiredService<HubPins>();

    /// <summary>The application's services (for tests and hosts).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Peers currently known to the signaling server (connected or within their resume grace).</summary>
    public int PeerCount => _app.Services.GetRequiredService<SignalingServer>().PeerCount;

    /// <summary>Starts a hub and returns once it is listening.</summary>
    public static async Task<HubServer> StartAsync(HubOptions options, CancellationToken cancellationToken = default, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Signaling.Validate();
        if (options.Port is < 0 or > 65535) throw new HubConfigurationException($"port {options.Port} is not between 0 and 65535");
        var (address, isLoopback) = ParseBind(options.Bind);
        if (options.Http && !isLoopback)
        {
            throw new HubConfigurationException(
                $"plain HTTP is only allowed on a loopback address, not '{options.Bind}': browsers need HTTPS for WebRTC, and signaling must not travel in clear text. Use --bind 127.0.0.1 with --http, or drop --http.");
        }
        var dataDir = options.ResolveDataDir();
        X509Certificate2? certificate = null;
        var generated = false;
        if (!options.Http) (certificate, generated) = HubCertificate.LoadOrCreate(options.CertPath, options.KeyPath, dataDir);

        var webRoot = options.WebRoot is not null ? Path.GetFullPath(options.WebRoot) : Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (!Directory.Exists(webRoot)) throw new HubConfigurationException($"the web app folder '{webRoot}' does not exist");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = webRoot,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        builder.WebHost.UseKestrelHttpsConfiguration();
        // Signaling work per message is short and never blocks, so run it where the socket
        // completes instead of hopping to the thread pool (about two hops per routed signal).
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = options.InlineSocketScheduling);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MaxConcurrentUpgradedConnections = null;
            void Configure(ListenOptions listen)
            {
                // HTTP/2 needs TLS (ALPN); over plain HTTP offer HTTP/1.1 alone rather than log a warning.
                listen.Protocols = certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
                if (certificate is not null) listen.UseHttps(certificate);
            }
            if (address is null) kestrel.ListenAnyIP(options.Port, Configure);
            else kestrel.Listen(address, options.Port, Configure);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<HubPins>();
        var turn = new StrongBox<HubTurn?>();
        builder.Services.AddSingleton(sp => new IceServerProvider(options, sp.GetRequiredService<TimeProvider>(), turn.Value));
        builder.Services.AddSingleton(sp => new SignalingServer(
            options.Signaling,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IceServerProvider>().Current,
            sp.GetRequiredService<ILogger<SignalingServer>>()));
        builder.Services.AddHostedService<SignalingHousekeeping>();

        var app = builder.Build();
        // The STUN/TURN server starts before the web server, so the ICE servers handed out are real.
        if (options.Turn.Enabled)
        {
            try
            {
                turn.Value = await HubTurn.StartAsync(options, address, certificate, dataDir, app.Services.GetRequiredService<ILoggerFactory>(), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await app.DisposeAsync().ConfigureAwait(false);
                certificate?.Dispose();
                throw;
            }
        }
        app.Use(SecurityHeaders);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(webRoot),
            OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
        });
        HubEndpoints.Map(app);

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (turn.Value is not null) await turn.Value.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var url = PublicUrl(app, options, certificate is not null);
        return new HubServer(app, url, certificate, generated, dataDir, turn.Value);
    }

    internal static (IPAddress? Address, bool IsLoopback) ParseBind(string bind)
    {
        if (string.IsNullOrWhiteSpace(bind) || bind is "*" or "0.0.0.0" or "::" or "[::]") return (null, false);
        if (bind.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return (IPAddress.Loopback, true);
        if (IPAddress.TryParse(bind.Trim('[', ']'), out var ip))
        {
            if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) return (null, false);
            return (ip, IPAddress.IsLoopback(ip));
        }
        throw new HubConfigurationException($"--bind '{bind}' is not an IP address, 'localhost' or '*'");
    }

    private static Uri PublicUrl(WebApplication app, HubOptions options, bool https)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var bound = new Uri(addresses.First().Replace("[::]", "[::1]").Replace("0.0.0.0", "127.0.0.1"));
        var (address, _) = ParseBind(options.Bind);
        // Bound to every interface or to "localhost": localhost is the name the certificate and browsers know.
        var host = address is null || options.Bind.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? "localhost" : bound.Host;
        return new UriBuilder(https ? "https" : "http", host, bound.Port, "/").Uri;
    }

    private static Task SecurityHeaders(HttpContext context, Func<Task> next)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy =
            "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; " +
            "script-src 'self'; style-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
        if (context.Request.IsHttps) headers.StrictTransportSecurity = "max-age=31536000";
        return next();
    }

    /// <summary>Waits until the hub stops (Ctrl+C, SIGTERM, or <see cref="DisposeAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _app.Services.GetRequiredService<SignalingServer>().CloseAll();
        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            if (_turn is not null) await _turn.DisposeAsync().ConfigureAwait(false);
            _certificate?.Dispose();
        }
    }
}

/// <summary>The ICE servers handed to peers: the hub's own STUN/TURN (fresh credentials each time) and any configured ones.</summary>
internal sealed class IceServerProvider(HubOptions options, TimeProvider time, HubTurn? turn)
{
    private readonly IReadOnlyList<RtcIceServer> _configured = options.IceServers
        .Where(s => s.Urls.Count > 0)
        .Select(s => new RtcIceServer { Urls = s.Urls.ToArray(), Username = s.Username, Credential = s.Credential })
        .ToArray();

    /// <summary>Entries for a client that reached the hub as <paramref name="requestHost"/>; <paramref name="user"/> names its TURN credential.</summary>
    public IReadOnlyList<RtcIceServer> Current(string? requestHost, string user)
    {
        if (turn is null) return _configured;
        return [.. turn.IceServersFor(requestHost, user, time.GetUtcNow()), .. _configured];
    }
}

/// <summary>Runs the signaling server's once-a-second housekeeping (idle connections, expired resumes).</summary>
internal sealed class SignalingHousekeeping(SignalingServer server) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) server.Tick();
        }
        catch (OperationCanceledException)
        {
        }
    }
}
