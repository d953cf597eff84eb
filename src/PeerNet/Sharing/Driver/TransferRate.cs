namespace PeerNet.Sharing.Driver;

/// <summary>
/// Bytes per second over a sliding window (default 5 s in 10 buckets), from a monotonic clock in
/// milliseconds passed in by the caller, so a display's speed and ETA follow the last seconds rather
/// than the whole run. Not thread-safe.
/// </summary>
public sealed class TransferRate
{
    private readonly long[] _bytes;
    private readonly long _bucketMs;
    private long _bucketStart = long.MinValue; // start of the newest bucket
    private int _newest;
    private long _firstAt = long.MinValue;

    /// <summary>A rate over <paramref name="windowMs"/> milliseconds in <paramref name="buckets"/> buckets.</summary>
    public TransferRate(long windowMs = 5_000, int buckets = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowMs, buckets);
        _bytes = new long[buckets];
        _bucketMs = windowMs / buckets;
    }

    /// <summary>Every byte added.</summary>
    public long Total { get; private set; }

    /// <summary>Counts <paramref name="bytes"/> at <paramref name="now"/>.</summary>
    public void Add(long bytes, long now)
    {
        Advance(now);
        _bytes[_newest] += bytes;
        Total += bytes;
        if (_firstAt == long.MinValue)
        {
            _firstAt = now;
        }
    }

    /// <summary>Bytes per second over the window that ends at <paramref name="now"/> (0 before anything was added).</summary>
    public double BytesPerSecond(long now)
    {
        if (_firstAt == long.MinValue)
        {
            return 0;
        }

        Advance(now);
        long sum = 0;
        foreach (var b in _bytes)
        {
            sum += b;
        }

        // The window is the full buckets plus the part of the newest one that has passed, but never
        // longer than the time since the first byte (a transfer that just started is not diluted).
        var span = ((_bytes.Length - 1) * _bucketMs) + (now - _bucketStart) + 1;
        span = Math.Min(span, Math.Max(now - _firstAt, _bucketMs));
        return sum * 1000.0 / span;
    }

    private void Advance(long now)
    {
        if (_bucketStart == long.MinValue)
        {
            _bucketStart = now;
            return;
        }

        var steps = (now - _bucketStart) / _bucketMs;
        if (steps <= 0)
        {
            return;
        }

        for (long i = 0; i < Math.Min(steps, _bytes.Length); i++)
        {
            _newest = (_newest + 1) % _bytes.Length;
            _bytes[_newest] = 0;
        }

        _bucketStart += steps * _bucketMs;
    }
}
