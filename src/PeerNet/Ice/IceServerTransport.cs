namespace PeerNet.Ice;

/// <summary>How a TURN server is reached (the "?transport=" of RFC 7065; TLS for "turns:").</summary>
public enum IceServerTransport : byte
{
    /// <summary>UDP datagrams.</summary>
    Udp,

    /// <summary>TCP with STUN/ChannelData framing.</summary>
    Tcp,

    /// <summary>TLS over TCP ("turns:", "stuns:").</summary>
    Tls,
}
