using System.Net;
using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice;

/// <summary>One simulated peer: an agent, its sockets (id to address) and what it reported.</summary>
internal sealed class SimPeer
{
    public SimPeer(string name, IceAgentOptions options)
    {
        Name = name;
        Agent = new IceAgent(options);
    }

    public string Name { get; }

    public IceAgent Agent { get; }

    public Dictionary<int, StunAddress> Sockets { get; } = [];

    public List<IceCandidate> Candidates { get; } = [];

    public List<IceEvent> Events { get; } = [];

    public List<IceConnectionState> States { get; } = [];

    public IceCandidatePair? Selected { get; private set; }

    /// <summary>Adds a host candidate on a new socket.</summary>
    public IceCandidate AddHost(string ip, int port, int localPreference = 65535)
    {
        var socketId = Sockets.Count + 1;
        var address = IPAddress.Parse(ip);
        var candidate = new IceCandidate
        {
            Foundation = IceCandidate.ComputeFoundation(IceCandidateType.Host, address),
            Component = 1,
            Priority = IceCandidate.ComputePriority(IceCandidateType.Host, localPreference),
            Address = ip,
            Port = port,
            Type = IceCandidateType.Host,
        };
        Sockets.Add(socketId, StunAddress.FromIPAddress(address, (ushort)port));
        Agent.AddLocalCandidate(candidate, socketId);
        Candidates.Add(candidate);
        return candidate;
    }

    public void DrainEvents()
    {
        while (Agent.TryPollEvent(out var e))
        {
            Events.Add(e);
            if (e.Kind == IceEventKind.ConnectionStateChanged)
            {
                States.Add(e.State);
            }
            else if (e.Kind == IceEventKind.SelectedCandidatePairChanged)
            {
                Selected = e.Pair;
            }
        }
    }

    public override string ToString() => $"{Name} {Agent.ConnectionState} {Agent.Role}";
}

/// <summary>
/// Two (or more) agents on a simulated network: a manual clock, 1–5 ms latency, and optional seeded
/// loss, duplication and reordering. Packets are routed by destination address to the socket that owns it.
/// </summary>
internal sealed class IceSimulation
{
    private readonly List<SimPeer> _peers = [];
    private readonly List<InFlight> _inFlight = [];
    private readonly Random _random;
    private readonly byte[] _buffer = new byte[1500];

    public IceSimulation(int seed = 1) => _random = new Random(seed);

    public long Now { get; private set; } = 1_000_000;

    public double Loss { get; set; }

    public double Duplication { get; set; }

    /// <summary>Extra random delay up to this many ms, so packets overtake one another.</summary>
    public int Jitter { get; set; }

    /// <summary>When false every packet is dropped (a cut link).</summary>
    public bool LinkUp { get; set; } = true;

    /// <summary>Called with every delivered packet; may return a replacement (for mutation tests).</summary>
    public Func<byte[], byte[]>? Tamper { get; set; }

    public long Delivered { get; private set; }

    /// <summary>Endpoint-independent NAT mappings: a socket's address to the address the other side sees.</summary>
    public Dictionary<StunAddress, StunAddress> Mappings { get; } = [];

    public SimPeer AddPeer(string name, IceRole role, ulong tieBreaker, Action<IceAgentOptions>? configure = null)
    {
        var options = new IceAgentOptions { Role = role, TieBreaker = tieBreaker };
        configure?.Invoke(options);
        var peer = new SimPeer(name, options);
        _peers.Add(peer);
        return peer;
    }

    /// <summary>Gives each side the other's credentials.</summary>
    public static void ExchangeCredentials(SimPeer a, SimPeer b)
    {
        a.Agent.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword);
        b.Agent.SetRemoteCredentials(a.Agent.LocalUfrag, a.Agent.LocalPassword);
    }

    /// <summary>Gives <paramref name="to"/> every candidate of <paramref name="from"/>.</summary>
    public static void Trickle(SimPeer from, SimPeer to, bool endOfCandidates = false)
    {
        foreach (var candidate in from.Candidates)
        {
            to.Agent.AddRemoteCandidate(IceCandidate.Parse(candidate.ToString()));
        }

        if (endOfCandidates)
        {
            to.Agent.AddRemoteEndOfCandidates();
        }
    }

    /// <summary>Runs until <paramref name="condition"/> holds or <paramref name="maxMilliseconds"/> of simulated time pass.</summary>
    public bool RunUntil(Func<bool> condition, long maxMilliseconds = 30_000)
    {
        var end = Now + maxMilliseconds;
        while (true)
        {
            Flush();
            if (condition())
            {
                return true;
            }

            var next = NextEventTime();
            if (next is null || next.Value > end)
            {
                Now = end;
                Step();
                return condition();
            }

            Now = Math.Max(Now, next.Value);
            Step();
        }
    }

    /// <summary>Advances the clock by <paramref name="milliseconds"/>, processing everything on the way.</summary>
    public void Run(long milliseconds) => RunUntil(() => false, milliseconds);

    private long? NextEventTime()
    {
        long? next = null;
        foreach (var packet in _inFlight)
        {
            next = next is null ? packet.At : Math.Min(next.Value, packet.At);
        }

        foreach (var peer in _peers)
        {
            if (peer.Agent.PollTimeout() is { } timeout)
            {
                next = next is null ? timeout : Math.Min(next.Value, timeout);
            }
        }

        return next;
    }

    private void Step()
    {
        // Deliver what is due, in arrival order.
        _inFlight.Sort((x, y) => x.At != y.At ? x.At.CompareTo(y.At) : x.Sequence.CompareTo(y.Sequence));
        while (_inFlight.Count > 0 && _inFlight[0].At <= Now)
        {
            var packet = _inFlight[0];
            _inFlight.RemoveAt(0);
            var data = Tamper is null ? packet.Data : Tamper(packet.Data);
            Delivered++;
            packet.To.Agent.HandleStunPacket(packet.SocketId, packet.From, data, Now);
        }

        foreach (var peer in _peers)
        {
            if (peer.Agent.PollTimeout() is { } timeout && timeout <= Now)
            {
                peer.Agent.HandleTimeout(Now);
            }
        }

        Flush();
    }

    private long _sequence;

    private void Flush()
    {
        foreach (var peer in _peers)
        {
            int length;
            while ((length = peer.Agent.PollTransmit(_buffer, out var transmit)) > 0)
            {
                var from = peer.Sockets[transmit.SocketId];
                from = Mappings.TryGetValue(from, out var mapped) ? mapped : from;
                if (!LinkUp || _random.NextDouble() < Loss)
                {
                    continue;
                }

                var copies = _random.NextDouble() < Duplication ? 2 : 1;
                for (var i = 0; i < copies; i++)
                {
                    foreach (var target in _peers)
                    {
                        foreach (var (socketId, address) in target.Sockets)
                        {
                            if (address == transmit.Remote || (Mappings.TryGetValue(address, out var external) && external == transmit.Remote))
                            {
                                var at = Now + 1 + _random.Next(5) + (Jitter > 0 ? _random.Next(Jitter) : 0);
                                _inFlight.Add(new InFlight(at, _sequence++, target, socketId, from, _buffer.AsSpan(0, length).ToArray()));
                            }
                        }
                    }
                }
            }

            peer.DrainEvents();
        }
    }

    private sealed record InFlight(long At, long Sequence, SimPeer To, int SocketId, StunAddress From, byte[] Data);
}
