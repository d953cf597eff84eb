namespace PeerNet.DataChannels;

/// <summary>
/// The Channel Type of a DATA_CHANNEL_OPEN message (RFC 8832 §5.1): ordering in the high bit,
/// reliability in the low bits.
/// </summary>
public enum DataChannelType : byte
{
    /// <summary>Reliable, ordered.</summary>
    Reliable = 0x00,

    /// <summary>Reliable, unordered.</summary>
    ReliableUnordered = 0x80,

    /// <summary>Ordered, at most N retransmissions (N = the reliability parameter).</summary>
    PartialReliableRexmit = 0x01,

    /// <summary>Unordered, at most N retransmissions.</summary>
    PartialReliableRexmitUnordered = 0x81,

    /// <summary>Ordered, retransmitted for at most N milliseconds.</summary>
    PartialReliableTimed = 0x02,

    /// <summary>Unordered, retransmitted for at most N milliseconds.</summary>
    PartialReliableTimedUnordered = 0x82,
}

/// <summary>Helpers over <see cref="DataChannelType"/>.</summary>
public static class DataChannelTypeExtensions
{
    /// <summary>Whether the value is one RFC 8832 defines.</summary>
    public static bool IsDefined(this DataChannelType type) =>
        type is DataChannelType.Reliable or DataChannelType.ReliableUnordered
            or DataChannelType.PartialReliableRexmit or DataChannelType.PartialReliableRexmitUnordered
            or DataChannelType.PartialReliableTimed or DataChannelType.PartialReliableTimedUnordered;

    /// <summary>Whether messages may be delivered out of order (the high bit, RFC 8832 §5.1).</summary>
    public static bool IsUnordered(this DataChannelType type) => ((byte)type & 0x80) != 0;

    /// <summary>Whether the reliability parameter is a retransmission count.</summary>
    public static bool IsRexmit(this DataChannelType type) => ((byte)type & 0x7F) == 0x01;

    /// <summary>Whether the reliability parameter is a lifetime in milliseconds.</summary>
    public static bool IsTimed(this DataChannelType type) => ((byte)type & 0x7F) == 0x02;

    /// <summary>The channel type for W3C RTCDataChannelInit-style settings.</summary>
    public static DataChannelType From(bool ordered, int? maxRetransmits, int? maxPacketLifeTime)
    {
        if (maxRetransmits is not null && maxPacketLifeTime is not null)
        {
            // W3C webrtc §6.2 createDataChannel: both at once is a TypeError.
            throw new ArgumentException("maxRetransmits and maxPacketLifeTime cannot both be set");
        }
        var reliability = maxRetransmits is not null ? 0x01 : maxPacketLifeTime is not null ? 0x02 : 0x00;
        return (DataChannelType)(reliability | (ordered ? 0x00 : 0x80));
    }
}
