using System.Buffers.Binary;

namespace PeerNet.Stun;

/// <summary>
/// The entries of a PASSWORD-ALGORITHMS value (RFC 8489 §14.11): each a 16-bit algorithm, a 16-bit
/// parameter length and the parameters padded to 4 bytes. Enumerate with <c>foreach</c>.
/// </summary>
public readonly ref struct StunPasswordAlgorithmList
{
    private readonly ReadOnlySpan<byte> _value;

    internal StunPasswordAlgorithmList(ReadOnlySpan<byte> value) => _value = value;

    /// <summary>The raw attribute value (compare it byte for byte for the §9.2.4 downgrade check).</summary>
    public ReadOnlySpan<byte> Bytes => _value;

    /// <summary>Whether the list offers <paramref name="algorithm"/>.</summary>
    public bool Contains(StunPasswordAlgorithm algorithm)
    {
        foreach (var entry in this)
        {
            if (entry.Algorithm == algorithm)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Enables <c>foreach</c>.</summary>
    public Enumerator GetEnumerator() => new(_value);

    internal static bool IsValid(ReadOnlySpan<byte> value)
    {
        while (value.Length > 0)
        {
            if (value.Length < 4)
            {
                return false;
            }

            int parameters = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
            if (parameters > value.Length - 4)
            {
                return false;
            }

            // The last entry's padding may be left to the attribute's own padding.
            value = value[Math.Min(value.Length, 4 + StunMessage.Pad(parameters))..];
        }

        return true;
    }

    /// <summary>One algorithm and its parameters.</summary>
    public readonly ref struct Entry
    {
        internal Entry(StunPasswordAlgorithm algorithm, ReadOnlySpan<byte> parameters)
        {
            Algorithm = algorithm;
            Parameters = parameters;
        }

        /// <summary>The algorithm number.</summary>
        public StunPasswordAlgorithm Algorithm { get; }

        /// <summary>Its parameters (empty for MD5 and SHA-256).</summary>
        public ReadOnlySpan<byte> Parameters { get; }
    }

    /// <summary>Walks the entries of a list the reader validated.</summary>
    public ref struct Enumerator
    {
        private ReadOnlySpan<byte> _rest;
        private Entry _current;

        internal Enumerator(ReadOnlySpan<byte> value)
        {
            _rest = value;
            _current = default;
        }

        /// <summary>The current entry.</summary>
        public readonly Entry Current => _current;

        /// <summary>Advances to the next entry.</summary>
        public bool MoveNext()
        {
            if (_rest.Length < 4)
            {
                return false;
            }

            int parameters = BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]);
            if (parameters > _rest.Length - 4)
            {
                return false;
            }

            _current = new Entry((StunPasswordAlgorithm)BinaryPrimitives.ReadUInt16BigEndian(_rest), _rest.Slice(4, parameters));
            _rest = _rest[Math.Min(_rest.Length, 4 + StunMessage.Pad(parameters))..];
            return true;
        }
    }
}
