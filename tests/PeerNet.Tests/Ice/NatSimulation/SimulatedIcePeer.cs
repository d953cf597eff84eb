using System.Net;
using PeerNet.Ice;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Ice.NatSimulation;

using TurnClient = PeerNet.Turn.TurnClient; // PeerNet.Tests.TurnClient is a namespace

/// <summary>Settings of a <see cref="SimulatedIcePeer"/>.</summary>
internal sealed class SimulatedIcePeerOptions
{
    public IceAgentOptions Agent { get; set; } = new();

    /// <summary>A stun: server (server-reflexive candidates), or null.</summary>
    public StunAddress? StunServer { get; set; }

    /// <summary>A turn: server over UDP (a relayed candidate, and server-reflexive ones as IceTransport asks TURN servers too), or null.</summary>
    public StunAddress? TurnServer { get; set; }

    public string TurnUsername { get; set; } = VirtualTurnServer.Username;

    public string TurnPassword { get; set; } = VirtualTurnServer.Password;

    /// <summary>W3C iceTransportPolicy: "relay" gathers only relayed candidates.</summary>
    public IceTransportPolicy TransportPolicy { get; set; } = IceTransportPolicy.All;

    /// <summary>The host candidate's port; the TURN client's socket uses the ports after <see cref="RelayClientPort"/>.</summary>
    public ushort HostPort { get; set; } = 5000;

    public ushort RelayClientPort { get; set; } = 6000;

    /// <summary>As IceTransportOptions.StunServerTimeout.</summary>
    public long StunServerTimeout { get; set; } = 5000;

    /// <summary>As IceTransportOptions.TurnServerTimeout.</summary>
    public long TurnServerTimeout { get; set; } = 10000;
}

/// <summary>A datagram the data path delivered (a DTLS-range first byte, RFC 7983).</summary>
internal readonly record struct DataReceived(int SocketId, StunAddress From, byte[] Data, long At);

/// <summary>
/// One ICE endpoint on a <see cref="VirtualHost"/>, composed as <see cref="IceTransport"/> composes the real
/// one, without sockets: an <see cref="IceAgent"/>, a host candidate on one UDP port, a
/// <see cref="ServerReflexiveGatherer"/> sharing that port, and a <see cref="TurnClient"/> on its own port for
/// the relayed candidate (the part <see cref="RelayIceSocket"/> plays: Send indications, then ChannelData
/// once the selected pair's channel is bound; a permission per remote candidate IP). STUN and DTLS are
/// told apart by the first byte (RFC 7983); data from strangers is dropped.
/// </summary>
internal sealed class SimulatedIcePeer : ISimActor
{
    public const int HostSocketId = 1;

    private readonly VirtualInternet _net;
    private readonly SimulatedIcePeerOptions _options;
    private readonly ServerReflexiveGatherer _serverReflexive;
    private readonly List<Relay> _relays = [];
    private readonly List<IceCandidate> _local = [];
    private readonly byte[] _buffer = new byte[1500];
    private readonly byte[] _relayBuffer = new byte[ChannelData.MaxDataLength + TurnClient.MaxSendOverhead];
    private IceCandidate? _hostCandidate;
    private bool _gathering;

    public SimulatedIcePeer(VirtualInternet net, VirtualHost host, string name, SimulatedIcePeerOptions options)
    {
        _net = net;
        _options = options;
        Host = host;
        Name = name;
        Agent = new IceAgent(options.Agent);
        _serverReflexive = new ServerReflexiveGatherer(timeout: options.StunServerTimeout);
        net.AddActor(this);
    }

    public string Name { get; }

    public VirtualHost Host { get; }

    public IceAgent Agent { get; }

    /// <summary>A local candidate to signal (W3C icecandidate).</summary>
    public event Action<IceCandidate>? CandidateGathered;

    /// <summary>Gathering is complete: signal end-of-candidates.</summary>
    public event Action? GatheringComplete;

    public bool GatheringDone { get; private set; }

    public IReadOnlyList<IceCandidate> LocalCandidates => _local;

    public IceConnectionState State => Agent.ConnectionState;

    public bool IsConnected => State is IceConnectionState.Connected or IceConnectionState.Completed;

    public List<IceConnectionState> States { get; } = [];

    /// <summary>The selected pair as last reported (kept after a failure, as IceTransport keeps it).</summary>
    public IceCandidatePair? Selected { get; private set; }

    public List<IceCandidatePair> SelectedHistory { get; } = [];

    /// <summary>When the state first became connected, or null.</summary>
    public long? ConnectedAt { get; private set; }

    /// <summary>When the state became failed, or null.</summary>
    public long? FailedAt { get; private set; }

    public List<DataReceived> Received { get; } = [];

    public long DroppedFromStrangers { get; private set; }

    public int RelayAllocations { get; private set; }

