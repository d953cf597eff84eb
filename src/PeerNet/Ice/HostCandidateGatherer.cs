using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace PeerNet.Ice;

/// <summary>
/// Finds the addresses host candidates are gathered on (RFC 8445 §5.1.1.1) and builds the candidates:
/// operational interfaces, IPv4 and IPv6, without IPv6 link-local or deprecated addresses by default,
/// loopback only when asked or when nothing else exists.
/// </summary>
public static class HostCandidateGatherer
{
    /// <summary>The usable local addresses under <paramref name="options"/>, IPv6 first, in interface order.</summary>
    public static IReadOnlyList<IceHostAddress> GetHostAddresses(IceGatherOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Addresses is { Count: > 0 } fixedAddresses)
        {
            return fixedAddresses.Where(a => Wanted(a, options))
                .Select(a => new IceHostAddress(a, (int)(a.AddressFamily == AddressFamily.InterNetworkV6 ? a.ScopeId : 0), IPAddress.IsLoopback(a)))
                .ToList();
        }

        var found = new List<IceHostAddress>();
        NetworkInterface[] interfaces;
        try
        {
            interfaces = NetworkInterface.GetAllNetworkInterfaces();
        }
        catch (NetworkInformationException)
        {
            return [];
        }

        foreach (var networkInterface in interfaces)
        {
            var isLoopback = networkInterface.NetworkInterfaceType == NetworkInterfaceType.Loopback;

            // Linux reports lo as "Unknown", not "Up".
            if (networkInterface.OperationalStatus != OperationalStatus.Up
                && !(isLoopback && networkInterface.OperationalStatus == OperationalStatus.Unknown))
            {
                continue;
            }

            IPInterfaceProperties properties;
            try
            {
                properties = networkInterface.GetIPProperties();
            }
            catch (NetworkInformationException)
            {
                continue;
            }

            var index = InterfaceIndex(properties);
            foreach (var unicast in properties.UnicastAddresses)
            {
                var address = unicast.Address;
                if (!Wanted(address, options) || IsDeprecated(unicast))
                {
                    continue;
                }

                if (address.AddressFamily == AddressFamily.InterNetworkV6 && !address.IsIPv6LinkLocal)
                {
                    address = new IPAddress(address.GetAddressBytes()); // no scope id on global addresses
                }

                found.Add(new IceHostAddress(address, index, isLoopback || IPAddress.IsLoopback(address)));
            }
        }

        var chosen = found.Where(a => !a.IsLoopback).ToList();
        if (options.IncludeLoopback || chosen.Count == 0)
        {
            chosen = found;
        }

        return chosen.DistinctBy(a => a.Address)
            .OrderBy(a => a.Address.AddressFamily == AddressFamily.InterNetworkV6 ? 0 : 1)
            .ThenBy(a => a.IsLoopback)
            .ToList();
    }

    /// <summary>
    /// The host candidate for a bound socket. The local preference (RFC 8445 §5.1.2.1) prefers IPv6,
    /// then the order of <paramref name="ordinal"/> (position in the gathered list).
    /// </summary>
    public static IceCandidate CreateHostCandidate(IPEndPoint local, int ordinal, string? ufrag = null, int component = 1)
    {
        ArgumentNullException.ThrowIfNull(local);
        var address = local.Address.IsIPv6LinkLocal ? local.Address : new IPAddress(local.Address.GetAddressBytes());
        var literal = new IPAddress(address.GetAddressBytes()); // the candidate never carries a scope id
        var familyPreference = local.AddressFamily == AddressFamily.InterNetworkV6 ? 65535 : 32767;
        var localPreference = Math.Max(0, familyPreference - Math.Min(ordinal, 1000));
        List<KeyValuePair<string, string>> extensions = [new("generation", "0")];
        if (ufrag is not null)
        {
            extensions.Add(new("ufrag", ufrag));
        }

        return new IceCandidate
        {
            Foundation = IceCandidate.ComputeFoundation(IceCandidateType.Host, literal),
            Component = component,
            Priority = IceCandidate.ComputePriority(IceCandidateType.Host, localPreference, component),
            Address = literal.ToString(),
            Port = local.Port,
            Type = IceCandidateType.Host,
            Extensions = extensions,
        };
    }

    private static bool Wanted(IPAddress address, IceGatherOptions options)
    {
        switch (address.AddressFamily)
        {
            case AddressFamily.InterNetwork:
                return options.IncludeIPv4 && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.Broadcast);
            case AddressFamily.InterNetworkV6:
                if (!options.IncludeIPv6 || address.Equals(IPAddress.IPv6Any) || address.IsIPv6Multicast || address.IsIPv4MappedToIPv6)
                {
                    return false;
                }

                return options.IncludeIPv6LinkLocal || !address.IsIPv6LinkLocal;
            default:
                return false;
        }
    }

    private static int InterfaceIndex(IPInterfaceProperties properties)
    {
        try
        {
            if (properties.GetIPv6Properties() is { } v6)
            {
                return v6.Index;
            }
        }
        catch (NetworkInformationException)
        {
        }

        try
        {
            return properties.GetIPv4Properties()?.Index ?? 0;
        }
        catch (NetworkInformationException)
        {
            return 0;
        }
    }

    private static bool IsDeprecated(UnicastIPAddressInformation unicast)
    {
        if (unicast.Address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        if (OperatingSystem.IsLinux())
        {
            return LinuxUnusableIPv6.Value.Contains(new IPAddress(unicast.Address.GetAddressBytes()));
        }

        return OperatingSystem.IsWindows() && unicast.DuplicateAddressDetectionState is DuplicateAddressDetectionState.Deprecated
            or DuplicateAddressDetectionState.Duplicate or DuplicateAddressDetectionState.Tentative;
    }

    // .NET does not report address states on Linux; /proc/net/if_inet6 does: "address ifindex prefix
    // scope flags name", flags with IFA_F_DEPRECATED (0x20), IFA_F_TENTATIVE (0x40), IFA_F_DADFAILED (0x08).
    private static readonly Lazy<HashSet<IPAddress>> LinuxUnusableIPv6 = new(() =>
    {
        var result = new HashSet<IPAddress>();
        try
        {
            foreach (var line in File.ReadLines("/proc/net/if_inet6"))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 5 && fields[0].Length == 32
                    && int.TryParse(fields[4], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var flags)
                    && (flags & (0x20 | 0x40 | 0x08)) != 0)
                {
                    result.Add(new IPAddress(Convert.FromHexString(fields[0])));
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return result;
    });
}
