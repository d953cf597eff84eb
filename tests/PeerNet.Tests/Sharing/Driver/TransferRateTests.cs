using PeerNet.Sharing.Driver;

namespace PeerNet.Tests.Sharing.Driver;

public sealed class TransferRateTests
{
    [Fact]
    public void Nothing_added_is_zero()
    {
        var rate = new TransferRate();
        Assert.Equal(0, rate.BytesPerSecond(1_000));
        Assert.Equal(0, rate.Total);
    }

    [Fact]
    public void A_steady_transfer_measures_its_rate()
    {
        var rate = new TransferRate(windowMs: 5_000, buckets: 10);
        long now = 10_000;
        for (var i = 0; i < 200; i++)
        {
            rate.Add(10_000, now); // 10 kB every 50 ms = 200 kB/s
            now += 50;
        }

        Assert.InRange(rate.BytesPerSecond(now), 190_000, 210_000);
        Assert.Equal(2_000_000, rate.Total);
    }

    [Fact]
    public void A_transfer_that_just_started_is_not_diluted_by_the_window()
    {
        var rate = new TransferRate(windowMs: 5_000, buckets: 10);
        rate.Add(100_000, 1_000);
        rate.Add(100_000, 1_500);
        Assert.InRange(rate.BytesPerSecond(2_000), 190_000, 410_000);
    }

    [Fact]
    public void The_rate_falls_to_zero_once_the_window_has_passed()
    {
        var rate = new TransferRate(windowMs: 5_000, buckets: 10);
        for (long t = 0; t < 3_000; t += 100)
        {
            rate.Add(1_000, t);
        }

        Assert.True(rate.BytesPerSecond(3_000) > 0);
        Assert.Equal(0, rate.BytesPerSecond(9_000));
        Assert.Equal(0, rate.BytesPerSecond(100_000));
        Assert.Equal(30_000, rate.Total);
    }

    [Fact]
    public void Bad_settings_are_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransferRate(windowMs: 5, buckets: 10));
}
