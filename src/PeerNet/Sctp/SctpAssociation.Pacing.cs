namespace PeerNet.Sctp;

/// <summary>
/// Pacing of new DATA (<see cref="SctpAssociationOptions.Pacing"/>): a credit of bytes refilled at
/// the pacing rate and spent by each new chunk, so a window opened by a SACK leaves spread over the
/// round trip rather than in one burst. As in Linux's TCP pacing, the rate is a multiple of
/// cwnd ÷ RTT (twice it in slow start, so the window can still grow as fast, 1.25 times after),
/// but over the smallest RTT seen rather than SRTT: SRTT also counts the peer's delayed SACKs and
/// queueing, which would pace below what the path carries. Retransmissions are not paced (fast
/// retransmit must go at once, RFC 9260 §7.2.4).
/// </summary>
public sealed partial class SctpAssociation
{
    private long _pacingDeadline = Never;
    private double _pacingCredit;
    private long _pacingRefilledAt = long.MinValue;
    private long _minRtt = long.MaxValue;

    // True while pacing, not a lack of data, keeps the flight below cwnd: the window then counts as
    // fully used, or slow start and congestion avoidance (§7.2.1–7.2.2) would stop growing it.
    private bool _heldByPacing;

    /// <summary>The pacing rate in bytes per millisecond, or 0 when this path is not paced.</summary>
    private double PacingRate()
    {
        if (!_options.Pacing || _minRtt == long.MaxValue || _minRtt < Math.Max(1, _options.PacingMinRttMs))
        {
            return 0;
        }

        var gain = _cwnd <= _ssthresh ? 2.0 : 1.25;
        return gain * _cwnd / _minRtt;
    }

    /// <summary>Refills the credit for the time elapsed; true when new data may leave now.</summary>
    private bool RefillPacingCredit(double rate)
    {
        var burst = Math.Max(Math.Max(1, _options.PacingBurstMtus) * (double)_options.Mtu, rate * 2);
        _pacingCredit = _pacingRefilledAt == long.MinValue
            ? burst
            : Math.Min(burst, _pacingCredit + (rate * Math.Max(0, _now - _pacingRefilledAt)));
        _pacingRefilledAt = _now;
        if (_pacingCredit > 0)
        {
            return true;
        }

        ArmPacingTimer(rate);
        return false;
    }

    /// <summary>Spends credit on a chunk just sent; false (timer armed) when the credit is gone.</summary>
    private bool SpendPacingCredit(double rate, int bytes)
    {
        _pacingCredit -= bytes;
        if (_pacingCredit > 0)
        {
            return true;
        }

        ArmPacingTimer(rate);
        return false;
    }

    private void ArmPacingTimer(double rate)
    {
        _heldByPacing = true;
        _pacingDeadline = _now + Math.Max(1, (long)Math.Ceiling((1 - _pacingCredit) / rate));
    }
}
