using PeerNet.Stun;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>
/// A NAT box with one public IPv4 address in front of a private network (RFC 4787): it maps an
/// internal endpoint to an external port per its <see cref="NatMapping"/>, lets inbound packets through
/// a mapping per its <see cref="NatFiltering"/>, forgets idle mappings, drops unsolicited inbound
/// packets, and does no hairpinning (a packet to its own public address from inside is dropped).
/// </summary>
/// <remarks>
/// Filtering is judged per mapping (what this mapping has sent to), as netfilter does; for
/// endpoint-independent mapping that is the same as RFC 4787's per-internal-endpoint wording.
/// External ports are drawn from the simulation's seeded random, so runs repeat exactly.
/// </remarks>
internal sealed class VirtualNat(string name, StunAddress publicAddress, NatBehavior behavior, Random random)
{
    private readonly Dictionary<(StunAddress Internal, StunAddress Destination), Mapping> _byKey = [];
    private readonly Dictionary<ushort, Mapping> _byPort = [];

    public string Name { get; } = name;

    /// <summary>The public IP (port 0).</summary>
    public StunAddress PublicAddress { get; } = publicAddress.WithPort(0);

    public NatBehavior Behavior { get; set; } = behavior;

    /// <summary>Mappings made so far (a new one after an expiry or a rebinding counts again).</summary>
    public int MappingsCreated { get; private set; }

    /// <summary>Inbound packets dropped because no mapping admitted them.</summary>
    public long UnsolicitedDrops { get; private set; }

    /// <summary>Packets from inside to our own public address (no hairpinning).</summary>
    public long HairpinDrops { get; private set; }

    public int LiveMappings(long now) => _byPort.Values.Count(m => !IsExpired(m, now));

    /// <summary>The external address a packet from <paramref name="source"/> to <paramref name="destination"/> leaves with; makes or refreshes the mapping.</summary>
    public StunAddress TranslateOutbound(StunAddress source, StunAddress destination, long now)
    {
        var key = (source, Behavior.Mapping switch
        {
            NatMapping.EndpointIndependent => default,
            NatMapping.AddressDependent => destination.WithPort(0),
            _ => destination,
        });
        if (!_byKey.TryGetValue(key, out var mapping) || IsExpired(mapping, now))
        {
            if (mapping is not null)
            {
                Remove(mapping);
            }

            mapping = new Mapping(key, source, PublicAddress.WithPort(AllocatePort(now)));
            _byKey[key] = mapping;
            _byPort[mapping.External.Port] = mapping;
            MappingsCreated++;
        }

        mapping.LastActive = now;
        mapping.Contacted.Add(destination);
        return mapping.External;
    }

    /// <summary>Where an inbound packet to <paramref name="destination"/> from <paramref name="source"/> goes inside, or false when the NAT drops it.</summary>
    public bool TryTranslateInbound(StunAddress destination, StunAddress source, long now, out StunAddress inside)
    {
        inside = default;
        if (!_byPort.TryGetValue(destination.Port, out var mapping) || IsExpired(mapping, now) || !Admits(mapping, source))
        {
            UnsolicitedDrops++;
            return false;
        }

        if (Behavior.InboundRefreshesMapping)
        {
            mapping.LastActive = now;
        }

        inside = mapping.Internal;
        return true;
    }

    public void CountHairpinDrop() => HairpinDrops++;

    /// <summary>Forgets every mapping at once (the NAT rebooted or rebound): the next packets out get new external ports.</summary>
    public void Rebind()
    {
        _byKey.Clear();
        _byPort.Clear();
    }

    /// <summary>The external address of <paramref name="inside"/>'s live mappings (diagnostics).</summary>
    public IEnumerable<StunAddress> ExternalAddressesOf(StunAddress inside, long now) =>
        _byPort.Values.Where(m => m.Internal == inside && !IsExpired(m, now)).Select(m => m.External);

    private bool Admits(Mapping mapping, StunAddress source) => Behavior.Filtering switch
    {
        NatFiltering.EndpointIndependent => true,
        NatFiltering.AddressDependent => mapping.Contacted.Any(c => c.WithPort(0) == source.WithPort(0)),
        _ => mapping.Contacted.Contains(source),
    };

    private bool IsExpired(Mapping mapping, long now) => now - mapping.LastActive >= Behavior.MappingTimeout;

    private ushort AllocatePort(long now)
    {
        while (true)
        {
            var port = (ushort)random.Next(1024, 65536);
            if (!_byPort.TryGetValue(port, out var existing))
            {
                return port;
            }

            if (IsExpired(existing, now))
            {
                Remove(existing);
                return port;
            }
        }
    }

    private void Remove(Mapping mapping)
    {
        _byKey.Remove(mapping.Key);
        _byPort.Remove(mapping.External.Port);
    }

    private sealed class Mapping((StunAddress, StunAddress) key, StunAddress inside, StunAddress external)
    {
        public (StunAddress, StunAddress) Key { get; } = key;

        public StunAddress Internal { get; } = inside;

        public StunAddress External { get; } = external;

        public long LastActive { get; set; }

        public HashSet<StunAddress> Contacted { get; } = [];
    }
}
