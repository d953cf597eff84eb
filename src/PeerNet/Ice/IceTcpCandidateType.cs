namespace PeerNet.Ice;

/// <summary>The "tcptype" of a TCP candidate (RFC 6544 §4.5, W3C RTCIceTcpCandidateType).</summary>
public enum IceTcpCandidateType : byte
{
    /// <summary>"active": opens connections, does not accept them.</summary>
    Active,

    /// <summary>"passive": accepts connections.</summary>
    Passive,

    /// <summary>"so": simultaneous open.</summary>
    SimultaneousOpen,
}
