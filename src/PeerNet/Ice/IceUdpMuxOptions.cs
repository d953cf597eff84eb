using System.Net;

namespace PeerNet.Ice;

/// <summary>Settings of an <see cref="IceUdpMux"/>.</summary>
public sealed class IceUdpMuxOptions
{
    /// <summary>
    /// The address and port to bind (IPv4 or IPv6; an IPv6 socket does not take IPv4). Port 0 picks a free one.
    /// A wildcard address (0.0.0.0, ::) needs <see cref="AnnouncedAddresses"/>.
    /// </summary>
    public IPEndPoint? LocalEndPoint { get; set; }

    /// <summary>
    /// The addresses written in host candidates, on the bound port — e.g. the public address of a 1:1 NAT
    /// in front of this host. Empty: the bound address. They must be of the bound address's family and
    /// not a wildcard.
    /// </summary>
    public IList<IPAddress> AnnouncedAddresses { get; set; } = [];

    /// <summary>The most remote addresses remembered for all connections; beyond it new ones are refused (counted).</summary>
    public int MaxRemoteAddresses { get; set; } = 100_000;

    /// <summary>The most remote addresses one connection holds; beyond it the least recently seen is forgotten.</summary>
    public int MaxRemoteAddressesPerConnection { get; set; } = 32;

    /// <summary>The most ufrags one connection registers at once (an ICE restart needs two).</summary>
    public int MaxUfragsPerConnection { get; set; } = 4;

    /// <summary>
    /// How many of a connection's latest outgoing STUN transactions are remembered, so that responses reach it
    /// even when several connections talk to the same address (a STUN server, a remote that muxes too).
    /// </summary>
    public int MaxTransactionsPerConnection { get; set; } = 32;

    /// <summary>The most outgoing STUN transactions remembered for all connections.</summary>
    public int MaxTransactions { get; set; } = 100_000;

    /// <summary>SO_RCVBUF asked for (the kernel may cap it): one socket absorbs the bursts of every connection.</summary>
    public int SocketReceiveBufferSize { get; set; } = 8 << 20;

    /// <summary>SO_SNDBUF asked for; a send that finds it full fails (counted) instead of blocking.</summary>
    public int SocketSendBufferSize { get; set; } = 4 << 20;
}
