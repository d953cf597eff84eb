using PeerNet.Ice.Mdns;

namespace PeerNet.Ice;

/// <summary>Settings of an <see cref="IceTransport"/>.</summary>
public sealed class IceTransportOptions
{
    /// <summary>The agent: role, tie-breaker, credentials, timers.</summary>
    public IceAgentOptions Agent { get; set; } = new();

    /// <summary>Which addresses are gathered.</summary>
    public IceGatherOptions Gathering { get; set; } = new();

    /// <summary>Resolve remote ".local" candidates with multicast DNS (otherwise they are dropped).</summary>
    public bool ResolveMdnsCandidates { get; set; } = true;

    /// <summary>The mDNS resolver's settings; its interface list defaults to the gathered addresses.</summary>
    public MdnsResolverOptions Mdns { get; set; } = new();
}
