using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>An IPv4 or IPv6 prefix (CIDR), matched against <see cref="StunAddress"/> without allocating.</summary>
public readonly struct TurnAddressRange
{
    private readonly ulong _high;
    private readonly ulong _low;

    private TurnAddressRange(StunAddressFamily family, ulong high, ulong low, int prefixLength)
    {
        Family = family;
        PrefixLength = prefixLength;
        var (maskHigh, maskLow) = Mask(prefixLength);
        _high = high & maskHigh;
        _low = low & maskLow;
    }

    /// <summary>IPv4 or IPv6.</summary>
    public StunAddressFamily Family { get; }

    /// <summary>The prefix length in bits.</summary>
    public int PrefixLength { get; }

    /// <summary>From an <see cref="IPNetwork"/>.</summary>
    public static TurnAddressRange FromNetwork(IPNetwork network)
    {
        Span<byte> bytes = stackalloc byte[16];
        network.BaseAddress.TryWriteBytes(bytes, out var written);
        return network.BaseAddress.AddressFamily == AddressFamily.InterNetwork
            ? new TurnAddressRange(StunAddressFamily.IPv4, 0, BinaryPrimitives.ReadUInt32BigEndian(bytes) | 0UL, network.PrefixLength + 96)
            : new TurnAddressRange(StunAddressFamily.IPv6, BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), network.PrefixLength);
    }

    /// <summary>Parses "10.0.0.0/8" or "fc00::/7".</summary>
    public static TurnAddressRange Parse(string cidr) => FromNetwork(IPNetwork.Parse(cidr));

    /// <summary>Whether the address (its IP; the port is ignored) is inside the range.</summary>
    public bool Contains(in StunAddress address)
    {
        if (address.Family != Family)
        {
            return false;
        }

        var (high, low) = ToWords(address);
        var (maskHigh, maskLow) = Mask(PrefixLength);
        return (high & maskHigh) == _high && (low & maskLow) == _low;
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _low);
        return Family == StunAddressFamily.IPv4
            ? $"{new IPAddress(bytes[12..])}/{PrefixLength - 96}"
            : $"{new IPAddress(bytes)}/{PrefixLength}";
    }

    // IPv4 addresses live in the low 32 bits, and their prefix lengths are stored plus 96, so one
    // 128-bit comparison serves both families.
    internal static (ulong High, ulong Low) ToWords(in StunAddress address)
    {
        if (address.Family == StunAddressFamily.IPv4)
        {
            return (0, address.IPv4Value);
        }

        Span<byte> bytes = stackalloc byte[16];
        address.WriteAddressBytes(bytes);
        return (BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }

    private static (ulong High, ulong Low) Mask(int prefixLength) => prefixLength switch
    {
        <= 0 => (0, 0),
        < 64 => (ulong.MaxValue << (64 - prefixLength), 0),
        64 => (ulong.MaxValue, 0),
        < 128 => (ulong.MaxValue, ulong.MaxValue << (128 - prefixLength)),
        _ => (ulong.MaxValue, ulong.MaxValue),
    };
}

/// <summary>
/// Which peers an allocation may reach (RFC 8656 §21.1.4 and §21.1.5). Special-purpose ranges
/// (RFC 6890 and successors: loopback, RFC 1918 private, shared CGN space, link-local, multicast,
/// unspecified, documentation, benchmarking, reserved, unique-local, IPv4-mapped and translated
/// IPv6...) are refused, since relaying to them would let any user reach the server's own network;
/// <see cref="TurnServerOptions.AllowedPeerRanges"/> re-allows chosen ones, and
/// <see cref="TurnServerOptions.DeniedPeerRanges"/> refuses more.
/// </summary>
public sealed class TurnPeerPolicy
{
    /// <summary>The ranges refused unless allowed.</summary>
    public static readonly IReadOnlyList<string> SpecialRanges =
    [
        "0.0.0.0/8",          // "this network", including the unspecified address
        "10.0.0.0/8",         // private (RFC 1918)
        "100.64.0.0/10",      // shared address space (carrier-grade NAT, RFC 6598)
        "127.0.0.0/8",        // loopback
        "169.254.0.0/16",     // link-local
        "172.16.0.0/12",      // private (RFC 1918)
        "192.0.0.0/24",       // IETF protocol assignments
        "192.0.2.0/24",       // documentation (TEST-NET-1)
        "192.88.99.0/24",     // 6to4 relay anycast (deprecated)
        "192.168.0.0/16",     // private (RFC 1918)
        "198.18.0.0/15",      // benchmarking
        "198.51.100.0/24",    // documentation (TEST-NET-2)
        "203.0.113.0/24",     // documentation (TEST-NET-3)
        "224.0.0.0/4",        // multicast
        "240.0.0.0/4",        // reserved, and the limited broadcast address
        "::/128",             // unspecified
        "::1/128",            // loopback
        "::ffff:0:0/96",      // IPv4-mapped
        "::/96",              // IPv4-compatible (deprecated)
        "64:ff9b::/96",       // IPv4/IPv6 translation (would reach IPv4 through a NAT64)
        "64:ff9b:1::/48",     // local-use IPv4/IPv6 translation
        "100::/64",           // discard-only
        "2001::/23",          // IETF protocol assignments (Teredo, ORCHID...)
        "2001:db8::/32",      // documentation
        "2002::/16",          // 6to4 (embeds IPv4 addresses)
        "3fff::/20",          // documentation
        "5f00::/16",          // segment routing SIDs
        "fc00::/7",           // unique local
        "fe80::/10",          // link-local
        "fec0::/10",          // site-local (deprecated)
        "ff00::/8",           // multicast
    ];

    private static readonly TurnAddressRange[] Special = [.. SpecialRanges.Select(TurnAddressRange.Parse)];

    private readonly TurnAddressRange[] _allowed;
    private readonly TurnAddressRange[] _denied;

    /// <summary>Builds the policy from the allow-list and the extra deny-list.</summary>
    public TurnPeerPolicy(IEnumerable<IPNetwork> allowed, IEnumerable<IPNetwork> denied)
    {
        _allowed = [.. allowed.Select(TurnAddressRange.FromNetwork)];
        _denied = [.. denied.Select(TurnAddressRange.FromNetwork)];
    }

    /// <summary>Whether <paramref name="peer"/> is in a special range (before the allow-list).</summary>
    public static bool IsSpecial(in StunAddress peer)
    {
        foreach (var range in Special)
        {
            if (range.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether an allocation may relay to <paramref name="peer"/>.</summary>
    public bool IsAllowed(in StunAddress peer)
    {
        if (peer.Family == StunAddressFamily.None)
        {
            return false;
        }

        foreach (var range in _denied)
        {
            if (range.Contains(peer))
            {
                return false;
            }
        }

        if (!IsSpecial(peer))
        {
            return true;
        }

        foreach (var range in _allowed)
        {
            if (range.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }
}
