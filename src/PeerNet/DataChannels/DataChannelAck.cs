namespace PeerNet.DataChannels;

/// <summary>DATA_CHANNEL_ACK (RFC 8832 §5.2): one byte that confirms a DATA_CHANNEL_OPEN.</summary>
public static class DataChannelAck
{
    /// <summary>The whole message.</summary>
    public static ReadOnlySpan<byte> Bytes => [(byte)DcepMessageType.DataChannelAck];

    /// <summary>Whether <paramref name="message"/> is a DATA_CHANNEL_ACK. Extra bytes are tolerated
    /// (RFC 8832 defines none, and being strict here would only break future extensions).</summary>
    public static bool Is(ReadOnlySpan<byte> message) => !message.IsEmpty && message[0] == (byte)DcepMessageType.DataChannelAck;
}
