namespace PeerNet.Stun;

/// <summary>Long-term credential password algorithms (RFC 8489 §18.5).</summary>
public enum StunPasswordAlgorithm : ushort
{
    /// <summary>0x0001: key = MD5(username ":" realm ":" password), 16 bytes. For legacy peers; the default when no algorithm is negotiated.</summary>
    Md5 = 0x0001,

    /// <summary>0x0002: key = SHA-256(username ":" realm ":" password), 32 bytes.</summary>
    Sha256 = 0x0002,
}
