namespace PeerNet.DataChannels;

/// <summary>DCEP message types (RFC 8832 §8.2.1).</summary>
public enum DcepMessageType : byte
{
    /// <summary>DATA_CHANNEL_ACK.</summary>
    DataChannelAck = 0x02,

    /// <summary>DATA_CHANNEL_OPEN.</summary>
    DataChannelOpen = 0x03,
}
