using System.Net;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>Something with deadlines on the virtual clock: an ICE peer, a server, a signaling channel.</summary>
internal interface ISimActor
{
    /// <summary>The next absolute time (ms) it must be woken at, or null. May lie in the past: it is woken at once.</summary>
    long? PollTimeout();

    void HandleTimeout(long now);
}

/// <summary>A node that owns public IP addresses: a NAT's outside or a server.</summary>
internal interface IPublicNode
{
    void Receive(StunAddress destination, StunAddress source, ReadOnlySpan<byte> datagram, long now);
}

/// <summary>One access link: one-way delay, extra random delay (so packets overtake one another) and loss, each packet judged on its own.</summary>
/// <param name="Delay">One-way delay in ms.</param>
/// <param name="Jitter">Up to this many ms more, drawn per packet.</param>
/// <param name="Loss">Probability that a packet crossing the link is lost.</param>
internal sealed record LinkProfile(int Delay = 10, int Jitter = 0, double Loss = 0)
{
    public static LinkProfile Server { get; } = new(Delay: 1);
}

/// <summary>
/// A small deterministic internet on a virtual clock: public nodes (NATs' outsides, servers) reached
/// through their access links, hosts behind NATs (or directly on a public address), datagrams in
/// flight with per-link delay, jitter and seeded loss, and actors whose deadlines drive the clock.
/// <see cref="RunUntil"/> jumps the clock to the next deadline of anything — a packet arriving or an
/// actor's timer — so seconds of protocol time take microseconds.
/// </summary>
internal sealed class VirtualInternet
{
    private const int MaxStepsPerRun = 2_000_000;

    private readonly Dictionary<uint, (IPublicNode Node, LinkProfile Link)> _public = [];
    private readonly Dictionary<uint, VirtualHost> _hosts = [];
    private readonly PriorityQueue<InFlight, (long At, long Sequence)> _inFlight = new();
    private readonly List<ISimActor> _actors = [];
    private long _sequence;

    public VirtualInternet(int seed)
    {
        Seed = seed;
        Random = new Random(seed);
    }

    public int Seed { get; }

    /// <summary>All randomness of the simulation (loss, jitter, NAT ports) comes from here.</summary>
    public Random Random { get; }

    /// <summary>The virtual clock, monotonic ms (starts well above 0, as Environment.TickCount64 does).</summary>
    public long Now { get; private set; } = 1_000_000;

    public long PacketsSent { get; private set; }

    public long PacketsLost { get; private set; }

    public long PacketsUnroutable { get; private set; }

    public long PacketsDelivered { get; private set; }

    /// <summary>Called with each datagram as it arrives at a public node: (source, destination, bytes). For tests that watch the wire.</summary>
    public Action<StunAddress, StunAddress, byte[]>? Observe { get; set; }

    /// <summary>Called with each datagram as it enters the internet: (source, destination, bytes, lost). For tests that watch the wire.</summary>
    public Action<StunAddress, StunAddress, byte[], bool>? ObserveSent { get; set; }

    /// <summary>Datagrams for which this returns true are lost, on top of the links' random loss (to lose exactly the packets a test names).</summary>
    public PacketFilter? DropIf { get; set; }

    public long PacketsDroppedByFilter { get; private set; }

    public VirtualNat AddNat(string name, string publicIp, NatBehavior behavior, LinkProfile link)
    {
        var nat = new VirtualNat(name, Parse(publicIp), behavior, Random);
        AddPublicNode(nat.PublicAddress, new NatOutside(this, nat), link);
        return nat;
    }

    /// <summary>A host at <paramref name="ip"/>: private behind <paramref name="nat"/>, or public (then with its own <paramref name="link"/>).</summary>
    public VirtualHost AddHost(string name, string ip, VirtualNat? nat = null, LinkProfile? link = null)
    {
        var host = new VirtualHost(this, name, Parse(ip), nat);
        _hosts.Add(host.Address.IPv4Value, host);
        if (nat is null)
        {
            AddPublicNode(host.Address, new PublicHost(host), link ?? new LinkProfile());
        }

        return host;
    }

