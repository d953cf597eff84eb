using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>
/// An ICE candidate (RFC 8445 §5.1) in the syntax of RFC 8839 §5.1 — the string W3C
/// <c>RTCIceCandidate.candidate</c> carries: "candidate:foundation component transport priority
/// address port typ type [raddr a rport p] [name value]...". Extension attributes (generation, ufrag,
/// network-id, network-cost, tcptype and unknown ones) are kept in order.
/// </summary>
public sealed record IceCandidate
{
    /// <summary>The longest candidate line accepted (Chromium's are about 200 characters).</summary>
    public const int MaxLength = 2048;

    /// <summary>The longest foundation (RFC 8839 §5.1: 1*32ice-char).</summary>
    public const int MaxFoundationLength = 32;

    private const int MaxExtensions = 32;
    private const int MaxHostNameLength = 253;

    /// <summary>Same for candidates of the same type, base, transport and server (RFC 8445 §5.1.1.3).</summary>
    public required string Foundation { get; init; }

    /// <summary>The component id, 1–256 (1 for a data-only WebRTC session).</summary>
    public required int Component { get; init; }

    /// <summary>UDP or TCP.</summary>
    public IceProtocol Protocol { get; init; } = IceProtocol.Udp;

    /// <summary>The priority (RFC 8445 §5.1.2).</summary>
    public required uint Priority { get; init; }

    /// <summary>An IPv4 or IPv6 literal, or a host name such as Chromium's "&lt;uuid&gt;.local".</summary>
    public required string Address { get; init; }

    /// <summary>The port.</summary>
    public required int Port { get; init; }

    /// <summary>host, srflx, prflx or relay.</summary>
    public required IceCandidateType Type { get; init; }

    /// <summary>"raddr": the related address (the base of a reflexive candidate, the mapped address of a relayed one).</summary>
    public string? RelatedAddress { get; init; }

    /// <summary>"rport".</summary>
    public int? RelatedPort { get; init; }

    /// <summary>"tcptype" of a TCP candidate (RFC 6544).</summary>
    public IceTcpCandidateType? TcpType { get; init; }

    /// <summary>Extension attributes other than tcptype, in order ("generation", "ufrag", "network-id", ...).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Extensions { get; init; } = [];

    /// <summary>The "generation" extension (Chromium, aioice), when present and numeric.</summary>
    public int? Generation => GetInt("generation");

    /// <summary>The "ufrag" extension: the ICE username fragment the candidate belongs to.</summary>
    public string? UsernameFragment => GetExtension("ufrag");

    /// <summary>The "network-id" extension (Chromium).</summary>
    public int? NetworkId => GetInt("network-id");

    /// <summary>The "network-cost" extension (Chromium).</summary>
    public int? NetworkCost => GetInt("network-cost");

    /// <summary>Whether the address is an mDNS name (RFC 6762 ".local"), to be resolved before use.</summary>
    public bool IsMdnsHostName => Address.EndsWith(".local", StringComparison.OrdinalIgnoreCase);

