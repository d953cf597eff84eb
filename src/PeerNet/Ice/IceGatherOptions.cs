using System.Net;

namespace PeerNet.Ice;

/// <summary>Which host addresses become candidates, and on which ports.</summary>
public sealed class IceGatherOptions
{
    /// <summary>
    /// Use exactly these addresses instead of enumerating interfaces (e.g. 127.0.0.1 and ::1 in tests).
    /// Null or empty: every usable interface address.
    /// </summary>
    public IList<IPAddress>? Addresses { get; set; }

    /// <summary>Gather IPv4 addresses.</summary>
    public bool IncludeIPv4 { get; set; } = true;

    /// <summary>Gather IPv6 addresses.</summary>
    public bool IncludeIPv6 { get; set; } = true;

    /// <summary>
    /// Gather loopback addresses even when other addresses exist (they are always used when nothing
    /// else exists, as in a loopback-only network namespace).
    /// </summary>
    public bool IncludeLoopback { get; set; }

    /// <summary>Gather IPv6 link-local addresses (fe80::/10); off by default, as browsers do.</summary>
    public bool IncludeIPv6LinkLocal { get; set; }

    /// <summary>The lowest port to bind (0 with <see cref="MaxPort"/> 0: ephemeral ports).</summary>
    public int MinPort { get; set; }

    /// <summary>The highest port to bind.</summary>
    public int MaxPort { get; set; }
}