    public void AddPublicNode(StunAddress address, IPublicNode node, LinkProfile link) => _public.Add(address.IPv4Value, (node, link));

    public void AddActor(ISimActor actor) => _actors.Add(actor);

    public static StunAddress Parse(string ip, ushort port = 0) => StunAddress.FromIPAddress(IPAddress.Parse(ip), port);

    /// <summary>A host sends from <paramref name="source"/> (its own address) to <paramref name="destination"/>.</summary>
    internal void SendFromHost(VirtualHost host, StunAddress source, StunAddress destination, ReadOnlySpan<byte> datagram)
    {
        PacketsSent++;
        if (host.Nat is not { } nat)
        {
            Route(_public[host.Address.IPv4Value].Link, source, destination, datagram);
            return;
        }

        if (destination.WithPort(0) == nat.PublicAddress)
        {
            nat.CountHairpinDrop(); // RFC 4787 §6 hairpinning: this NAT does not do it
            return;
        }

        if (_hosts.TryGetValue(destination.IPv4Value, out var neighbour) && neighbour.Nat == nat)
        {
            Schedule(Now + 1, new InFlight(null, neighbour, source, destination, datagram.ToArray())); // the same LAN
            return;
        }

        var external = nat.TranslateOutbound(source, destination, Now);
        Route(_public[nat.PublicAddress.IPv4Value].Link, external, destination, datagram);
    }

    /// <summary>A public node (a server) sends from one of its addresses.</summary>
    internal void SendFromPublic(StunAddress source, StunAddress destination, ReadOnlySpan<byte> datagram)
    {
        PacketsSent++;
        Route(_public[source.IPv4Value].Link, source, destination, datagram);
    }

    /// <summary>Runs until <paramref name="condition"/> holds (checked after every step) or <paramref name="maxMilliseconds"/> of virtual time pass.</summary>
    public bool RunUntil(Func<bool> condition, long maxMilliseconds)
    {
        var end = Now + maxMilliseconds;
        for (var steps = 0; steps < MaxStepsPerRun; steps++)
        {
            if (condition())
            {
                return true;
            }

            var next = NextDeadline();
            if (next is null || next.Value > end)
            {
                Now = end;
                return condition();
            }

            Now = Math.Max(Now, next.Value);
            Step();
        }

        throw new InvalidOperationException($"The simulation did not advance past {Now} ms after {MaxStepsPerRun} steps: an actor keeps asking to be woken now.");
    }

    /// <summary>Advances the clock by <paramref name="milliseconds"/>, processing everything on the way.</summary>
    public void Run(long milliseconds) => RunUntil(static () => false, milliseconds);

    private long? NextDeadline()
    {
        long? next = _inFlight.TryPeek(out _, out var priority) ? priority.At : null;
        foreach (var actor in _actors)
        {
            if (actor.PollTimeout() is { } deadline)
            {
                next = next is null ? deadline : Math.Min(next.Value, deadline);
            }
        }

        return next;
    }

    private void Step()
    {
        while (_inFlight.TryPeek(out var packet, out var priority) && priority.At <= Now)
        {
            _inFlight.Dequeue();
            Deliver(packet);
        }

        // An actor's handler may change another's deadline: look at each once per step, in a fixed order.
        for (var i = 0; i < _actors.Count; i++)
        {
            if (_actors[i].PollTimeout() is { } deadline && deadline <= Now)
            {
                _actors[i].HandleTimeout(Now);
            }
        }
    }

    private void Route(LinkProfile from, StunAddress source, StunAddress destination, ReadOnlySpan<byte> datagram)
    {
        if (!_public.TryGetValue(destination.IPv4Value, out var target) || destination.Family != StunAddressFamily.IPv4)
        {
            PacketsUnroutable++; // a private or unknown address: no route on the internet
            return;
        }

        if (DropIf?.Invoke(source, destination, datagram) == true)
        {
            PacketsDroppedByFilter++;
            ObserveSent?.Invoke(source, destination, datagram.ToArray(), true);
            return;
        }

        // Each link crossed may lose the packet and adds its delay.
        var lost = Lost(from) || Lost(target.Link);
        ObserveSent?.Invoke(source, destination, datagram.ToArray(), lost);
        if (lost)
        {
            PacketsLost++;
            return;
        }

        var at = Now + Math.Max(1, Delay(from) + Delay(target.Link));
        Schedule(at, new InFlight(target.Node, null, source, destination, datagram.ToArray()));
    }

