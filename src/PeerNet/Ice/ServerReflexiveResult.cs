using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>The outcome of one STUN Binding to a server from one local socket.</summary>
/// <param name="SocketId">The socket the Binding was sent from (the base).</param>
/// <param name="Server">The server's address.</param>
/// <param name="Mapped">XOR-MAPPED-ADDRESS (the server-reflexive address); None when it failed.</param>
public readonly record struct ServerReflexiveResult(int SocketId, StunAddress Server, StunAddress Mapped)
{
    /// <summary>Whether the server answered with a mapped address.</summary>
    public bool Succeeded => Mapped.Family != StunAddressFamily.None;
}
