namespace PeerNet.Bench.Signaling;

/// <summary>
/// A lock-free log-linear histogram of latencies in microseconds (about 3 % resolution), cheap
/// enough to record every message from every receive loop: one <see cref="Interlocked"/> add.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBits = 5;                 // 32 sub-buckets per power of two
    private const int SubCount = 1 << SubBits;
    private const int Linear = SubCount * 2;       // 0..63 µs are exact
    private const int MaxExponent = 40;            // up to 2^40 µs, far beyond any run
    private readonly long[] _counts = new long[Linear + (MaxExponent - 6 + 1) * SubCount];
    private long _max;

    public void Record(long micros)
    {
        if (micros < 0) micros = 0;
        Interlocked.Increment(ref _counts[Index(micros)]);
        long max = Volatile.Read(ref _max);
        while (micros > max)
        {
            long seen = Interlocked.CompareExchange(ref _max, micros, max);
            if (seen == max) break;
            max = seen;
        }
    }

    public void Reset()
    {
        Array.Clear(_counts);
        _max = 0;
    }

    public long Count
    {
        get
        {
            long n = 0;
            for (int i = 0; i < _counts.Length; i++) n += Volatile.Read(ref _counts[i]);
            return n;
        }
    }

    public long Max => Volatile.Read(ref _max);

    /// <summary>The latency (µs) at quantile <paramref name="q"/> (0..1): the midpoint of its bucket.</summary>
    public double Quantile(double q)
    {
        long total = 0;
        foreach (long c in _counts) total += c;
        if (total == 0) return double.NaN;
        long rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return Math.Min(Midpoint(i), _max);
        }
        return _max;
    }

    private static int Index(long v)
    {
        if (v < Linear) return (int)v;
        int e = 63 - (int)long.LeadingZeroCount(v);     // >= 6
        if (e > MaxExponent) return Linear + (MaxExponent - 6 + 1) * SubCount - 1;
        int sub = (int)(v >> (e - SubBits)) & (SubCount - 1);
        return Linear + (e - 6) * SubCount + sub;
    }

    private static double Midpoint(int index)
    {
        if (index < Linear) return index;
        int e = (index - Linear) / SubCount + 6;
        int sub = (index - Linear) % SubCount;
        double width = Math.Pow(2, e - SubBits);
        double low = Math.Pow(2, e) + sub * width;
        return low + width / 2;
    }
}
