using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerNet.Stun;

/// <summary>
/// The 96-bit transaction id of a STUN message (RFC 8489 §5). A value type, usable as a dictionary
/// key for matching responses to requests without allocating.
/// </summary>
public readonly struct StunTransactionId : IEquatable<StunTransactionId>
{
    /// <summary>The size in bytes (12).</summary>
    public const int Length = 12;

    private readonly ulong _high;
    private readonly uint _low;

    private StunTransactionId(ulong high, uint low)
    {
        _high = high;
        _low = low;
    }

    /// <summary>
    /// A fresh id from a cryptographically secure generator, as RFC 8489 §5 requires (ids must be
    /// unpredictable so off-path attackers cannot forge responses).
    /// </summary>
    public static StunTransactionId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RandomNumberGenerator.Fill(bytes);
        return FromBytes(bytes);
    }

    /// <summary>Reads an id from the first 12 bytes of <paramref name="bytes"/>.</summary>
    /// <exception cref="ArgumentException">Fewer than 12 bytes.</exception>
    public static StunTransactionId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Length)
        {
            throw new ArgumentException("A transaction id has 12 bytes.", nameof(bytes));
        }

        return new StunTransactionId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));
    }

    /// <summary>Writes the 12 bytes to the start of <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">Fewer than 12 bytes.</exception>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException("A transaction id has 12 bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], _low);
    }

    /// <inheritdoc/>
    public bool Equals(StunTransactionId other) => _high == other._high && _low == other._low;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is StunTransactionId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_high, _low);

    /// <summary>24 lowercase hex digits.</summary>
    public override string ToString() => $"{_high:x16}{_low:x8}";

    /// <summary>Equality.</summary>
    public static bool operator ==(StunTransactionId left, StunTransactionId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(StunTransactionId left, StunTransactionId right) => !left.Equals(right);
}
