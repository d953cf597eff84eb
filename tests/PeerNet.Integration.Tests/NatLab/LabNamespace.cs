using System.Net;
using System.Net.Sockets;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>
/// One network namespace of a <see cref="NatLab"/>: the public segment, a router or a host.
/// Processes started here are stopped when the lab is disposed.
/// </summary>
public sealed class LabNamespace
{
    private readonly NatLab _lab;

    internal LabNamespace(NatLab lab, string role, IPAddress address, IPAddress? lanAddress = null, NatKind? nat = null)
    {
        _lab = lab;
        Role = role;
        Name = $"{lab.Id}-{role}";
        Address = address;
        LanAddress = lanAddress;
        Nat = nat;
    }

    /// <summary>The namespace's name, for <c>ip netns exec</c> / <c>ip -n</c>: the lab's id and the role.</summary>
    public string Name { get; }

    /// <summary><c>pub</c>, <c>ra</c>, <c>rb</c>, <c>ha</c> or <c>hb</c>.</summary>
    public string Role { get; }

    /// <summary>
    /// The namespace's own address: in <c>pub</c> the server's (primary) address; on a router its
    /// public WAN address (what its NAT maps to); on a host its private LAN address.
    /// </summary>
    public IPAddress Address { get; }

    /// <summary>A router's LAN-side address (its host's gateway); null elsewhere.</summary>
    public IPAddress? LanAddress { get; }

    /// <summary>A router's NAT; null elsewhere.</summary>
    public NatKind? Nat { get; }

    /// <summary>Runs a command here to its end (killed after <paramref name="timeout"/>, then <see cref="TimeoutException"/>).</summary>
    public Task<LabCommandResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        LabProcess.RunAsync(Name, fileName, arguments, timeout, cancellationToken);

    /// <summary>Starts a long-running command here; dispose it to stop it (the lab stops it too).</summary>
    public LabProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        _lab.Track(LabProcess.Start(Name, fileName, arguments, environment));

    /// <summary>A UDP socket of this namespace, bound to <paramref name="localEndPoint"/>, usable from the test process.</summary>
    public Socket OpenUdpSocket(IPEndPoint localEndPoint) => NetnsThread.Run(Name, () =>
    {
        var socket = new Socket(localEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(localEndPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    });

    /// <summary>Runs <paramref name="action"/> on a thread inside this namespace (what it opens stays here).</summary>
    public T RunInside<T>(Func<T> action) => NetnsThread.Run(Name, action);

    public override string ToString() => Name;
}
