namespace PeerNet.Ice;

/// <summary>The URI scheme of an ICE server (RFC 7064, RFC 7065).</summary>
public enum IceServerScheme : byte
{
    /// <summary>"stun:" — STUN over UDP (Binding for server-reflexive candidates).</summary>
    Stun,

    /// <summary>"stuns:" — STUN over TLS (parsed; not used for gathering).</summary>
    Stuns,

    /// <summary>"turn:" — TURN over UDP or TCP.</summary>
    Turn,

    /// <summary>"turns:" — TURN over TLS over TCP.</summary>
    Turns,
}
