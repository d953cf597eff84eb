using System.Buffers.Binary;

namespace PeerNet.Stun;

/// <summary>
/// The XOR address encoding of XOR-MAPPED-ADDRESS (RFC 8489 §14.2), shared by TURN's
/// XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS (RFC 8656 §18.3, §18.5). The port is XORed with the top
/// 16 bits of the magic cookie; an IPv4 address with the cookie; an IPv6 address with the cookie
/// followed by the transaction id. This keeps NAT "ALGs" from rewriting addresses inside STUN.
/// </summary>
public static class XorAddress
{
    /// <summary>Decodes a value with the transaction id of the message carrying it.</summary>
    /// <exception cref="ArgumentException"><paramref name="transactionId"/> is not 12 bytes.</exception>
    public static bool TryDecode(ReadOnlySpan<byte> value, ReadOnlySpan<byte> transactionId, out StunAddress address)
    {
        CheckTransactionId(transactionId);
        if (!MappedAddress.TryDecode(value, out var plain))
        {
            address = default;
            return false;
        }

        address = Apply(plain, transactionId);
        return true;
    }

    /// <summary>Encodes <paramref name="address"/> for a message with this transaction id; returns the bytes written (8 or 20).</summary>
    /// <exception cref="ArgumentException">A <c>default</c> address, a destination too small, or a transaction id not 12 bytes.</exception>
    public static int Encode(in StunAddress address, ReadOnlySpan<byte> transactionId, Span<byte> destination)
    {
        CheckTransactionId(transactionId);
        return MappedAddress.Encode(Apply(address, transactionId), destination);
    }

    // XOR is its own inverse: the same function encodes and decodes.
    private static StunAddress Apply(in StunAddress address, ReadOnlySpan<byte> transactionId)
    {
        var port = (ushort)(address.Port ^ (StunMessage.MagicCookie >> 16));
        if (address.Family == StunAddressFamily.IPv4)
        {
            return StunAddress.IPv4(address.IPv4Value ^ StunMessage.MagicCookie, port);
        }

        Span<byte> bytes = stackalloc byte[16];
        address.WriteAddressBytes(bytes);
        var high = BinaryPrimitives.ReadUInt64BigEndian(bytes)
            ^ (((ulong)StunMessage.MagicCookie << 32) | BinaryPrimitives.ReadUInt32BigEndian(transactionId));
        var low = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) ^ BinaryPrimitives.ReadUInt64BigEndian(transactionId[4..]);
        BinaryPrimitives.WriteUInt64BigEndian(bytes, high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], low);
        return StunAddress.IPv6(bytes, port);
    }

    private static void CheckTransactionId(ReadOnlySpan<byte> transactionId)
    {
        if (transactionId.Length != StunTransactionId.Length)
        {
            throw new ArgumentException("A transaction id has 12 bytes.", nameof(transactionId));
        }
    }
}
