namespace PeerNet.Sctp;

/// <summary>
/// ABORT (RFC 9260 §3.3.7) and ERROR (§3.3.10): a list of error causes. ABORT's T bit (and SHUTDOWN
/// COMPLETE's) says the verification tag is the sender's own, reflected (§8.5.1).
/// </summary>
public static class ErrorCauses
{
    /// <summary>The T bit of ABORT and SHUTDOWN COMPLETE.</summary>
    public const byte TFlag = 0x01;

    /// <summary>True when every cause in the chunk is well formed.</summary>
    public static bool TryRead(SctpChunk chunk, out ReadOnlySpan<byte> causes)
    {
        causes = chunk.Value;
        return SctpParameterEnumerator.Validate(causes);
    }

    /// <summary>The first cause code in a cause list, or null.</summary>
    public static SctpErrorCauseCode? FirstCause(ReadOnlySpan<byte> causes)
    {
        var e = new SctpParameterEnumerator(causes);
        return e.MoveNext() ? (SctpErrorCauseCode)e.Current.Type : null;
    }

    /// <summary>Writes an ABORT with one cause (or none when <paramref name="cause"/> is null).</summary>
    public static int WriteAbort(Span<byte> destination, bool reflectedTag, SctpErrorCauseCode? cause, ReadOnlySpan<byte> causeValue) =>
        Write(destination, SctpChunkType.Abort, reflectedTag ? TFlag : (byte)0, cause, causeValue);

    /// <summary>Writes an ERROR with one cause.</summary>
    public static int WriteError(Span<byte> destination, SctpErrorCauseCode cause, ReadOnlySpan<byte> causeValue) =>
        Write(destination, SctpChunkType.Error, 0, cause, causeValue);

    /// <summary>Size of an ABORT/ERROR chunk with one cause of the given value length (padded).</summary>
    public static int GetLength(int causeValueLength) => SctpChunk.Pad(SctpChunk.HeaderLength + SctpParameter.HeaderLength + causeValueLength);

    private static int Write(Span<byte> destination, SctpChunkType type, byte flags, SctpErrorCauseCode? cause, ReadOnlySpan<byte> causeValue)
    {
        var builder = new SctpParameterBuilder(destination[SctpChunk.HeaderLength..]);
        if (cause is { } code)
        {
            builder.Add((ushort)code, causeValue);
        }

        return SctpChunk.WriteHeader(destination, type, flags, SctpChunk.HeaderLength + builder.UnpaddedLength);
    }
}