    public int RelayFailures { get; private set; }

    /// <summary>Every failure the TURN client reported (allocation, refresh, permission, channel), with the time and peer.</summary>
    public List<(long At, StunAddress Peer, TurnClientFailure Failure)> TurnFailures { get; } = [];

    public IReadOnlyList<TurnClient> TurnClients => _relays.Select(r => r.Client).ToArray();

    /// <summary>Whether the selected pair is relayed and its channel is bound (data then goes as ChannelData).</summary>
    public bool HasChannelOnSelectedPair => Agent.TryGetSelectedPair(out var socketId, out var remote)
        && _relays.FirstOrDefault(r => r.SocketId == socketId) is { } relay && relay.Client.TryGetChannel(remote, out _);

    private int TurnServerCount => _options.TurnServer is null ? 0 : 1;

    /// <summary>Gathers as IceTransport.GatherAsync does: a host candidate and a Binding to every STUN/TURN server from it (unless the policy is relay), an allocation on the TURN server.</summary>
    public void Gather()
    {
        if (_gathering)
        {
            throw new InvalidOperationException("Gathering has already started.");
        }

        _gathering = true;
        var now = _net.Now;
        if (_options.TransportPolicy != IceTransportPolicy.Relay)
        {
            var local = Host.Bind(_options.HostPort, (from, datagram) => OnHostDatagram(from, datagram));
            _hostCandidate = HostCandidateGatherer.CreateHostCandidate(local.ToIPEndPoint(), 0, Agent.LocalUfrag);
            Agent.AddLocalCandidate(_hostCandidate, HostSocketId);
            Gathered(_hostCandidate);
            foreach (var server in new[] { _options.StunServer, _options.TurnServer }.OfType<StunAddress>().Distinct())
            {
                _serverReflexive.Start(HostSocketId, server, now);
            }
        }

        if (_options.TurnServer is { } turn)
        {
            var relay = new Relay(HostSocketId + 1 + _relays.Count, (ushort)(_options.RelayClientPort + _relays.Count), new TurnClient(new TurnClientOptions
            {
                Server = turn,
                Transport = TurnTransport.Udp,
                Username = _options.TurnUsername,
                Password = _options.TurnPassword,
                TransactionTimeout = TimeSpan.FromMilliseconds(_options.TurnServerTimeout),
            }));
            _relays.Add(relay);
            Host.Bind(relay.Port, (from, datagram) => OnRelayDatagram(relay, from, datagram));
            relay.Client.Allocate(now);
        }

        AfterWork();
    }

    /// <summary>The remote ice-ufrag and ice-pwd (IceTransport.Start).</summary>
    public void SetRemoteCredentials(string ufrag, string password)
    {
        Agent.SetRemoteCredentials(ufrag, password);
        AfterWork();
    }

    /// <summary>A trickled remote candidate; relays get a permission for its IP (RFC 8656 §9), as IceTransport gives them.</summary>
    public bool AddRemoteCandidate(IceCandidate candidate)
    {
        var added = Agent.AddRemoteCandidate(candidate);
        if (added && candidate.TryGetTransportAddress(out var address))
        {
            foreach (var relay in _relays)
            {
                if (relay.Allocated && relay.Client.RelayedAddress.Family == address.Family)
                {
                    relay.Client.CreatePermission(address, _net.Now);
                }
            }
        }

        AfterWork();
        return added;
    }

    public void AddRemoteEndOfCandidates()
    {
        Agent.AddRemoteEndOfCandidates();
        AfterWork();
    }

    /// <summary>
    /// Restarts ICE (RFC 8445 §9) as IceTransport.Restart does: new local credentials; the sockets, the TURN
    /// allocation and the gathered candidates stay (see <see cref="CurrentCandidates"/>).
    /// </summary>
    public void Restart(string ufrag, string password)
    {
        Agent.Restart(ufrag, password);
        AfterWork();
    }

    /// <summary>The gathered candidates labelled with the current ufrag, as IceTransport.LocalCandidates re-advertises them after a restart.</summary>
    public IReadOnlyList<IceCandidate> CurrentCandidates
    {
        get
        {
            var ufrag = Agent.LocalUfrag;
            return [.. _local.Select(c => c.UsernameFragment is { } own && own != ufrag ? c.WithUsernameFragment(ufrag) : c)];
        }
    }

    /// <summary>Sends a datagram over the selected pair (IceTransport.Send); false when there is none.</summary>
    public bool SendData(ReadOnlySpan<byte> datagram)
    {
        if (!Agent.TryGetSelectedPair(out var socketId, out var remote))
        {
            return false;
        }

        var sent = SendOn(socketId, remote, datagram);
        AfterWork();
        return sent;
    }

