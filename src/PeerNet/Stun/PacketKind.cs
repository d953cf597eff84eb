namespace PeerNet.Stun;

/// <summary>The protocols RFC 7983 §7 tells apart by the first byte of a packet on a shared port.</summary>
public enum PacketKind : byte
{
    /// <summary>No protocol owns the first byte (or the packet is empty): drop it.</summary>
    Unknown,

    /// <summary>0–3: STUN.</summary>
    Stun,

    /// <summary>16–19: ZRTP.</summary>
    Zrtp,

    /// <summary>20–63: DTLS.</summary>
    Dtls,

    /// <summary>64–79: TURN ChannelData.</summary>
    TurnChannel,

    /// <summary>128–191: RTP or RTCP.</summary>
    Rtp,
}
