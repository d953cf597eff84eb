using PeerNet.Hub.Signaling;

namespace PeerNet.Hub;

/// <summary>How a hub runs. Bound from configuration (appsettings, <c>PEERNET_</c> environment variables) and CLI flags.</summary>
public sealed class HubOptions
{
    /// <summary>The default HTTPS port.</summary>
    public const int DefaultPort = 8443;

    /// <summary>TCP port for HTTPS (or HTTP with <see cref="Http"/>); 0 picks a free one.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>Address to listen on: an IP address, <c>localhost</c>, or <c>*</c> for every interface.</summary>
    public string Bind { get; set; } = "*";

    /// <summary>Where the hub keeps its state (the generated certificate). Defaults to the user's data folder.</summary>
    public string? DataDir { get; set; }

    /// <summary>PEM certificate (chain) for HTTPS; with <see cref="KeyPath"/>. Without both, a self-signed one is generated once.</summary>
    public string? CertPath { get; set; }

    /// <summary>PEM private key matching <see cref="CertPath"/>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Serve plain HTTP. Allowed only when bound to a loopback address.</summary>
    public bool Http { get; set; }

    /// <summary>Serve the web app from this folder instead of the one shipped beside the assembly (for development).</summary>
    public string? WebRoot { get; set; }

    /// <summary>
    /// Run request code inline on socket completions (Kestrel's <c>UnsafePreferInlineScheduling</c>):
    /// fewer thread hops per routed signal. Safe because the hub's handlers never block.
    /// </summary>
    public bool InlineSocketScheduling { get; set; } = true;

    /// <summary>ICE servers handed to peers in <c>welcome</c> and by <c>GET /api/ice-servers</c>. Empty by default.</summary>
    public List<IceServerOptions> IceServers { get; set; } = [];

    /// <summary>The built-in STUN/TURN server.</summary>
    public HubTurnOptions Turn { get; set; } = new();

    /// <summary>Signaling limits.</summary>
    public SignalingOptions Signaling { get; set; } = new();

    /// <summary>The data directory actually used.</summary>
    public string ResolveDataDir() =>
        string.IsNullOrWhiteSpace(DataDir)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "peernet")
            : Path.GetFullPath(DataDir);
}

/// <summary>One ICE server entry in configuration.</summary>
public sealed class IceServerOptions
{
    public List<string> Urls { get; set; } = [];
    public string? Username { get; set; }
    public string? Credential { get; set; }
}
