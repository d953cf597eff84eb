namespace PeerNet.Dtls;

/// <summary>Settings of a <see cref="DtlsTransport"/>. Times are milliseconds.</summary>
public sealed class DtlsTransportOptions
{
    /// <summary>
    /// The largest datagram the handshake sends: flights are fragmented to fit (RFC 6347 §4.1.1.1).
    /// 1200 leaves room for IPv6, UDP and TURN headers on any path, as browsers do. Application data
    /// records are sized by the caller (SCTP keeps its packets under this).
    /// </summary>
    public int Mtu { get; set; } = 1200;

    /// <summary>The handshake fails with <see cref="DtlsFailureReason.HandshakeTimeout"/> if it has not completed this long after <see cref="DtlsTransport.Start"/>.</summary>
    public int HandshakeTimeout { get; set; } = 20000;

    /// <summary>The first retransmission timeout of a handshake flight; it doubles on each loss (RFC 6347 §4.2.4.1 suggests 1 s).</summary>
    public int InitialRetransmissionTimeout { get; set; } = 1000;

    /// <summary>
    /// As server, answer a ClientHello without a valid cookie with a HelloVerifyRequest (RFC 6347 §4.2.1).
    /// Off by default: in WebRTC, ICE has already proved the peer's address, the exchange costs a round
    /// trip, and BouncyCastle cannot verify a cookie in a ClientHello fragmented across datagrams.
    /// </summary>
    public bool HelloVerifyRequest { get; set; }

    /// <summary>Received application records kept for <see cref="DtlsTransport.ReadApplicationData"/>; more are dropped (and counted).</summary>
    public int MaxPendingApplicationData { get; set; } = 1024;

    /// <summary>Datagrams kept for <see cref="DtlsTransport.PollTransmit"/>; more are dropped (and counted).</summary>
    public int MaxPendingTransmits { get; set; } = 1024;

    /// <summary>For tests: offer or accept only these cipher suites (BouncyCastle <c>CipherSuite</c> values).</summary>
    internal int[]? CipherSuites { get; set; }

    /// <summary>
    /// For tests: keep BouncyCastle's record layer after the handshake even for the AEAD suites
    /// <see cref="DtlsRecordProtection"/> implements (as it is kept for the others), e.g. to check ours
    /// against it.
    /// </summary>
    internal bool BouncyCastleRecordLayer { get; set; }

    internal void Validate()
    {
        if (Mtu is < 256 or > 65507)
            throw new ArgumentOutOfRangeException(nameof(Mtu), Mtu, "The MTU must be between 256 and 65507 bytes.");
        if (HandshakeTimeout <= 0)
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "The handshake timeout must be positive.");
        if (InitialRetransmissionTimeout <= 0)
            throw new ArgumentOutOfRangeException(nameof(InitialRetransmissionTimeout), InitialRetransmissionTimeout, "The retransmission timeout must be positive.");
        if (MaxPendingApplicationData <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxPendingApplicationData), MaxPendingApplicationData, "Must be positive.");
        if (MaxPendingTransmits <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxPendingTransmits), MaxPendingTransmits, "Must be positive.");
    }
}
