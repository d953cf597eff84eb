using Microsoft.Extensions.Logging;
using PeerNet.Turn;

namespace PeerNet.Hub;

/// <summary>Runs the STUN/TURN server on its own, without the web server (<c>peernet turn</c>).</summary>
public static class TurnService
{
    /// <summary>
    /// Starts the STUN/TURN server described by <paramref name="options"/>' <c>Bind</c>,
    /// <c>DataDir</c>, <c>CertPath</c>/<c>KeyPath</c> (for TLS) and <c>Turn</c> section.
    /// </summary>
    public static async Task<TurnServerHost> StartAsync(HubOptions options, ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (address, _) = HubServer.ParseBind(options.Bind);
        var dataDir = options.ResolveDataDir();
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
        if (options.Turn.TlsPort > 0) (certificate, _) = HubCertificate.LoadOrCreate(options.CertPath, options.KeyPath, dataDir);
        var turn = await HubTurn.StartAsync(options, address, certificate, dataDir, loggers, cancellationToken).ConfigureAwait(false);
        return turn.Host;
    }
}
