using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace PeerNet.Stun;

/// <summary>
/// A transport address (IP and port) as STUN carries it, held in a value type with no
/// <see cref="IPAddress"/> inside, so reading and writing addresses on the hot path does not allocate.
/// Convert at the edges with <see cref="FromIPEndPoint"/> / <see cref="ToIPEndPoint"/>, or with
/// <see cref="TryFromSocketAddress"/> / <see cref="TryWriteTo"/> for the allocation-free socket APIs.
/// IPv6 scope ids are not represented (STUN does not carry them).
/// </summary>
public readonly struct StunAddress : IEquatable<StunAddress>
{
    // The 16 address bytes in network order as two big-endian integers. For IPv4, _high is 0 and the
    // address is the low 32 bits of _low.
    private readonly ulong _high;
    private readonly ulong _low;

    private StunAddress(StunAddressFamily family, ulong high, ulong low, ushort port)
    {
        Family = family;
        _high = high;
        _low = low;
        Port = port;
    }

    /// <summary>IPv4 or IPv6; <see cref="StunAddressFamily.None"/> for <c>default</c>.</summary>
    public StunAddressFamily Family { get; }

    /// <summary>The port.</summary>
    public ushort Port { get; }

    /// <summary>4 for IPv4, 16 for IPv6, 0 for <c>default</c>.</summary>
    public int AddressLength => Family switch
    {
        StunAddressFamily.IPv4 => 4,
        StunAddressFamily.IPv6 => 16,
        _ => 0,
    };

    /// <summary>The IPv4 address as a host-order integer (192.0.2.1 is 0xC0000201); 0 for IPv6.</summary>
    public uint IPv4Value => Family == StunAddressFamily.IPv4 ? (uint)_low : 0;

    /// <summary>An IPv4 address from a host-order integer (192.0.2.1 is 0xC0000201).</summary>
    public static StunAddress IPv4(uint address, ushort port) => new(StunAddressFamily.IPv4, 0, address, port);

    /// <summary>An IPv4 address from its 4 bytes in network order.</summary>
    /// <exception cref="ArgumentException">Not 4 bytes.</exception>
    public static StunAddress IPv4(ReadOnlySpan<byte> address, ushort port)
    {
        if (address.Length != 4)
        {
            throw new ArgumentException("An IPv4 address has 4 bytes.", nameof(address));
        }

        return IPv4(BinaryPrimitives.ReadUInt32BigEndian(address), port);
    }

    /// <summary>An IPv6 address from its 16 bytes in network order.</summary>
    /// <exception cref="ArgumentException">Not 16 bytes.</exception>
    public static StunAddress IPv6(ReadOnlySpan<byte> address, ushort port)
    {
        if (address.Length != 16)
        {
            throw new ArgumentException("An IPv6 address has 16 bytes.", nameof(address));
        }

        return new StunAddress(StunAddressFamily.IPv6, BinaryPrimitives.ReadUInt64BigEndian(address),
            BinaryPrimitives.ReadUInt64BigEndian(address[8..]), port);
    }

    /// <summary>
    /// From an <see cref="IPEndPoint"/>. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-mode
    /// socket reports for an IPv4 sender) becomes IPv4: STUN must report the IPv4 family to such a
    /// client (RFC 8489 §14.1 has no notion of mapped addresses).
    /// </summary>
    public static StunAddress FromIPEndPoint(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return FromIPAddress(endPoint.Address, (ushort)endPoint.Port);
    }

    /// <summary>From an <see cref="IPAddress"/> and a port; IPv4-mapped IPv6 becomes IPv4 as in <see cref="FromIPEndPoint"/>.</summary>
    public static StunAddress FromIPAddress(IPAddress address, ushort port)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new ArgumentException("Only IPv4 and IPv6 addresses are supported.", nameof(address));
        }

        if (written == 4)
        {
            return IPv4(bytes[..4], port);
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return IPv4(bytes[12..16], port);
        }

        return IPv6(bytes, port);
    }

    /// <summary>
    /// Reads an IPv4 or IPv6 <see cref="SocketAddress"/> (as filled by
    /// <c>Socket.ReceiveFrom(Span&lt;byte&gt;, SocketFlags, SocketAddress)</c>) without allocating.
    /// IPv4-mapped IPv6 becomes IPv4.
    /// </summary>
    public static bool TryFromSocketAddress(SocketAddress socketAddress, out StunAddress address)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        address = default;
        var buffer = socketAddress.Buffer.Span[..socketAddress.Size];

        // sockaddr_in / sockaddr_in6: the port (network order) at offset 2 on every platform .NET
        // supports; the IPv4 address at 4; the IPv6 address at 8 (after the flow label).
        switch (socketAddress.Family)
        {
            case AddressFamily.InterNetwork when buffer.Length >= 8:
                address = IPv4(buffer.Slice(4, 4), BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]));
                return true;
            case AddressFamily.InterNetworkV6 when buffer.Length >= 24:
                var port = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
                var bytes = buffer.Slice(8, 16);
                address = IsV4Mapped(bytes) ? IPv4(bytes[12..16], port) : IPv6(bytes, port);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Writes this address into a <see cref="SocketAddress"/> of the same family (create one per
    /// family once with <c>new SocketAddress(AddressFamily.InterNetwork)</c> and reuse it), without
    /// allocating. Returns false if the families differ.
    /// </summary>
    public bool TryWriteTo(SocketAddress socketAddress)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        var buffer = socketAddress.Buffer.Span;
        switch (Family)
        {
            case StunAddressFamily.IPv4 when socketAddress.Family == AddressFamily.InterNetwork && buffer.Length >= 8:
                BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], Port);
                BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], (uint)_low);
                return true;
            case StunAddressFamily.IPv6 when socketAddress.Family == AddressFamily.InterNetworkV6 && buffer.Length >= 28:
                BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], Port);
                buffer.Slice(4, 4).Clear(); // flow info
                BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], _high);
                BinaryPrimitives.WriteUInt64BigEndian(buffer[16..], _low);
                buffer.Slice(24, 4).Clear(); // scope id
                return true;
            default:
                return false;
        }
    }

    /// <summary>Writes the 4 or 16 address bytes in network order; returns how many.</summary>
    /// <exception cref="ArgumentException">The destination is too small.</exception>
    public int WriteAddressBytes(Span<byte> destination)
    {
        var length = AddressLength;
        if (destination.Length < length)
        {
            throw new ArgumentException("Destination too small for the address.", nameof(destination));
        }

        if (Family == StunAddressFamily.IPv4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)_low);
        }
        else if (Family == StunAddressFamily.IPv6)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
            BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
        }

        return length;
    }

    /// <summary>The same address with another port.</summary>
    public StunAddress WithPort(ushort port) => new(Family, _high, _low, port);

    /// <summary>Allocates an <see cref="IPAddress"/>.</summary>
    /// <exception cref="InvalidOperationException">A <c>default</c> address.</exception>
    public IPAddress ToIPAddress()
    {
        if (Family == StunAddressFamily.None)
        {
            throw new InvalidOperationException("The address is not set.");
        }

        Span<byte> bytes = stackalloc byte[16];
        var length = WriteAddressBytes(bytes);
        return new IPAddress(bytes[..length]);
    }

    /// <summary>Allocates an <see cref="IPEndPoint"/>.</summary>
    /// <exception cref="InvalidOperationException">A <c>default</c> address.</exception>
    public IPEndPoint ToIPEndPoint() => new(ToIPAddress(), Port);

    /// <inheritdoc/>
    public bool Equals(StunAddress other) =>
        Family == other.Family && Port == other.Port && _high == other._high && _low == other._low;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is StunAddress other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine((byte)Family, Port, _high, _low); // the enum cast avoids boxing in unoptimized code

    /// <summary>"192.0.2.1:3478", "[2001:db8::1]:3478", or "(none)".</summary>
    public override string ToString() => Family switch
    {
        StunAddressFamily.IPv4 => $"{ToIPAddress()}:{Port}",
        StunAddressFamily.IPv6 => $"[{ToIPAddress()}]:{Port}",
        _ => "(none)",
    };

    /// <summary>Equality.</summary>
    public static bool operator ==(StunAddress left, StunAddress right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(StunAddress left, StunAddress right) => !left.Equals(right);

    private static bool IsV4Mapped(ReadOnlySpan<byte> bytes) =>
        BinaryPrimitives.ReadUInt64BigEndian(bytes) == 0 && BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]) == 0x0000FFFF;
}
