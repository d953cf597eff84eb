namespace PeerNet.Sctp;

/// <summary>
/// Appends parameters (or error causes) into a span and tracks both the padded length and the
/// length without the last parameter's padding: a chunk's length field counts the padding of every
/// parameter but the last (RFC 9260 §3.2).
/// </summary>
public ref struct SctpParameterBuilder
{
    private readonly Span<byte> _destination;

    /// <summary>Starts writing at the beginning of <paramref name="destination"/>.</summary>
    public SctpParameterBuilder(Span<byte> destination)
    {
        _destination = destination;
        Length = 0;
        UnpaddedLength = 0;
    }

    /// <summary>Bytes written, padding included.</summary>
    public int Length { get; private set; }

    /// <summary>Bytes written without the padding after the last parameter.</summary>
    public int UnpaddedLength { get; private set; }

    /// <summary>Appends one parameter.</summary>
    public void Add(ushort type, ReadOnlySpan<byte> value)
    {
        var written = SctpParameter.Write(_destination[Length..], type, value);
        UnpaddedLength = Length + SctpParameter.HeaderLength + value.Length;
        Length += written;
    }

    /// <summary>Appends one parameter of a known type.</summary>
    public void Add(SctpParameterType type, ReadOnlySpan<byte> value) => Add((ushort)type, value);

    /// <summary>Appends bytes that are already a complete parameter (e.g. echoing one back).</summary>
    public void AddRaw(ReadOnlySpan<byte> parameter)
    {
        parameter.CopyTo(_destination[Length..]);
        var padded = SctpChunk.Pad(parameter.Length);
        _destination[(Length + parameter.Length)..(Length + padded)].Clear();
        UnpaddedLength = Length + parameter.Length;
        Length += padded;
    }
}
