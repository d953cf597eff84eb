using System.Net;
using PeerNet.Stun;
using PeerNet.Stun.NatBehavior;
using PeerNet.Turn;
using PeerNet.Tests.Turn;

namespace PeerNet.Tests.Stun.NatBehavior;

/// <summary>A STUN server in the simulation: a request arrives on <c>local</c> from <c>remote</c>; zero or more answers come back (bytes, source).</summary>
internal interface ISimulatedStunServer
{
    IEnumerable<(byte[] Response, StunAddress Source)> Handle(byte[] request, StunAddress local, StunAddress remote);
}

/// <summary>How a <see cref="SimulatedStunServer"/> misbehaves.</summary>
public enum ServerQuirk
{
    None,
    NoOtherAddress,
    OtherAddressIsPrimary,
    OtherAddressSameIP,
    OtherAddressSamePort,
    OtherAddressOtherFamily,
    RejectsChangeRequest,
    IgnoresChangeRequest,
    ErrorForBinding,
    NoMappedAddress,
    AlternateUnreachable,
    Silent,
}

/// <summary>
/// An RFC 5780 STUN server written for the tests (independent of ours): primary 192.0.2.1:3478,
/// alternate 192.0.2.2:3479, with <see cref="ServerQuirk"/>s.
/// </summary>
internal sealed class SimulatedStunServer(ServerQuirk quirk = ServerQuirk.None) : ISimulatedStunServer
{
    public static readonly StunAddress Primary = Address("192.0.2.1:3478");
    public static readonly StunAddress Alternate = Address("192.0.2.2:3479");

    public int Requests { get; private set; }

    public static StunAddress Address(string endPoint) => StunAddress.FromIPEndPoint(IPEndPoint.Parse(endPoint));

    public IEnumerable<(byte[] Response, StunAddress Source)> Handle(byte[] request, StunAddress local, StunAddress remote)
    {
        Requests++;
        if (quirk == ServerQuirk.Silent || !StunMessageReader.TryParse(request, out var reader, out _) || reader.Method != StunMethod.Binding || reader.Class != StunClass.Request)
        {
            yield break;
        }

        var onAlternateIP = local.WithPort(0) == Alternate.WithPort(0);
        if (quirk == ServerQuirk.AlternateUnreachable && (onAlternateIP || local.Port == Alternate.Port))
        {
            yield break;
        }

        var id = reader.TransactionId;
        var hasChange = reader.TryGetChangeRequest(out var changeIP, out var changePort);
        var buffer = new byte[512];
        if (quirk == ServerQuirk.ErrorForBinding || (quirk == ServerQuirk.RejectsChangeRequest && hasChange))
        {
            var e = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.ErrorResponse, id);
            e.AddErrorCode(quirk == ServerQuirk.ErrorForBinding ? 500 : 420, quirk == ServerQuirk.ErrorForBinding ? "Server Error" : "Unknown Attribute");
            e.TryGetMessage(out var error);
            yield return (error.ToArray(), local);
            yield break;
        }

        if (quirk == ServerQuirk.IgnoresChangeRequest)
        {
            changeIP = changePort = false;
        }

        var localPrimaryIP = local.WithPort(0) == Primary.WithPort(0);
        var localPrimaryPort = local.Port == Primary.Port;
        var source = Combine(localPrimaryIP != changeIP, localPrimaryPort != changePort);
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
        if (quirk != ServerQuirk.NoMappedAddress)
        {
            w.AddXorMappedAddress(remote);
        }

        w.AddResponseOrigin(source);
        var other = quirk switch
        {
            ServerQuirk.OtherAddressIsPrimary => Primary,
            ServerQuirk.OtherAddressSameIP => Primary.WithPort(Alternate.Port),
            ServerQuirk.OtherAddressSamePort => Alternate.WithPort(Primary.Port),
            ServerQuirk.OtherAddressOtherFamily => Address("[2001:db8::2]:3479"),
            _ => Combine(!localPrimaryIP, !localPrimaryPort),
        };
        if (quirk != ServerQuirk.NoOtherAddress)
        {
            w.AddOtherAddress(other);
        }

