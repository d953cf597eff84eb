using System.Net;

namespace PeerNet.Ice;

/// <summary>Receives the datagrams of an <see cref="IIceSocket"/>; the span and address are valid only during the call.</summary>
/// <param name="socket">The socket that received.</param>
/// <param name="datagram">The payload.</param>
/// <param name="remote">Where it came from (for a relayed socket: the peer, not the TURN server).</param>
public delegate void IceSocketReceiveHandler(IIceSocket socket, ReadOnlySpan<byte> datagram, SocketAddress remote);

/// <summary>
/// What the ICE driver sends and receives through for one local candidate: a plain UDP socket for a
/// host candidate (<see cref="UdpIceSocket"/>), later a TURN allocation for a relay candidate — it
/// wraps what it sends in Send indications or ChannelData and unwraps what it receives, so ICE does
/// not see the difference.
/// </summary>
public interface IIceSocket : IAsyncDisposable
{
    /// <summary>The local transport address (the candidate's base; for a relay socket, the relayed address).</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>Starts delivering received datagrams to <paramref name="handler"/> (called once).</summary>
    void Start(IceSocketReceiveHandler handler);

    /// <summary>Sends one datagram without blocking; false when it could not be sent (the socket is closed or the OS refused).</summary>
    bool Send(ReadOnlySpan<byte> datagram, SocketAddress remote);

    /// <summary>
    /// Sends a run of datagrams laid end to end in <paramref name="segments"/>, each
    /// <paramref name="segmentSize"/> bytes except perhaps the last; returns how many were sent.
    /// Sockets that can batch (<see cref="UdpIceSocket"/>: UDP segmentation offload) do it in one
    /// system call; the rest send them one by one.
    /// </summary>
    int SendSegments(ReadOnlySpan<byte> segments, int segmentSize, SocketAddress remote) =>
        SendEach(this, segments, segmentSize, remote);

    /// <summary>Sends a run of datagrams one <see cref="Send"/> at a time; returns how many were sent.</summary>
    internal static int SendEach(IIceSocket socket, ReadOnlySpan<byte> segments, int segmentSize, SocketAddress remote)
    {
        var sent = 0;
        for (var offset = 0; offset < segments.Length; offset += segmentSize)
        {
            if (socket.Send(segments.Slice(offset, Math.Min(segmentSize, segments.Length - offset)), remote))
            {
                sent++;
            }
        }

        return sent;
    }
}