    /// <summary>Why ICE failed, in IceTransport.DescribeFailure's words.</summary>
    public string DescribeFailure() => Selected is { } lost
        ? $"the selected pair ({lost.Local.Type.ToToken()} ↔ {lost.Remote.Type.ToToken()}) stopped answering: consent lost (RFC 7675)"
        : IceFailureReason.Describe(_local.Select(c => c.Type), Agent.RemoteCandidates.Select(c => c.Type), TurnServerCount, RelayFailures,
            _options.TransportPolicy == IceTransportPolicy.Relay);

    public long? PollTimeout()
    {
        long? deadline = Min(Agent.PollTimeout(), _serverReflexive.PollTimeout());
        foreach (var relay in _relays)
        {
            deadline = Min(deadline, relay.Client.PollTimeout());
        }

        return deadline;
    }

    public void HandleTimeout(long now)
    {
        Agent.HandleTimeout(now);
        _serverReflexive.HandleTimeout(now);
        foreach (var relay in _relays)
        {
            if (relay.Client.PollTimeout() is { } due && due <= now)
            {
                relay.Client.HandleTimeout(now);
            }
        }

        AfterWork();
    }

    public override string ToString() => $"{Name} {State} {Agent.Role} selected {Selected?.ToString() ?? "none"}";

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    // ---- Receiving ----

    private void OnHostDatagram(StunAddress from, ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty)
        {
            return;
        }

        switch (PacketDemultiplexer.Classify(datagram[0]))
        {
            case PacketKind.Stun:
                if (!_serverReflexive.TryHandleResponse(HostSocketId, from, datagram))
                {
                    Agent.HandleStunPacket(HostSocketId, from, datagram, _net.Now);
                }

                break;
            case PacketKind.Dtls:
                OnData(HostSocketId, from, datagram);
                break;
        }

