namespace PeerNet.Sctp;

/// <summary>COOKIE ECHO (RFC 9260 §3.3.11): the state cookie from INIT ACK, echoed unchanged.</summary>
public static class CookieEchoChunk
{
    /// <summary>Writes COOKIE ECHO; returns the padded length.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> cookie)
    {
        cookie.CopyTo(destination[SctpChunk.HeaderLength..]);
        return SctpChunk.WriteHeader(destination, SctpChunkType.CookieEcho, 0, SctpChunk.HeaderLength + cookie.Length);
    }
}
