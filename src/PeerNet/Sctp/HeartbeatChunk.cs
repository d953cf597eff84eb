namespace PeerNet.Sctp;

/// <summary>
/// HEARTBEAT (RFC 9260 §3.3.5) and HEARTBEAT ACK (§3.3.6): one Heartbeat Info parameter, opaque to
/// the receiver, echoed back unchanged.
/// </summary>
public static class HeartbeatChunk
{
    /// <summary>
    /// Finds the Heartbeat Info parameter (the whole parameter, header included, to be echoed).
    /// False when the parameters are malformed or the info is missing.
    /// </summary>
    public static bool TryRead(SctpChunk chunk, out ReadOnlySpan<byte> heartbeatInfoParameter)
    {
        heartbeatInfoParameter = default;
        var e = new SctpParameterEnumerator(chunk.Value);
        while (e.MoveNext())
        {
            if (e.Current.Type == (ushort)SctpParameterType.HeartbeatInfo)
            {
                heartbeatInfoParameter = e.Current.Raw;
            }
        }

        return e.Error == SctpDropReason.None && !heartbeatInfoParameter.IsEmpty;
    }

    /// <summary>Writes a HEARTBEAT with the given info value; returns the padded length.</summary>
    public static int WriteRequest(Span<byte> destination, ReadOnlySpan<byte> info)
    {
        var builder = new SctpParameterBuilder(destination[SctpChunk.HeaderLength..]);
        builder.Add(SctpParameterType.HeartbeatInfo, info);
        return SctpChunk.WriteHeader(destination, SctpChunkType.Heartbeat, 0, SctpChunk.HeaderLength + builder.UnpaddedLength);
    }

    /// <summary>Writes a HEARTBEAT ACK echoing the parameter from the request; returns the padded length.</summary>
    public static int WriteAck(Span<byte> destination, ReadOnlySpan<byte> heartbeatInfoParameter)
    {
        var builder = new SctpParameterBuilder(destination[SctpChunk.HeaderLength..]);
        builder.AddRaw(heartbeatInfoParameter);
        return SctpChunk.WriteHeader(destination, SctpChunkType.HeartbeatAck, 0, SctpChunk.HeaderLength + builder.UnpaddedLength);
    }
}
