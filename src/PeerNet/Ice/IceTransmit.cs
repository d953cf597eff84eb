using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>Where a datagram from <see cref="IceAgent.PollTransmit"/> goes: the local socket and the remote address.</summary>
/// <param name="SocketId">The socket id given with the local candidate in <see cref="IceAgent.AddLocalCandidate"/>.</param>
/// <param name="Remote">The remote transport address.</param>
public readonly record struct IceTransmit(int SocketId, StunAddress Remote);