    private bool Lost(LinkProfile link) => link.Loss > 0 && Random.NextDouble() < link.Loss;

    private int Delay(LinkProfile link) => link.Delay + (link.Jitter > 0 ? Random.Next(link.Jitter + 1) : 0);

    private void Schedule(long at, InFlight packet) => _inFlight.Enqueue(packet, (at, _sequence++));

    private void Deliver(InFlight packet)
    {
        PacketsDelivered++;
        if (packet.Host is { } host)
        {
            host.Deliver(packet.Destination.Port, packet.Source, packet.Data);
            return;
        }

        Observe?.Invoke(packet.Source, packet.Destination, packet.Data);
        packet.Node!.Receive(packet.Destination, packet.Source, packet.Data, Now);
    }

    internal void DeliverInside(StunAddress inside, StunAddress source, ReadOnlySpan<byte> datagram)
    {
        if (_hosts.TryGetValue(inside.IPv4Value, out var host))
        {
            host.Deliver(inside.Port, source, datagram);
        }
    }

    private sealed record InFlight(IPublicNode? Node, VirtualHost? Host, StunAddress Source, StunAddress Destination, byte[] Data);

    /// <summary>A NAT seen from the internet: translates inbound packets and hands them to the host inside.</summary>
    private sealed class NatOutside(VirtualInternet net, VirtualNat nat) : IPublicNode
    {
        public void Receive(StunAddress destination, StunAddress source, ReadOnlySpan<byte> datagram, long now)
        {
            if (nat.TryTranslateInbound(destination, source, now, out var inside))
            {
                net.DeliverInside(inside, source, datagram);
            }
        }
    }

    private sealed class PublicHost(VirtualHost host) : IPublicNode
    {
        public void Receive(StunAddress destination, StunAddress source, ReadOnlySpan<byte> datagram, long now) =>
            host.Deliver(destination.Port, source, datagram);
    }
}

/// <summary>Decides whether the internet drops a datagram on purpose (targeted loss in tests).</summary>
internal delegate bool PacketFilter(StunAddress source, StunAddress destination, ReadOnlySpan<byte> datagram);

/// <summary>Receives a datagram on a bound port of a <see cref="VirtualHost"/>.</summary>
internal delegate void VirtualReceiveHandler(StunAddress source, ReadOnlySpan<byte> datagram);

/// <summary>A machine with one IPv4 address and UDP ports; behind a NAT or public.</summary>
internal sealed class VirtualHost(VirtualInternet net, string name, StunAddress address, VirtualNat? nat)
{
    private readonly Dictionary<ushort, VirtualReceiveHandler> _ports = [];

    public string Name { get; } = name;

    /// <summary>The host's own address (private when behind a NAT), port 0.</summary>
    public StunAddress Address { get; } = address;

    public VirtualNat? Nat { get; } = nat;

    public VirtualInternet Network { get; } = net;

    /// <summary>Datagrams to a port nobody listens on.</summary>
    public long DroppedClosedPort { get; private set; }

    public StunAddress Bind(ushort port, VirtualReceiveHandler handler)
    {
        _ports.Add(port, handler);
        return Address.WithPort(port);
    }

    public void Send(ushort fromPort, StunAddress destination, ReadOnlySpan<byte> datagram) =>
        Network.SendFromHost(this, Address.WithPort(fromPort), destination, datagram);

    internal void Deliver(ushort port, StunAddress source, ReadOnlySpan<byte> datagram)
    {
        if (_ports.TryGetValue(port, out var handler))
        {
            handler(source, datagram);
        }
        else
        {
            DroppedClosedPort++;
        }
    }

    public override string ToString() => $"{Name} {Address}";
}
