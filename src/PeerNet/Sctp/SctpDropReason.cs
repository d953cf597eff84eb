namespace PeerNet.Sctp;

/// <summary>
/// Why a received packet (or one chunk of it) was dropped. Hostile or broken input never throws out
/// of <see cref="SctpAssociation.HandlePacket"/>: it is counted under one of these reasons
/// (<see cref="SctpStatistics.Drops"/>).
/// </summary>
public enum SctpDropReason : byte
{
    /// <summary>Not dropped.</summary>
    None = 0,

    /// <summary>Shorter than the 12-byte common header, or no chunk at all (RFC 9260 §3).</summary>
    TooShort,

    /// <summary>The CRC32c checksum does not match (RFC 9260 §6.8).</summary>
    BadChecksum,

    /// <summary>A chunk header is cut off, or its length is below 4 or runs past the packet (§3.2).</summary>
    BadChunkLength,

    /// <summary>A known chunk's length does not fit its fixed fields or its declared counts.</summary>
    MalformedChunk,

    /// <summary>A parameter or error cause runs past its chunk, or has a length below 4.</summary>
    MalformedParameter,

    /// <summary>The ports are not the association's (RFC 8841: from a=sctp-port).</summary>
    WrongPort,

    /// <summary>The verification tag is not the one expected (RFC 9260 §8.5).</summary>
    WrongVerificationTag,

    /// <summary>INIT bundled with other chunks or with a non-zero verification tag (§8.5.1 A).</summary>
    BadInit,

    /// <summary>A chunk that makes no sense in the current state (e.g. INIT ACK when not in COOKIE-WAIT).</summary>
    UnexpectedChunk,

    /// <summary>A state cookie whose signature or format is wrong (§5.1.5).</summary>
    BadCookie,

    /// <summary>A state cookie that is older than its lifespan (§5.1.5, answered with a Stale Cookie error).</summary>
    StaleCookie,

    /// <summary>An unrecognized chunk type whose high bits say "stop processing the packet" (§3.2).</summary>
    UnrecognizedChunk,

    /// <summary>A DATA chunk beyond what we can track or buffer (our advertised window is full).</summary>
    ReceiveWindowFull,

    /// <summary>A packet for an association that does not exist or has ended (out of the blue, §8.4).</summary>
    OutOfTheBlue,
}

/// <summary>Descriptions for <see cref="SctpDropReason"/>.</summary>
public static class SctpDropReasonExtensions
{
    /// <summary>A constant, allocation-free description for logs.</summary>
    public static string Describe(this SctpDropReason reason) => reason switch
    {
        SctpDropReason.None => "not dropped",
        SctpDropReason.TooShort => "shorter than the common header or no chunk",
        SctpDropReason.BadChecksum => "CRC32c mismatch",
        SctpDropReason.BadChunkLength => "a chunk length is below 4 or runs past the packet",
        SctpDropReason.MalformedChunk => "a chunk's length does not match its fields",
        SctpDropReason.MalformedParameter => "a parameter or error cause runs past its chunk",
        SctpDropReason.WrongPort => "wrong SCTP port",
        SctpDropReason.WrongVerificationTag => "wrong verification tag",
        SctpDropReason.BadInit => "INIT bundled or with a non-zero verification tag",
        SctpDropReason.UnexpectedChunk => "chunk not expected in this state",
        SctpDropReason.BadCookie => "state cookie failed verification",
        SctpDropReason.StaleCookie => "state cookie expired",
        SctpDropReason.UnrecognizedChunk => "unrecognized chunk type (stop processing)",
        SctpDropReason.ReceiveWindowFull => "DATA beyond the receive window",
        SctpDropReason.OutOfTheBlue => "no association for this packet",
        _ => "unknown reason",
    };
}
