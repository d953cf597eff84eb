namespace PeerNet.Hub.Signaling;

/// <summary>A token bucket: <c>rate</c> tokens per second up to <c>capacity</c>. Not thread-safe.</summary>
internal struct TokenBucket
{
    private double _tokens;
    private long _lastTicks;

    public TokenBucket(double capacity, long nowTicks)
    {
        _tokens = capacity;
        _lastTicks = nowTicks;
    }

    /// <summary>Takes one token if there is one.</summary>
    public bool TryTake(double rate, double capacity, long nowTicks, long ticksPerSecond)
    {
        if (nowTicks > _lastTicks)
        {
            _tokens = Math.Min(capacity, _tokens + (nowTicks - _lastTicks) * rate / ticksPerSecond);
            _lastTicks = nowTicks;
        }
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }
}
