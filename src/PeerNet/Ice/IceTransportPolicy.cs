namespace PeerNet.Ice;

/// <summary>Which local candidates ICE may use (W3C <c>RTCIceTransportPolicy</c>).</summary>
public enum IceTransportPolicy : byte
{
    /// <summary>"all": host, server-reflexive and relayed candidates.</summary>
    All,

    /// <summary>"relay": only relayed candidates (TURN), so no local address is revealed.</summary>
    Relay,
}
