namespace PeerNet.DataChannels;

/// <summary>Why a DCEP message (RFC 8832) was rejected.</summary>
public enum DcepParseError : byte
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>Empty, or shorter than the fixed part of the message.</summary>
    TooShort,

    /// <summary>The first byte is not a message type RFC 8832 §8.2.1 defines.</summary>
    UnknownMessageType,

    /// <summary>The Channel Type is not one RFC 8832 §5.1 defines.</summary>
    UnknownChannelType,

    /// <summary>Label and protocol lengths do not add up to the bytes given.</summary>
    LengthMismatch,

    /// <summary>Label or protocol is not valid UTF-8.</summary>
    InvalidUtf8,
}