    /// <summary>The address as an <see cref="IPAddress"/>, when it is an IP literal.</summary>
    public bool TryGetIPAddress(out IPAddress address)
    {
        if (IsIPLiteral(Address) && IPAddress.TryParse(Address, out var parsed))
        {
            address = parsed;
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    /// <summary>The transport address as a <see cref="StunAddress"/>, when the address is an IP literal.</summary>
    public bool TryGetTransportAddress(out StunAddress address)
    {
        if (TryGetIPAddress(out var ip) && Port is >= 0 and <= ushort.MaxValue)
        {
            address = StunAddress.FromIPAddress(ip, (ushort)Port);
            return true;
        }

        address = default;
        return false;
    }

    /// <summary>This candidate with its "ufrag" extension set to <paramref name="ufrag"/> (re-advertised after an ICE restart).</summary>
    public IceCandidate WithUsernameFragment(string ufrag)
    {
        var extensions = new List<KeyValuePair<string, string>>(Extensions.Count + 1);
        var replaced = false;
        foreach (var pair in Extensions)
        {
            if (pair.Key == "ufrag")
            {
                extensions.Add(new("ufrag", ufrag));
                replaced = true;
            }
            else
            {
                extensions.Add(pair);
            }
        }

        if (!replaced)
        {
            extensions.Add(new("ufrag", ufrag));
        }

        return this with { Extensions = extensions };
    }

    /// <summary>The value of an extension attribute, or null.</summary>
    public string? GetExtension(string name)
    {
        foreach (var pair in Extensions)
        {
            if (pair.Key == name)
            {
                return pair.Value;
            }
        }

        return null;
    }

    /// <summary>
    /// The recommended priority formula (RFC 8445 §5.1.2.1):
    /// 2^24 * type preference + 2^8 * local preference + (256 - component).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Local preference outside 0–65535 or component outside 1–256.</exception>
    public static uint ComputePriority(IceCandidateType type, int localPreference, int component = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(localPreference);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(localPreference, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(component, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(component, 256);
        return (uint)((type.TypePreference() << 24) + (localPreference << 8) + (256 - component));
    }

    /// <summary>
    /// A foundation (RFC 8445 §5.1.1.3): equal for candidates that share type, base IP address,
    /// transport and STUN/TURN server, different otherwise. A CRC-32 of those, in decimal as Chromium
    /// writes them, so it is stable across runs and at most 10 ice-chars.
    /// </summary>
    public static string ComputeFoundation(IceCandidateType type, IPAddress baseAddress, IceProtocol protocol = IceProtocol.Udp, string? server = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        var key = $"{type.ToToken()}|{baseAddress}|{(protocol == IceProtocol.Udp ? "udp" : "tcp")}|{server}";
        return Crc32.Compute(Encoding.UTF8.GetBytes(key)).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Parses "candidate:..." (W3C form) or "a=candidate:..." (SDP attribute line).</summary>
    /// <exception cref="IceCandidateFormatException">The line does not follow RFC 8839 §5.1; the message names the field.</exception>
    public static IceCandidate Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.Length > MaxLength)
        {
            throw new IceCandidateFormatException("line", $"longer than {MaxLength} characters");
        }

        var text = line.TrimEnd('\r', '\n');
        if (text.StartsWith("a=", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        if (!text.StartsWith("candidate:", StringComparison.OrdinalIgnoreCase))
        {
            throw new IceCandidateFormatException("line", "does not start with \"candidate:\"");
        }

        text = text["candidate:".Length..];
        foreach (var c in text)
        {
            // SP-separated tokens of visible ASCII (byte-string values exclude NUL, CR and LF).
            if (c != ' ' && (c < 0x21 || c > 0x7E))
            {
                throw new IceCandidateFormatException("line", "contains a character that is not visible ASCII or a space");
            }
        }

        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 8)
        {
            throw new IceCandidateFormatException(FieldAt(fields.Length), "missing");
        }

        var foundation = fields[0];
        if (foundation.Length > MaxFoundationLength || !foundation.All(IsIceChar))
        {
            throw new IceCandidateFormatException("foundation", "must be 1 to 32 ice-chars");
        }

        var component = ParseNumber(fields[1], 3, "component");
        if (component is < 1 or > 256)
        {
            throw new IceCandidateFormatException("component", "must be 1 to 256");
        }

        var protocol = fields[2].ToLowerInvariant() switch
        {
            "udp" => IceProtocol.Udp,
            "tcp" => IceProtocol.Tcp,
            _ => throw new IceCandidateFormatException("transport", $"\"{Truncate(fields[2])}\" is not udp or tcp"),
        };

        var priority = ParseNumber(fields[3], 10, "priority");
        if (priority > uint.MaxValue)
        {
            throw new IceCandidateFormatException("priority", "does not fit in 32 bits");
        }

        var address = ParseAddress(fields[4], "address");
        var port = ParsePort(fields[5], "port");
        if (fields[6] != "typ")
        {
            throw new IceCandidateFormatException("typ", "expected \"typ\"");
        }

        if (!IceCandidateTypeExtensions.TryParse(fields[7], out var type))
        {
            throw new IceCandidateFormatException("type", $"\"{Truncate(fields[7])}\" is not host, srflx, prflx or relay");
        }

        string? relatedAddress = null;
        int? relatedPort = null;
        IceTcpCandidateType? tcpType = null;
        var extensions = new List<KeyValuePair<string, string>>();
        var i = 8;
        if (i + 1 < fields.Length && fields[i] == "raddr")
        {
            relatedAddress = ParseAddress(fields[i + 1], "raddr");
            i += 2;
        }

        if (i + 1 < fields.Length && fields[i] == "rport")
        {
            relatedPort = ParsePort(fields[i + 1], "rport");
            i += 2;
        }

        for (; i < fields.Length; i += 2)
        {
            var name = fields[i];
            if (i + 1 >= fields.Length)
            {
                throw new IceCandidateFormatException("extension", $"\"{Truncate(name)}\" has no value");
            }

            if (!name.All(IsTokenChar))
            {
                throw new IceCandidateFormatException("extension", "name is not a token");
            }

            var value = fields[i + 1];
            switch (name)
            {
                case "raddr" or "rport":
                    throw new IceCandidateFormatException(name, "out of order or repeated");
                case "tcptype":
                    tcpType = value switch
                    {
                        "active" => IceTcpCandidateType.Active,
                        "passive" => IceTcpCandidateType.Passive,
                        "so" => IceTcpCandidateType.SimultaneousOpen,
                        _ => throw new IceCandidateFormatException("tcptype", $"\"{Truncate(value)}\" is not active, passive or so"),
                    };
                    break;
                default:
                    if (extensions.Count == MaxExtensions)
                    {
                        throw new IceCandidateFormatException("extension", $"more than {MaxExtensions} extension attributes");
                    }

                    extensions.Add(new(name, value));
                    break;
            }
        }

        return new IceCandidate
        {
            Foundation = foundation,
            Component = (int)component,
            Protocol = protocol,
            Priority = (uint)priority,
            Address = address,
            Port = port,
            Type = type,
            RelatedAddress = relatedAddress,
            RelatedPort = relatedPort,
            TcpType = tcpType,
            Extensions = extensions,
        };
    }

    /// <summary>Like <see cref="Parse"/>, without the exception.</summary>
    public static bool TryParse(string line, out IceCandidate? candidate)
    {
        try
        {
            candidate = Parse(line);
            return true;
        }
        catch (IceCandidateFormatException)
        {
            candidate = null;
            return false;
        }
    }

    /// <summary>The W3C form, "candidate:foundation component transport priority address port typ type ...".</summary>
    public override string ToString()
    {
        var builder = new StringBuilder(128);
        builder.Append(CultureInfo.InvariantCulture,
            $"candidate:{Foundation} {Component} {(Protocol == IceProtocol.Udp ? "udp" : "tcp")} {Priority} {Address} {Port} typ {Type.ToToken()}");
        if (RelatedAddress is not null)
        {
            builder.Append(" raddr ").Append(RelatedAddress);
        }

        if (RelatedPort is { } relatedPort)
        {
            builder.Append(" rport ").Append(relatedPort.ToString(CultureInfo.InvariantCulture));
        }

        if (TcpType is { } tcpType)
        {
            builder.Append(" tcptype ").Append(tcpType switch
            {
                IceTcpCandidateType.Active => "active",
                IceTcpCandidateType.Passive => "passive",
                _ => "so",
            });
        }

        foreach (var pair in Extensions)
        {
            builder.Append(' ').Append(pair.Key).Append(' ').Append(pair.Value);
        }

        return builder.ToString();
    }

    /// <summary>Whether <paramref name="address"/> is written as an IP literal rather than a host name.</summary>
    internal static bool IsIPLiteral(string address)
    {
        if (address.Contains(':', StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var c in address)
        {
            if (c is not ((>= '0' and <= '9') or '.'))
            {
                return false;
            }
        }

        return true;
    }

    // RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/".
    internal static bool IsIceChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/';

    // RFC 4566 token-char, visible ASCII minus a few separators.
    private static bool IsTokenChar(char c) =>
        c is '!' or (>= '#' and <= '\'') or '*' or '+' or '-' or '.' or (>= '0' and <= '9') or (>= 'A' and <= 'Z') or (>= '^' and <= '~');

    private int? GetInt(string name) =>
        GetExtension(name) is { } value && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;

    private static string FieldAt(int index) => index switch
    {
        0 => "foundation",
        1 => "component",
        2 => "transport",
        3 => "priority",
        4 => "address",
        5 => "port",
        6 => "typ",
        _ => "type",
    };

    private static long ParseNumber(string text, int maxDigits, string field)
    {
        if (text.Length == 0 || text.Length > maxDigits || !text.All(char.IsAsciiDigit))
        {
            throw new IceCandidateFormatException(field, $"must be 1 to {maxDigits} digits");
        }

        return long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    private static int ParsePort(string text, string field)
    {
        var port = ParseNumber(text, 5, field);
        if (port > ushort.MaxValue)
        {
            throw new IceCandidateFormatException(field, "must be 0 to 65535");
        }

        return (int)port;
    }

    // connection-address (RFC 8839 §5.1): IPv4 dotted quad, IPv6 (no brackets, no zone), or an FQDN.
    private static string ParseAddress(string text, string field)
    {
        if (text.Contains(':', StringComparison.Ordinal))
        {
            if (text.Contains('[', StringComparison.Ordinal) || !IPAddress.TryParse(text, out var ipv6) || ipv6.AddressFamily != AddressFamily.InterNetworkV6 || text.Contains('%', StringComparison.Ordinal))
            {
                throw new IceCandidateFormatException(field, "not a valid IPv6 address");
            }

            return text;
        }

        if (IsIPLiteral(text))
        {
            var parts = text.Split('.');
            if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || int.Parse(p, CultureInfo.InvariantCulture) > 255))
            {
                throw new IceCandidateFormatException(field, "not a valid IPv4 address");
            }

            return text;
        }

        if (text.Length > MaxHostNameLength)
        {
            throw new IceCandidateFormatException(field, "host name longer than 253 characters");
        }

        foreach (var label in text.TrimEnd('.').Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-'
                || !label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new IceCandidateFormatException(field, "not an IP address or a valid host name");
            }
        }

        return text;
    }

    private static string Truncate(string text) => text.Length <= 32 ? text : text[..32] + "...";
}
