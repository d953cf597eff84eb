using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace PeerNet.Sharing;

/// <summary>
/// The content id (CID) of an item, docs/sharing.md §3: the Merkle root over the info header with the
/// sealed manifest and over the sealed pieces. 32 bytes held inline (no allocation), written as 43
/// characters of base64url in links and room names.
/// </summary>
public readonly struct ContentId : IEquatable<ContentId>
{
    /// <summary>Bytes of a content id.</summary>
    public const int Length = 32;

    private readonly ulong _a, _b, _c, _d;

    private ContentId(ulong a, ulong b, ulong c, ulong d)
    {
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    /// <summary>A content id from its 32 bytes.</summary>
    /// <exception cref="ArgumentException">Not 32 bytes.</exception>
    public static ContentId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException("A content id has 32 bytes.", nameof(bytes));
        }

        return new ContentId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]), BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));
    }

    /// <summary>Parses the 43-character base64url form.</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadLink"/>: wrong length or alphabet.</exception>
    public static ContentId Parse(ReadOnlySpan<char> text)
    {
        if (!TryParse(text, out var id))
        {
            throw new SharingException(SharingErrorCode.BadLink, "The content id is not 43 characters of base64url (32 bytes).");
        }

        return id;
    }

    /// <summary>Parses the 43-character base64url form; false when it is not exactly that.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out ContentId id)
    {
        Span<byte> bytes = stackalloc byte[Length];
        if (!Base64UrlText.TryDecode32(text, bytes))
        {
            id = default;
            return false;
        }

        id = FromBytes(bytes);
        return true;
    }

    /// <summary>Writes the 32 bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException("A content id needs 32 bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    /// <summary>The 32 bytes in a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>True when these are the given 32 bytes.</summary>
    public bool Matches(ReadOnlySpan<byte> bytes) => bytes.Length == Length && Equals(FromBytes(bytes));

    /// <inheritdoc/>
    public bool Equals(ContentId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    /// <inheritdoc/>
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is ContentId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);

    /// <summary>The 43-character base64url form.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        CopyTo(bytes);
        return Base64UrlText.Encode(bytes);
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(ContentId left, ContentId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(ContentId left, ContentId right) => !left.Equals(right);
}
