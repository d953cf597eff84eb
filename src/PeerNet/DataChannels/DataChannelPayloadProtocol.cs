namespace PeerNet.DataChannels;

/// <summary>
/// SCTP Payload Protocol Identifiers that WebRTC data channels use (RFC 8831 §8, RFC 8832 §8.1).
/// The PPID tells a receiver whether a message is DCEP, text or binary, and marks empty messages,
/// which SCTP itself cannot carry (a DATA chunk needs at least one byte).
/// </summary>
public static class DataChannelPayloadProtocol
{
    /// <summary>Data Channel Establishment Protocol control message (RFC 8832).</summary>
    public const uint Dcep = 50;

    /// <summary>A UTF-8 text message.</summary>
    public const uint String = 51;

    /// <summary>Deprecated partial binary (fragments of a larger message); received as binary.</summary>
    public const uint BinaryPartial = 52;

    /// <summary>A binary message.</summary>
    public const uint Binary = 53;

    /// <summary>Deprecated partial text; received as text.</summary>
    public const uint StringPartial = 54;

    /// <summary>An empty text message; the payload is a single ignored byte (RFC 8831 §6.6).</summary>
    public const uint StringEmpty = 56;

    /// <summary>An empty binary message; the payload is a single ignored byte.</summary>
    public const uint BinaryEmpty = 57;
}
