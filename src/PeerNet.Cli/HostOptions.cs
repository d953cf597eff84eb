using System.CommandLine;
using PeerNet.Hub;

namespace PeerNet.Cli;

/// <summary>The flags <c>serve</c> and <c>turn</c> share: where to listen, where state lives, the certificate, the configuration file.</summary>
internal sealed class HostOptions
{
    private readonly Option<string?> _bind = new("--bind") { Description = "address to listen on: an IP, 'localhost', or '*' for all interfaces (default *)" };
    private readonly Option<string?> _dataDir = new("--data-dir") { Description = "where state is kept: the self-signed certificate, the TURN REST secret (default ~/.local/share/peernet)" };
    private readonly Option<string?> _cert = new("--cert") { Description = "PEM certificate (with --key) for HTTPS and TURN over TLS; default: a self-signed one kept in the data directory" };
    private readonly Option<string?> _key = new("--key") { Description = "PEM private key for --cert" };
    private readonly Option<string?> _config = new("--config") { Description = "a JSON configuration file (default: ./appsettings.json if present)" };

    public void AddTo(Command command)
    {
        command.Add(_bind);
        command.Add(_dataDir);
        command.Add(_cert);
        command.Add(_key);
        command.Add(_config);
    }

    /// <summary>The configuration (file, then <c>PEERNET_</c> environment variables) with these flags on top.</summary>
    public HubOptions Load(ParseResult result)
    {
        var options = HubConfiguration.Load(result.GetValue(_config));
        if (result.GetValue(_bind) is { } bind) options.Bind = bind;
        if (result.GetValue(_dataDir) is { } dataDir) options.DataDir = dataDir;
        if (result.GetValue(_cert) is { } cert) options.CertPath = cert;
        if (result.GetValue(_key) is { } key) options.KeyPath = key;
        return options;
    }
}
