namespace PeerNet.Sharing.Swarm;

/// <summary>
/// A token bucket, sans-I/O: tokens (bytes) accrue at <see cref="BytesPerSecond"/> up to
/// <see cref="BurstBytes"/>, and a send of n bytes takes n of them. Time is the caller's monotonic
/// milliseconds, so the bucket never sleeps: it says when the next send may go
/// (<see cref="NextAvailableAt"/>) and the driver arms a timer for that moment. Tokens are kept in
/// thousandths of a byte, so a rate that is not a multiple of 1,000 B/s accrues exactly per ms.
/// Not thread-safe.
/// </summary>
public sealed class TokenBucket
{
    private readonly long _capacity; // BurstBytes × 1,000
    private long _tokens;            // thousandths of a byte; below 0 after an oversized send (a debt)
    private long _at;                // when _tokens was last brought up to date

    /// <summary>A full bucket at <paramref name="now"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate or burst below 1, or too large to count in thousandths of a byte.</exception>
    public TokenBucket(long bytesPerSecond, long burstBytes, long now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burstBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytesPerSecond, long.MaxValue / 1_000);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(burstBytes, long.MaxValue / 4_000);
        BytesPerSecond = bytesPerSecond;
        BurstBytes = burstBytes;
        _capacity = burstBytes * 1_000;
        _tokens = _capacity;
        _at = now;
    }

    /// <summary>The sustained rate.</summary>
    public long BytesPerSecond { get; }

    /// <summary>Most bytes that may go at once after a pause.</summary>
    public long BurstBytes { get; }

    /// <summary>Whole bytes that may be sent at <paramref name="now"/> (negative while an oversized send is paid off).</summary>
    public long Available(long now)
    {
        Refill(now);
        return _tokens >= 0 ? _tokens / 1_000 : -((-_tokens + 999) / 1_000);
    }

    /// <summary>
    /// Takes <paramref name="bytes"/> if they are there at <paramref name="now"/>. A send larger
    /// than the burst goes when the bucket is full and leaves a debt, so it is never refused forever.
    /// </summary>
    public bool TryTake(long bytes, long now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Refill(now);
        if (_tokens < Needed(bytes))
        {
            return false;
        }

        _tokens -= Math.Min(bytes, long.MaxValue / 2_000) * 1_000;
        return true;
    }

    /// <summary>
    /// The earliest time (ms, absolute) at which <see cref="TryTake"/> of <paramref name="bytes"/>
    /// succeeds if nothing else is taken first; at or before the last time given when it would now.
    /// </summary>
    public long NextAvailableAt(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var missing = Needed(bytes) - _tokens;
        return missing <= 0 ? _at : _at + ((missing + BytesPerSecond - 1) / BytesPerSecond);
    }

    private long Needed(long bytes) => Math.Min(bytes, BurstBytes) * 1_000;

    private void Refill(long now)
    {
        if (now <= _at)
        {
            return;
        }

        // BytesPerSecond thousandths of a byte per ms; a long pause fills the bucket without overflowing.
        var elapsed = now - _at;
        _at = now;
        var room = _capacity - _tokens;
        _tokens = elapsed > room / BytesPerSecond ? _capacity : Math.Min(_capacity, _tokens + (elapsed * BytesPerSecond));
    }
}
