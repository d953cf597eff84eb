using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// A type-length-value field inside a chunk: a parameter (RFC 9260 §3.2.1) or an error cause
/// (§3.3.10), which share the layout. A view; no copy.
/// </summary>
public readonly ref struct SctpParameter
{
    /// <summary>Size of the type and length fields.</summary>
    public const int HeaderLength = 4;

    /// <summary>Wraps the bytes of one parameter (header included, padding excluded).</summary>
    public SctpParameter(ReadOnlySpan<byte> raw)
    {
        Raw = raw;
    }

    /// <summary>The parameter including its header, excluding padding.</summary>
    public ReadOnlySpan<byte> Raw { get; }

    /// <summary>The type (or cause code).</summary>
    public ushort Type => BinaryPrimitives.ReadUInt16BigEndian(Raw);

    /// <summary>The value after the 4-byte header.</summary>
    public ReadOnlySpan<byte> Value => Raw[HeaderLength..];

    /// <summary>
    /// What to do with a parameter type we do not know (§3.2.1): the high bit says continue with the
    /// next parameter; the second bit says report it.
    /// </summary>
    public static bool SkipWhenUnrecognized(ushort type) => (type & 0x8000) != 0;

    /// <summary>Whether an unrecognized parameter must be reported (§3.2.1).</summary>
    public static bool ReportWhenUnrecognized(ushort type) => (type & 0x4000) != 0;

    /// <summary>Writes a parameter with its padding; returns the padded length.</summary>
    public static int Write(Span<byte> destination, ushort type, ReadOnlySpan<byte> value)
    {
        var length = HeaderLength + value.Length;
        BinaryPrimitives.WriteUInt16BigEndian(destination, type);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], checked((ushort)length));
        value.CopyTo(destination[HeaderLength..]);
        var padded = SctpChunk.Pad(length);
        destination[length..padded].Clear();
        return padded;
    }

    /// <summary>Writes a parameter header for a value of <paramref name="valueLength"/> bytes already in place.</summary>
    public static int WriteHeader(Span<byte> destination, ushort type, int valueLength)
    {
        var length = HeaderLength + valueLength;
        BinaryPrimitives.WriteUInt16BigEndian(destination, type);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], checked((ushort)length));
        var padded = SctpChunk.Pad(length);
        destination[length..padded].Clear();
        return padded;
    }
}

/// <summary>
/// Walks the parameters (or error causes) in a chunk value. Stops with <see cref="Error"/> set to
/// <see cref="SctpDropReason.MalformedParameter"/> on a cut-off header or a lying length.
/// </summary>
public ref struct SctpParameterEnumerator
{
    private ReadOnlySpan<byte> _remaining;

    /// <summary>Starts at the first parameter in <paramref name="parameters"/>.</summary>
    public SctpParameterEnumerator(ReadOnlySpan<byte> parameters)
    {
        _remaining = parameters;
        Current = default;
        Error = SctpDropReason.None;
    }

    /// <summary>The parameter found by the last successful <see cref="MoveNext"/>.</summary>
    public SctpParameter Current { get; private set; }

    /// <summary>Why enumeration stopped early, or None.</summary>
    public SctpDropReason Error { get; private set; }

    /// <summary>Allows foreach.</summary>
    public readonly SctpParameterEnumerator GetEnumerator() => this;

    /// <summary>Advances; false at the end or on a malformed parameter.</summary>
    public bool MoveNext()
    {
        if (_remaining.IsEmpty || Error != SctpDropReason.None)
        {
            return false;
        }

        if (_remaining.Length < SctpParameter.HeaderLength)
        {
            Error = SctpDropReason.MalformedParameter;
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(_remaining[2..]);
        if (length < SctpParameter.HeaderLength || length > _remaining.Length)
        {
            Error = SctpDropReason.MalformedParameter;
            return false;
        }

        Current = new SctpParameter(_remaining[..length]);
        var padded = SctpChunk.Pad(length);
        _remaining = padded >= _remaining.Length ? default : _remaining[padded..];
        return true;
    }

    /// <summary>True when every parameter is well formed.</summary>
    public static bool Validate(ReadOnlySpan<byte> parameters)
    {
        var e = new SctpParameterEnumerator(parameters);
        while (e.MoveNext())
        {
        }

        return e.Error == SctpDropReason.None;
    }
}
