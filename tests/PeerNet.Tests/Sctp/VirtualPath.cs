namespace PeerNet.Tests.Sctp;

/// <summary>What one direction of a <see cref="VirtualPath"/> does to packets.</summary>
internal sealed record NetworkConditions
{
    /// <summary>Independent loss probability per packet (the "good" state of the burst model).</summary>
    public double Loss { get; init; }

    /// <summary>Gilbert–Elliott burst loss: chance per packet to enter the bad state (0 = no bursts).</summary>
    public double BurstStart { get; init; }

    /// <summary>Chance per packet to leave the bad state (mean burst length 1 / BurstEnd packets).</summary>
    public double BurstEnd { get; init; } = 0.25;

    /// <summary>A burst also ends after this long: an outage is a stretch of time, not of packets.</summary>
    public int BurstMaxMs { get; init; } = 1000;

    /// <summary>Loss probability in the bad state.</summary>
    public double BurstLoss { get; init; } = 1.0;

    /// <summary>Chance that a delivered packet arrives twice.</summary>
    public double Duplication { get; init; }

    /// <summary>One-way base delay.</summary>
    public int DelayMs { get; init; } = 10;

    /// <summary>Extra delay drawn uniformly from [0, JitterMs] per packet.</summary>
    public int JitterMs { get; init; }

    /// <summary>Whether jitter may reorder packets; otherwise a packet never overtakes an earlier one.</summary>
    public bool Reorder { get; init; }

    /// <summary>Bottleneck rate in bytes per second (0 = unlimited).</summary>
    public long BytesPerSecond { get; init; }

    /// <summary>Bottleneck buffer: a packet that would queue more than this is dropped (drop tail).</summary>
    public int QueueBytes { get; init; } = 64 * 1024;

    public override string ToString() =>
        $"loss {Loss:P0}{(BurstStart > 0 ? $" bursts {BurstStart:P1}/{BurstEnd:P0}" : "")} dup {Duplication:P0} delay {DelayMs}+{JitterMs} ms{(Reorder ? " reorder" : "")}{(BytesPerSecond > 0 ? $" {BytesPerSecond / 1000} kB/s" : "")}";
}

/// <summary>
/// One direction of a simulated network: a bottleneck (serialisation at a rate, drop-tail queue),
/// then loss (independent or in bursts), then delay with jitter (reordering or FIFO), and
/// duplication. Decisions come from the caller's seeded <see cref="Random"/>.
/// </summary>
internal sealed class VirtualPath(NetworkConditions conditions)
{
    private double _busyUntilMs;
    private long _lastArrival;
    private bool _inBurst;
    private long _burstStartedAt;

    public NetworkConditions Conditions { get; } = conditions;

    public long Dropped { get; private set; }

    /// <summary>
    /// Decides the fate of a packet sent at <paramref name="now"/>: returns how many copies arrive
    /// (0, 1 or 2) and their arrival times.
    /// </summary>
    public int Send(long now, int length, Random random, out long first, out long second)
    {
        first = second = 0;
        var c = Conditions;
        double departure = now;
        if (c.BytesPerSecond > 0)
        {
            var start = Math.Max(now, _busyUntilMs);
            var queued = (start - now) * c.BytesPerSecond / 1000.0;
            if (queued + length > c.QueueBytes)
            {
                Dropped++;
                return 0;
            }

            _busyUntilMs = start + (length * 1000.0 / c.BytesPerSecond);
            departure = _busyUntilMs;
        }

        if (c.BurstStart > 0)
        {
            if (_inBurst)
            {
                _inBurst = random.NextDouble() >= c.BurstEnd && now - _burstStartedAt < c.BurstMaxMs;
            }
            else if (random.NextDouble() < c.BurstStart)
            {
                _inBurst = true;
                _burstStartedAt = now;
            }
        }

        var loss = _inBurst ? c.BurstLoss : c.Loss;
        if (loss > 0 && random.NextDouble() < loss)
        {
            Dropped++;
            return 0;
        }

        var leave = (long)Math.Ceiling(departure);
        first = leave + c.DelayMs + (c.JitterMs > 0 ? random.Next(c.JitterMs + 1) : 0);
        if (!c.Reorder)
        {
            first = Math.Max(first, _lastArrival);
            _lastArrival = first;
        }

        if (c.Duplication > 0 && random.NextDouble() < c.Duplication)
        {
            second = leave + c.DelayMs + (c.JitterMs > 0 ? random.Next(c.JitterMs + 1) : 0) + 1;
            return 2;
        }

        return 1;
    }
}
