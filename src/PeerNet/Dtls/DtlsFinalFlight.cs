namespace PeerNet.Dtls;

/// <summary>
/// Our last handshake flight (as server: ChangeCipherSpec and Finished), kept as the datagrams
/// BouncyCastle sent so they can be sent again verbatim. RFC 6347 §4.2.4: the side that sends the last
/// flight must answer a retransmission of the peer's last flight with its own, since the peer
/// retransmits exactly when ours was lost. Resending the same bytes reuses no nonce with new plaintext.
/// </summary>
internal sealed class DtlsFinalFlight(IReadOnlyList<byte[]> datagrams)
{
    /// <summary>The least time between two resends: a flight spans several datagrams, and a peer's burst must cause one resend.</summary>
    public const int MinimumResendIntervalMillis = 1000;

    private long _lastResend = long.MinValue;

    /// <summary>The datagrams, in the order they were sent.</summary>
    public IReadOnlyList<byte[]> Datagrams { get; } = datagrams;

    /// <summary>How many times the flight was resent.</summary>
    public int Resends { get; private set; }

    /// <summary>Whether to resend now (at most once per <see cref="MinimumResendIntervalMillis"/>); if so, counts it.</summary>
    public bool ShouldResend(long now)
    {
        if (_lastResend != long.MinValue && now - _lastResend < MinimumResendIntervalMillis)
            return false;
        _lastResend = now;
        Resends++;
        return true;
    }
}