        AfterWork();
    }

    private void OnRelayDatagram(Relay relay, StunAddress from, ReadOnlySpan<byte> datagram)
    {
        if (from != relay.Client.Server)
        {
            return; // only the server speaks to this socket
        }

        var result = relay.Client.HandleReceived(datagram, _net.Now, out var peer, out var data);
        if (result == TurnReceiveResult.Data && !data.IsEmpty)
        {
            switch (PacketDemultiplexer.Classify(data[0]))
            {
                case PacketKind.Stun:
                    Agent.HandleStunPacket(relay.SocketId, peer, data, _net.Now);
                    break;
                case PacketKind.Dtls:
                    OnData(relay.SocketId, peer, data);
                    break;
            }
        }

        AfterWork();
    }

    private void OnData(int socketId, StunAddress from, ReadOnlySpan<byte> datagram)
    {
        if (!Agent.IsKnownRemote(socketId, from))
        {
            DroppedFromStrangers++;
            return;
        }

        Received.Add(new DataReceived(socketId, from, datagram.ToArray(), _net.Now));
    }

    // ---- Sending, and everything the cores produced (IceTransport.AfterAgent) ----

    private bool SendOn(int socketId, StunAddress remote, ReadOnlySpan<byte> datagram)
    {
        if (socketId == HostSocketId)
        {
            Host.Send(_options.HostPort, remote, datagram);
            return true;
        }

        var relay = _relays.FirstOrDefault(r => r.SocketId == socketId);
        if (relay is null)
        {
            return false;
        }

        var length = relay.Client.WrapData(remote, datagram, _relayBuffer);
        if (length == 0)
        {
            return false;
        }

        Host.Send(relay.Port, relay.Client.Server, _relayBuffer.AsSpan(0, length));
        return true;
    }

    private void AfterWork()
    {
        bool progress;
        do
        {
            progress = false;
            int length;
            while ((length = Agent.PollTransmit(_buffer, out var transmit)) > 0)
            {
                progress = true;
                SendOn(transmit.SocketId, transmit.Remote, _buffer.AsSpan(0, length));
            }

            while ((length = _serverReflexive.PollTransmit(_buffer, out var binding)) > 0)
            {
                progress = true;
                Host.Send(_options.HostPort, binding.Remote, _buffer.AsSpan(0, length));
            }

            while (_serverReflexive.TryPollResult(out var result))
            {
                progress = true;
                OnServerReflexive(result);
            }

            foreach (var relay in _relays)
            {
                while ((length = relay.Client.PollTransmit(_buffer)) > 0)
                {
                    progress = true;
                    Host.Send(relay.Port, relay.Client.Server, _buffer.AsSpan(0, length));
                }

                while (relay.Client.TryPollEvent(out var e))
                {
                    progress = true;
                    OnTurnEvent(relay, e);
                }
            }

            while (Agent.TryPollEvent(out var e))
            {
                progress = true;
                OnAgentEvent(e);
            }
        }
        while (progress);

        if (_gathering && !GatheringDone && _serverReflexive.Pending == 0
            && _relays.All(r => r.Client.State is not (TurnClientState.New or TurnClientState.Allocating)))
        {
            GatheringDone = true;
            GatheringComplete?.Invoke();
        }
    }

    private void OnAgentEvent(IceEvent e)
    {
        switch (e.Kind)
        {
            case IceEventKind.ConnectionStateChanged:
                States.Add(e.State);
                if (e.State is IceConnectionState.Connected or IceConnectionState.Completed)
                {
                    ConnectedAt ??= _net.Now;
                }
                else if (e.State == IceConnectionState.Failed)
                {
                    FailedAt ??= _net.Now;
                }

                break;
            case IceEventKind.SelectedCandidatePairChanged:
                Selected = e.Pair;
                SelectedHistory.Add(e.Pair!);

                // The selected pair's data goes as ChannelData (RFC 8656 §12), as IceTransport.UpdatePath binds it.
                if (Agent.TryGetSelectedPair(out var socketId, out var remote) && _relays.FirstOrDefault(r => r.SocketId == socketId) is { } relay)
                {
                    relay.Client.BindChannel(remote, _net.Now);
                }

                break;
        }
    }

    private void OnTurnEvent(Relay relay, TurnClientEvent e)
    {
        switch (e.Kind)
        {
            case TurnClientEventKind.Allocated when !relay.Allocated:
                relay.Allocated = true;
                RelayAllocations++;
                var candidate = CreateRelayCandidate(relay, e.Address, e.Mapped);
                Agent.AddLocalCandidate(candidate, relay.SocketId);
                foreach (var remote in Agent.RemoteCandidates)
                {
                    if (remote.TryGetTransportAddress(out var address) && address.Family == e.Address.Family)
                    {
                        relay.Client.CreatePermission(address, _net.Now);
                    }
                }

                Gathered(candidate);
                break;
            case TurnClientEventKind.Failed when e.Failure is { } failure:
                TurnFailures.Add((_net.Now, e.Address, failure));
                if (failure.Operation == TurnClientOperation.Allocate)
                {
                    RelayFailures++;
                }

                break;
        }
    }

    private void OnServerReflexive(ServerReflexiveResult result)
    {
        // As IceTransport.OnServerReflexive: a mapped address equal to the base or to one we have is redundant (RFC 8445 §5.1.3).
        if (!result.Succeeded || _hostCandidate is not { } host || !host.TryGetTransportAddress(out var hostAddress) || hostAddress == result.Mapped
            || _local.Any(c => c.Type == IceCandidateType.ServerReflexive && c.TryGetTransportAddress(out var a) && a == result.Mapped))
        {
            return;
        }

        var localPreference = (int)((host.Priority >> 8) & 0xFFFF);
        var candidate = new IceCandidate
        {
            Foundation = IceCandidate.ComputeFoundation(IceCandidateType.ServerReflexive, hostAddress.ToIPAddress(), IceProtocol.Udp, result.Server.ToString()),
            Component = host.Component,
            Priority = IceCandidate.ComputePriority(IceCandidateType.ServerReflexive, localPreference, host.Component),
            Address = result.Mapped.ToIPAddress().ToString(),
            Port = result.Mapped.Port,
            Type = IceCandidateType.ServerReflexive,
            RelatedAddress = host.Address,
            RelatedPort = host.Port,
            Extensions = [new("generation", "0"), new("ufrag", Agent.LocalUfrag)],
        };
        Agent.AddLocalCandidate(candidate, result.SocketId);
        Gathered(candidate);
    }

    private IceCandidate CreateRelayCandidate(Relay relay, StunAddress relayed, StunAddress mapped)
    {
        // As IceTransport.CreateRelayCandidate: a UDP relay's local preference, minus the allocation's ordinal.
        var localPreference = 60000 - (relay.SocketId - HostSocketId - 1);
        var address = relayed.ToIPAddress();
        return new IceCandidate
        {
            Foundation = IceCandidate.ComputeFoundation(IceCandidateType.Relay, address, IceProtocol.Udp, relay.Client.Server.ToString()),
            Component = 1,
            Priority = IceCandidate.ComputePriority(IceCandidateType.Relay, localPreference),
            Address = address.ToString(),
            Port = relayed.Port,
            Type = IceCandidateType.Relay,
            RelatedAddress = mapped.Family == StunAddressFamily.None ? "0.0.0.0" : mapped.ToIPAddress().ToString(),
            RelatedPort = mapped.Port,
            Extensions = [new("generation", "0"), new("ufrag", Agent.LocalUfrag)],
        };
    }

    private void Gathered(IceCandidate candidate)
    {
        _local.Add(candidate);
        CandidateGathered?.Invoke(candidate);
    }

    private sealed class Relay(int socketId, ushort port, TurnClient client)
    {
        public int SocketId { get; } = socketId;

        public ushort Port { get; } = port;

        public TurnClient Client { get; } = client;

        public bool Allocated { get; set; }
    }
}
