using System.Net;

namespace PeerNet.Ice.Mdns;

/// <summary>Settings of an <see cref="MdnsResolver"/>.</summary>
public sealed class MdnsResolverOptions
{
    /// <summary>How long to wait for an answer before giving up.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>When to send the query again if nothing came back (RFC 6762 §5.2 spaces retries by at least a second).</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most names kept in the cache.</summary>
    public int MaxCacheEntries { get; set; } = 64;

    /// <summary>Answers are cached for their TTL, but never longer than this.</summary>
    public TimeSpan MaxCacheTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The local addresses (and, for IPv6, their interface index as <see cref="IPAddress.ScopeId"/>) to
    /// send queries from; each selects the interface for multicast. Empty: the system's default.
    /// </summary>
    public IList<IPAddress> InterfaceAddresses { get; set; } = [];

    /// <summary>Where IPv4 queries go (224.0.0.251); tests point it at a unicast loopback responder.</summary>
    public IPAddress IPv4Destination { get; set; } = MdnsResolver.IPv4Group;

    /// <summary>Where IPv6 queries go (ff02::fb, scoped to each interface).</summary>
    public IPAddress IPv6Destination { get; set; } = MdnsResolver.IPv6Group;

    /// <summary>The multicast port (5353); tests may use another.</summary>
    public int Port { get; set; } = 5353;

    /// <summary>
    /// Also listen on the mDNS port for answers sent to the group (responders that ignore the
    /// unicast-response bit, such as aioice's, answer only there). The port is shared (SO_REUSEADDR).
    /// </summary>
    public bool ListenOnMulticastPort { get; set; } = true;
}
