using PeerNet.Sharing.Swarm;

namespace PeerNet.Tests.Sharing.Swarm;

public class TokenBucketTests
{
    [Fact]
    public void StartsFullAndRefusesMoreThanItHolds()
    {
        var bucket = new TokenBucket(bytesPerSecond: 1_000_000, burstBytes: 100_000, now: 50);
        Assert.Equal(100_000, bucket.Available(50));
        Assert.True(bucket.TryTake(60_000, 50));
        Assert.False(bucket.TryTake(60_000, 50));
        Assert.True(bucket.TryTake(40_000, 50));
        Assert.Equal(0, bucket.Available(50));
    }

    [Fact]
    public void SaysExactlyWhenTheNextSendMayGo()
    {
        var bucket = new TokenBucket(bytesPerSecond: 1_000_000, burstBytes: 100_000, now: 0);
        Assert.True(bucket.TryTake(100_000, 0));

        // 1,000 bytes per ms: 25,000 bytes in 25 ms, not a millisecond earlier.
        Assert.Equal(25, bucket.NextAvailableAt(25_000));
        Assert.False(bucket.TryTake(25_000, 24));
        Assert.True(bucket.TryTake(25_000, 25));
        Assert.Equal(0, bucket.Available(25));
    }

    [Fact]
    public void ARateThatIsNotAMultipleOfAThousandAccruesExactly()
    {
        // 333 B/s: 0.333 bytes per ms; after 3 s exactly 999 bytes, never 0 from rounding per ms.
        var bucket = new TokenBucket(bytesPerSecond: 333, burstBytes: 10_000, now: 0);
        Assert.True(bucket.TryTake(10_000, 0));
        for (long t = 1; t <= 3_000; t++)
        {
            bucket.Available(t);
        }

        Assert.Equal(999, bucket.Available(3_000));
        Assert.Equal(3_000 + 4, bucket.NextAvailableAt(1_000)); // 1 byte more: 3.003 ms → 4 ms
    }

    [Fact]
    public void ASendLargerThanTheBurstGoesWhenFullAndLeavesADebt()
    {
        var bucket = new TokenBucket(bytesPerSecond: 10_000, burstBytes: 1_000, now: 0);
        Assert.True(bucket.TryTake(5_000, 0));
        Assert.Equal(-4_000, bucket.Available(0));

        // The debt is paid off (400 ms), then the bucket refills to its burst (100 ms more).
        Assert.Equal(500, bucket.NextAvailableAt(5_000));
        Assert.False(bucket.TryTake(1, 399));
        Assert.Equal(0, bucket.Available(400));
        Assert.False(bucket.TryTake(5_000, 499));
        Assert.True(bucket.TryTake(5_000, 500));
        Assert.Equal(-4_000, bucket.Available(500));
    }

    [Fact]
    public void NeverHoldsMoreThanTheBurstAfterALongPause()
    {
        var bucket = new TokenBucket(bytesPerSecond: 1_000_000_000, burstBytes: 1 << 20, now: 0);
        Assert.True(bucket.TryTake(1 << 20, 0));
        Assert.Equal(1 << 20, bucket.Available(long.MaxValue / 2));
        Assert.Equal(1 << 20, bucket.Available(long.MaxValue));
    }

    [Fact]
    public void TimeGoingBackIsIgnored()
    {
        var bucket = new TokenBucket(bytesPerSecond: 1_000, burstBytes: 1_000, now: 1_000);
        Assert.True(bucket.TryTake(1_000, 1_000));
        Assert.Equal(0, bucket.Available(500));
        Assert.Equal(500, bucket.Available(1_500));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(-5, 100)]
    [InlineData(long.MaxValue, 100)]
    public void RefusesBadSettings(long rate, long burst)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(rate, burst, 0));
    }

    /// <summary>A sender that sends whenever it may: over any window, at most rate × time + burst.</summary>
    [Theory]
    [InlineData(4_000_000, 262_160, 262_160)]
    [InlineData(4_000_000, 400_000, 262_160)]
    [InlineData(123_457, 16_400, 16_400)]
    [InlineData(50_000_000, 5_000_000, 65_536)]
    public void AGreedySenderKeepsToTheRateOverEveryWindow(long rate, long burst, int message)
    {
        var bucket = new TokenBucket(rate, burst, 0);
        var sends = new List<(long At, long Total)>();
        long now = 0, total = 0;
        while (now < 20_000)
        {
            if (bucket.TryTake(message, now))
            {
                total += message;
                sends.Add((now, total));
                continue;
            }

            var next = bucket.NextAvailableAt(message);
            Assert.True(next > now, "a refused send must be told a later time");
            now = next;
        }

        // Sustained: the 20 s carried the rate (and the first burst), within two messages; when a
        // message needs the whole bucket, up to 1 ms of accrual per send spills over the top.
        var expected = (rate * 20_000 / 1_000) + burst;
        var spill = message >= burst ? sends.Count * ((rate / 1_000) + 1) : 0;
        Assert.InRange(total, expected - (2 * message) - spill, expected + message);

        // Every window: what went out after the first send of it is at most rate × its length + the burst.
        for (var i = 0; i < sends.Count; i += Math.Max(1, sends.Count / 200))
        {
            var before = i == 0 ? 0 : sends[i - 1].Total;
            for (var j = i; j < sends.Count; j++)
            {
                var window = sends[j].At - sends[i].At;
                Assert.True(sends[j].Total - before <= (rate * window / 1_000) + Math.Max(burst, message) + 1,
                    $"{sends[j].Total - before} bytes in {window} ms at {rate} B/s, burst {burst}");
            }
        }
    }
}
