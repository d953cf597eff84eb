using System.Net;

namespace PeerNet.Ice;

/// <summary>A local address usable for a host candidate.</summary>
/// <param name="Address">The address (no scope id for global addresses; the interface index for link-local IPv6).</param>
/// <param name="InterfaceIndex">The interface's index (for IPv6 multicast and scope ids); 0 when unknown.</param>
/// <param name="IsLoopback">Whether it is a loopback address.</param>
public sealed record IceHostAddress(IPAddress Address, int InterfaceIndex, bool IsLoopback);