        w.AddFingerprint();
        w.TryGetMessage(out var message);
        yield return (message.ToArray(), source);
    }

    private static StunAddress Combine(bool primaryIP, bool primaryPort) =>
        (primaryIP ? Primary : Alternate).WithPort(primaryPort ? Primary.Port : Alternate.Port);
}

/// <summary>Our own server core (<see cref="TurnServer"/>) with behaviour discovery on, as the simulation's server.</summary>
internal sealed class RealTurnServerCore : ISimulatedStunServer
{
    private readonly TurnServer _server;

    public RealTurnServerCore()
    {
        var options = new TurnServerOptions { Realm = "sim" };
        options.Users["u"] = "p";
        _server = new TurnServer(options, new FakeRelayBinder());
        _server.EnableBehaviorDiscovery(SimulatedStunServer.Primary, SimulatedStunServer.Alternate);
    }

    public IEnumerable<(byte[] Response, StunAddress Source)> Handle(byte[] request, StunAddress local, StunAddress remote)
    {
        var response = new byte[TurnServer.ResponseBufferLength];
        var output = _server.HandleClientMessage(new TurnClientEndpoint(TurnTransport.Udp, 1, local, remote), request, response, 0);
        if (output.Kind != TurnOutputKind.ToClient)
        {
            return [];
        }

        var source = output.Source.Family == StunAddressFamily.None ? local : output.Source;
        return [(response.AsSpan(output.Offset, output.Length).ToArray(), source)];
    }
}

/// <summary>RFC 4787 behaviours of the simulated NAT (or none: the client is on a public address).</summary>
public enum SimMapping
{
    None,
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent,
}

public enum SimFiltering
{
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent,
}

/// <summary>
/// A client socket behind a simulated NAT, a server, a virtual clock, loss, delay, duplication and
/// reordering (seeded): runs a <see cref="NatBehaviorDiscovery"/> to its end.
/// </summary>
internal sealed class NatBehaviorSimulation
{
    public static readonly StunAddress PrivateClient = SimulatedStunServer.Address("10.0.0.2:5000");
    public static readonly StunAddress PublicIP = SimulatedStunServer.Address("198.51.100.1:0");

    private readonly Random _random;
    private readonly Dictionary<string, ushort> _mappings = [];
    private readonly HashSet<StunAddress> _contacted = [];
    private readonly List<(long At, byte[] Bytes, StunAddress From)> _inFlight = [];
    private ushort _nextPort = 40000;

    public NatBehaviorSimulation(SimMapping mapping, SimFiltering filtering, ISimulatedStunServer server, int seed = 1)
    {
        Mapping = mapping;
        Filtering = filtering;
        Server = server;
        _random = new Random(seed);
    }

    public SimMapping Mapping { get; }

    public SimFiltering Filtering { get; }

    public ISimulatedStunServer Server { get; }

    /// <summary>Chance (0–1) that a datagram is lost, each way.</summary>
    public double Loss { get; init; }

    /// <summary>One-way delay in ms; jitter adds 0..this much more (reordering).</summary>
    public int Delay { get; init; } = 20;

    public int Jitter { get; init; }

    /// <summary>Chance that a datagram is delivered twice.</summary>
    public double Duplicate { get; init; }

    /// <summary>Called for each datagram the client would receive; returns the datagrams to deliver instead (hostile rewriting).</summary>
    public Func<byte[], StunAddress, IEnumerable<(byte[] Bytes, StunAddress From)>>? Tamper { get; init; }

    public long Now { get; private set; }

    public int Transmissions { get; private set; }

    public List<long> TransmitTimes { get; } = [];

    public List<NatBehaviorEvent> Events { get; } = [];

    /// <summary>The client's local address as its socket sees it.</summary>
    public StunAddress LocalAddress => Mapping == SimMapping.None ? PublicIP.WithPort(5000) : PrivateClient;

    public NatBehaviorDiscovery Create(Action<NatBehaviorDiscoveryOptions>? configure = null)
    {
        var options = new NatBehaviorDiscoveryOptions { Server = SimulatedStunServer.Primary, LocalAddress = LocalAddress };
        configure?.Invoke(options);
        return new NatBehaviorDiscovery(options);
    }

