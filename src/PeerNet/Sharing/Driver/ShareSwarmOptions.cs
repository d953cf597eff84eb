using PeerNet.Rtc;
using PeerNet.Sharing.Swarm;

namespace PeerNet.Sharing.Driver;

/// <summary>Settings of a <see cref="ShareSwarm"/> (docs/sharing.md §4–§6).</summary>
public sealed class ShareSwarmOptions
{
    /// <summary>The label of the wire's data channel (§4).</summary>
    public const string ChannelLabel = "peernet-share/1";

    /// <summary>The hub room of a content id's swarm (§4): <c>share/CID</c>.</summary>
    public static string RoomName(ContentId id) => "share/" + id;

    /// <summary>Most connections at once (§4: up to 30 per swarm).</summary>
    public int MaxConnections { get; init; } = 30;

    /// <summary>A connection that is not open after this long is given up.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages are taken from the swarm for a channel only while its buffered amount is below this (bytes).</summary>
    public long HighWaterMark { get; init; } = 1 << 20;

    /// <summary>A channel over <see cref="HighWaterMark"/> is pumped again when its buffered amount falls to this (bytes).</summary>
    public long LowWaterMark { get; init; } = 256 * 1024;

    /// <summary>The ICE servers, certificate and the rest of every connection (empty ICE servers: the hub's, see <see cref="UseHubIceServers"/>).</summary>
    public RtcConfiguration Configuration { get; init; } = new();

    /// <summary>Connections with no <see cref="RtcConfiguration.IceServers"/> take the hub's STUN/TURN entries.</summary>
    public bool UseHubIceServers { get; init; } = true;

    /// <summary>
    /// Most bytes of pieces this peer serves per second, to all its peers together (null: no cap).
    /// Bursts are one piece or 100 ms worth, whichever is larger (see <see cref="SwarmScheduler.MaxUploadBytesPerSecond"/>).
    /// </summary>
    public long? MaxUploadBytesPerSecond { get; init; }

    /// <summary>How the swarm decides (upload slots, pipelining, stalls).</summary>
    public SwarmOptions Swarm { get; init; } = new();

    /// <summary>How often <see cref="ShareSwarm.ProgressChanged"/> is raised while anything changes (ms).</summary>
    public int ProgressIntervalMs { get; init; } = 250;

    /// <summary>Storing a verified piece may fail this many times in a row (a full disk, a file in the way) before the swarm gives up.</summary>
    public int MaxStoreFailures { get; init; } = 8;

    internal void Validate()
    {
        if (MaxConnections < 1 || ConnectTimeout <= TimeSpan.Zero || HighWaterMark < 65_536 || LowWaterMark < 0 || LowWaterMark >= HighWaterMark
            || ProgressIntervalMs < 10 || MaxStoreFailures < 1 || MaxUploadBytesPerSecond is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ShareSwarmOptions), "Share swarm options out of range.");
        }
    }
}
