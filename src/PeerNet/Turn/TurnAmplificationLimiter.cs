using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// Budget of responses larger than their (unauthenticated, UDP) request per source IP address and
/// second: a fixed direct-mapped table, no allocation and no per-client state to flood. The port is
/// ignored so a spoofer cannot rotate it; addresses that collide share one budget, which can only
/// make the limit stricter.
/// </summary>
internal sealed class TurnAmplificationLimiter
{
    private const int Buckets = 4096;

    private readonly int _perSecond;
    private readonly long[] _window = new long[Buckets];
    private readonly int[] _count = new int[Buckets];

    public TurnAmplificationLimiter(int perSecond) => _perSecond = perSecond;

    /// <summary>Takes one unit of <paramref name="source"/>'s budget; false when it is spent.</summary>
    public bool TryConsume(in StunAddress source, long nowMs)
    {
        if (_perSecond <= 0)
        {
            return false;
        }

        var (high, low) = TurnAddressRange.ToWords(source);
        var bucket = HashCode.Combine(high, low) & (Buckets - 1);
        var second = nowMs / 1000;
        if (_window[bucket] != second)
        {
            _window[bucket] = second;
            _count[bucket] = 0;
        }

        if (_count[bucket] >= _perSecond)
        {
            return false;
        }

        _count[bucket]++;
        return true;
    }
}
