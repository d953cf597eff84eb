namespace PeerNet.Ice;

/// <summary>The role of an ICE agent (RFC 8445 §6.1.1, W3C RTCIceRole).</summary>
public enum IceRole : byte
{
    /// <summary>"controlling": nominates the pair to use (the offerer, usually).</summary>
    Controlling,

    /// <summary>"controlled": uses the pair the other side nominated.</summary>
    Controlled,
}
