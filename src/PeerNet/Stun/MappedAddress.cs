using System.Buffers.Binary;

namespace PeerNet.Stun;

/// <summary>
/// The plain address encoding of MAPPED-ADDRESS (RFC 8489 §14.1), shared by ALTERNATE-SERVER
/// (§14.15) and RFC 5780's RESPONSE-ORIGIN and OTHER-ADDRESS: a zero byte, the family, the port and
/// the 4- or 16-byte address, all in network order.
/// </summary>
public static class MappedAddress
{
    /// <summary>Value length of an IPv4 address (8).</summary>
    public const int IPv4Length = 8;

    /// <summary>Value length of an IPv6 address (20).</summary>
    public const int IPv6Length = 20;

    /// <summary>The value length for an address: 8 for IPv4, 20 for IPv6.</summary>
    /// <exception cref="ArgumentException">A <c>default</c> address.</exception>
    public static int GetLength(in StunAddress address) => address.Family switch
    {
        StunAddressFamily.IPv4 => IPv4Length,
        StunAddressFamily.IPv6 => IPv6Length,
        _ => throw new ArgumentException("The address is not set.", nameof(address)),
    };

    /// <summary>
    /// Decodes a value. The first byte is ignored, as receivers must (§14.1); the family must be
    /// 0x01 with 8 bytes or 0x02 with 20 bytes.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> value, out StunAddress address)
    {
        address = default;
        if (!IsValid(value))
        {
            return false;
        }

        var port = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        address = value[1] == (byte)StunAddressFamily.IPv4
            ? StunAddress.IPv4(value.Slice(4, 4), port)
            : StunAddress.IPv6(value.Slice(4, 16), port);
        return true;
    }

    /// <summary>Encodes <paramref name="address"/>; returns the bytes written (8 or 20).</summary>
    /// <exception cref="ArgumentException">A <c>default</c> address, or the destination is too small.</exception>
    public static int Encode(in StunAddress address, Span<byte> destination)
    {
        var length = GetLength(address);
        if (destination.Length < length)
        {
            throw new ArgumentException("Destination too small for the address.", nameof(destination));
        }

        destination[0] = 0;
        destination[1] = (byte)address.Family;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], address.Port);
        address.WriteAddressBytes(destination[4..]);
        return length;
    }

    /// <summary>Whether a value is well-formed (family and length agree).</summary>
    internal static bool IsValid(ReadOnlySpan<byte> value) =>
        (value.Length == IPv4Length && value[1] == (byte)StunAddressFamily.IPv4)
        || (value.Length == IPv6Length && value[1] == (byte)StunAddressFamily.IPv6);
}