    /// <summary>Runs to completion (at most <paramref name="limit"/> virtual ms); returns the result.</summary>
    public NatBehaviorResult Run(NatBehaviorDiscovery discovery, long limit = 120_000)
    {
        discovery.Start(Now);
        var buffer = new byte[NatBehaviorDiscovery.MaxRequestLength];
        for (var steps = 0; steps < 100_000 && !discovery.IsComplete; steps++)
        {
            int length;
            while ((length = discovery.PollTransmit(buffer, out var destination)) > 0)
            {
                Transmissions++;
                TransmitTimes.Add(Now);
                Outbound(buffer.AsSpan(0, length).ToArray(), destination);
            }

            Drain(discovery);
            var timeout = discovery.PollTimeout();
            var next = _inFlight.Count == 0 ? long.MaxValue : _inFlight.Min(p => p.At);
            var at = Math.Min(next, timeout ?? long.MaxValue);
            if (at == long.MaxValue)
            {
                break;
            }

            Assert.True(at >= Now, "time went backwards");
            Now = at;
            Assert.True(Now <= limit, $"the discovery did not end within {limit} ms");
            Deliver(discovery);
            if (timeout is { } t && Now >= t)
            {
                discovery.HandleTimeout(Now);
            }

            Drain(discovery);
        }

        Assert.True(discovery.IsComplete);
        Assert.Null(discovery.PollTimeout());
        Assert.Equal(0, discovery.PollTransmit(buffer, out _));
        return discovery.Result;
    }

    private void Drain(NatBehaviorDiscovery discovery)
    {
        while (discovery.TryPollEvent(out var e))
        {
            Events.Add(e);
        }
    }

    private void Outbound(byte[] datagram, StunAddress destination)
    {
        if (_random.NextDouble() < Loss)
        {
            return;
        }

        var external = Map(destination);
        _contacted.Add(destination);
        foreach (var (response, source) in Server.Handle(datagram, destination, external))
        {
            if (_random.NextDouble() < Loss)
            {
                continue;
            }

            // The answer crosses the NAT inbound: it must hit a mapping and pass the filter.
            if (!Admit(external, source))
            {
                continue;
            }

            var copies = _random.NextDouble() < Duplicate ? 2 : 1;
            for (var i = 0; i < copies; i++)
            {
                var at = Now + (2 * Delay) + (Jitter > 0 ? _random.Next(Jitter) : 0);
                if (Tamper is null)
                {
                    _inFlight.Add((at, response, source));
                }
                else
                {
                    foreach (var (bytes, from) in Tamper(response, source))
                    {
                        _inFlight.Add((at, bytes, from));
                    }
                }
            }
        }
    }

    private void Deliver(NatBehaviorDiscovery discovery)
    {
        for (var i = 0; i < _inFlight.Count; i++)
        {
            if (_inFlight[i].At <= Now)
            {
                var (_, bytes, from) = _inFlight[i];
                _inFlight.RemoveAt(i--);
                discovery.HandleResponse(bytes, from, Now);
            }
        }
    }

    private StunAddress Map(StunAddress destination)
    {
        if (Mapping == SimMapping.None)
        {
            return LocalAddress;
        }

        var key = Mapping switch
        {
            SimMapping.EndpointIndependent => "*",
            SimMapping.AddressDependent => destination.WithPort(0).ToString(),
            _ => destination.ToString(),
        };
        if (!_mappings.TryGetValue(key, out var port))
        {
            port = _nextPort++;
            _mappings[key] = port;
        }

        return PublicIP.WithPort(port);
    }

    private bool Admit(StunAddress external, StunAddress source)
    {
        if (Mapping != SimMapping.None && !_mappings.ContainsValue(external.Port))
        {
            return false;
        }

        return Filtering switch
        {
            SimFiltering.EndpointIndependent => true,
            SimFiltering.AddressDependent => _contacted.Any(c => c.WithPort(0) == source.WithPort(0)),
            _ => _contacted.Contains(source),
        };
    }
}
