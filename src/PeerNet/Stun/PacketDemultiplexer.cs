namespace PeerNet.Stun;

/// <summary>
/// RFC 7983 §7 demultiplexing: STUN, ZRTP, DTLS, TURN channels and RTP/RTCP share one UDP port in
/// WebRTC, and the first byte of each packet says which it is.
/// </summary>
public static class PacketDemultiplexer
{
    /// <summary>Classifies a packet by its first byte.</summary>
    public static PacketKind Classify(ReadOnlySpan<byte> packet) => packet.IsEmpty ? PacketKind.Unknown : Classify(packet[0]);

    /// <summary>Classifies a first byte.</summary>
    public static PacketKind Classify(byte firstByte) => firstByte switch
    {
        <= 3 => PacketKind.Stun,
        >= 16 and <= 19 => PacketKind.Zrtp,
        >= 20 and <= 63 => PacketKind.Dtls,
        >= 64 and <= 79 => PacketKind.TurnChannel,
        >= 128 and <= 191 => PacketKind.Rtp,
        _ => PacketKind.Unknown,
    };
}
