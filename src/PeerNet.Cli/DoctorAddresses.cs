using System.Net;
using System.Net.Sockets;
using PeerNet.Ice;

namespace PeerNet.Cli;

/// <summary>Name resolution and source-address selection for the doctor's STUN and TURN checks.</summary>
internal static class DoctorAddresses
{
    /// <summary>
    /// The server's address (IPv4 first, then IPv6), or null after reporting a DNS failure as a failed
    /// check named <paramref name="step"/>.
    /// </summary>
    public static async Task<IPEndPoint?> ResolveAsync(IceServer server, string step, DoctorReport report, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var addresses = await server.ResolveAsync(AddressFamily.InterNetwork, cancellationToken).ConfigureAwait(false);
            if (addresses.Length == 0) addresses = await server.ResolveAsync(AddressFamily.InterNetworkV6, cancellationToken).ConfigureAwait(false);
            if (addresses.Length > 0) return new IPEndPoint(addresses[0], server.Port);
            report.Add(new DoctorCheck(step, DoctorStatus.Fail, $"'{server.Host}' has no IPv4 or IPv6 address (DNS)", clock.Elapsed.TotalMilliseconds));
        }
        catch (SocketException e)
        {
            report.Add(new DoctorCheck(step, DoctorStatus.Fail, $"cannot resolve '{server.Host}' (DNS): {e.Message}", clock.Elapsed.TotalMilliseconds)
            {
                Hint = "check the host name in the ICE server URL, or your DNS settings",
            });
        }

        return null;
    }

    /// <summary>The local address the system would send from to reach <paramref name="remote"/> (a route lookup; nothing is sent).</summary>
    /// <exception cref="SocketException">No route.</exception>
    public static IPAddress LocalAddressTowards(IPEndPoint remote)
    {
        using var probe = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(remote);
        return ((IPEndPoint)probe.LocalEndPoint!).Address;
    }
}
