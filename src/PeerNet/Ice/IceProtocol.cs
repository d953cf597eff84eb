namespace PeerNet.Ice;

/// <summary>The transport of a candidate (RFC 8839 §5.1, W3C RTCIceProtocol).</summary>
public enum IceProtocol : byte
{
    /// <summary>"udp": the only transport the agent checks.</summary>
    Udp,

    /// <summary>"tcp" (RFC 6544): parsed and formatted, ignored by the agent.</summary>
    Tcp,
}
