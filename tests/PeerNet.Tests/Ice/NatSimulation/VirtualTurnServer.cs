using System.Net;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>
/// A public STUN/TURN server on the virtual internet, driven by the real <see cref="TurnServer"/> core the
/// way <c>TurnUdpListener</c> and <c>TurnServerHost</c> drive it: client datagrams on the listening port go
/// to <see cref="TurnServer.HandleClientMessage"/>, datagrams from peers to a relayed port go to
/// <see cref="TurnServer.HandlePeerData"/>, and <see cref="TurnServer.Tick"/> runs once a second.
/// Relay ports are virtual (this class is the core's <see cref="ITurnRelayBinder"/>).
/// </summary>
internal sealed class VirtualTurnServer : IPublicNode, ISimActor, ITurnRelayBinder
{
    public const string Username = "u";
    public const string Password = "p";

    private readonly VirtualInternet _net;
    private readonly byte[] _response = new byte[TurnServer.ResponseBufferLength];
    private readonly byte[] _peerBuffer = new byte[TurnServer.PeerDataOffset + 65536 + TurnServer.PeerDataTrailer];
    private readonly HashSet<ushort> _relayPorts = [];
    private ushort _nextRelayPort = 49152;
    private long _nextTick;

    public VirtualTurnServer(VirtualInternet net, string ip, LinkProfile? link = null, ushort port = TurnServerOptions.DefaultPort)
    {
        _net = net;
        Address = VirtualInternet.Parse(ip, port);
        var options = new TurnServerOptions
        {
            Realm = "sim",
            Users = new Dictionary<string, string> { [Username] = Password },

            // The simulated internet's public addresses are in TEST-NET-3, a range the server refuses by default (like the NAT lab's --allow-peer).
            AllowedPeerRanges = [IPNetwork.Parse("203.0.113.0/24")],
        };
        Core = new TurnServer(options, this);
        _nextTick = net.Now;
        net.AddPublicNode(Address, this, link ?? LinkProfile.Server);
        net.AddActor(this);
    }

    /// <summary>The listening address (STUN and TURN over UDP).</summary>
    public StunAddress Address { get; }

    public TurnServer Core { get; }

    public void Receive(StunAddress destination, StunAddress source, ReadOnlySpan<byte> datagram, long now)
    {
        if (destination == Address)
        {
            var client = new TurnClientEndpoint(TurnTransport.Udp, 1, Address, source);
            var message = datagram.ToArray(); // ToPeer output is a slice of the message
            var output = Core.HandleClientMessage(client, message, _response, now);
            switch (output.Kind)
            {
                case TurnOutputKind.ToClient:
                    _net.SendFromPublic(Address, output.Client.Remote, _response.AsSpan(output.Offset, output.Length));
                    break;
                case TurnOutputKind.ToPeer when output.Relay is StunAddress relay:
                    _net.SendFromPublic(relay, output.Peer, message.AsSpan(output.Offset, output.Length));
                    break;
            }

            return;
        }

        if (!_relayPorts.Contains(destination.Port) || datagram.Length > 65536)
        {
            return;
        }

        // The core writes the Data indication or ChannelData header in front of the payload, in place.
        datagram.CopyTo(_peerBuffer.AsSpan(TurnServer.PeerDataOffset));
        var toClient = Core.HandlePeerData(destination, source, _peerBuffer, TurnServer.PeerDataOffset, datagram.Length, now);
        if (toClient.Kind == TurnOutputKind.ToClient)
        {
            _net.SendFromPublic(Address, toClient.Client.Remote, _peerBuffer.AsSpan(toClient.Offset, toClient.Length));
        }
    }

    public long? PollTimeout() => _nextTick;

    public void HandleTimeout(long now) => _nextTick = Core.Tick(now);

    // ---- ITurnRelayBinder: virtual relay ports on the server's address ----

    public bool SupportsFamily(StunAddressFamily family) => family == StunAddressFamily.IPv4;

    public bool TryBind(StunAddressFamily family, TurnPortParity parity, out TurnRelayBinding relay, out TurnRelayBinding reserved)
    {
        reserved = default;
        var port = _nextRelayPort;
        if (parity != TurnPortParity.Any && port % 2 == 1)
        {
            port++;
        }

        _nextRelayPort = (ushort)(port + (parity == TurnPortParity.EvenReserveNext ? 2 : 1));
        _relayPorts.Add(port);
        var address = Address.WithPort(port);
        relay = new TurnRelayBinding(address, address);
        if (parity == TurnPortParity.EvenReserveNext)
        {
            _relayPorts.Add((ushort)(port + 1));
            reserved = new TurnRelayBinding(Address.WithPort((ushort)(port + 1)), Address.WithPort((ushort)(port + 1)));
        }

        return true;
    }

    public void Release(in TurnRelayBinding binding) => _relayPorts.Remove(binding.Address.Port);
}
