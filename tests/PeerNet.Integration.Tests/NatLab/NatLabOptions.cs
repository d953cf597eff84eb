namespace PeerNet.Integration.Tests.NatLab;

/// <summary>What a <see cref="NatLab"/> looks like: the NAT of each router and the impairment of the public segment.</summary>
public sealed class NatLabOptions
{
    /// <summary>The NAT of router <c>ra</c>, in front of host <c>ha</c>.</summary>
    public NatKind RouterA { get; set; } = NatKind.EndpointIndependent;

    /// <summary>The NAT of router <c>rb</c>, in front of host <c>hb</c>.</summary>
    public NatKind RouterB { get; set; } = NatKind.EndpointIndependent;

    /// <summary>
    /// Percent (0-100) of packets dropped as they enter the public segment: each packet from a
    /// router or from a server in <c>pub</c> crosses it once, so a round trip loses about twice this.
    /// </summary>
    public int LossPercent { get; set; }

    /// <summary>
    /// One-way delay (ms) added to every packet crossing the public segment, by a userspace
    /// delay line on a TUN device in <c>pub</c>; a round trip through it takes twice this.
    /// </summary>
    public int DelayMilliseconds { get; set; }

    /// <summary>Extra random delay (0 to this, ms, uniform) per packet on top of <see cref="DelayMilliseconds"/>; it reorders packets.</summary>
    public int JitterMilliseconds { get; set; }

    /// <summary>Rate limit (kbit/s, tbf) of the public segment towards each router; 0: none.</summary>
    public int RateKilobitsPerSecond { get; set; }

    /// <summary>Seed of the delay line's jitter, so a failing run can be replayed.</summary>
    public int Seed { get; set; } = Environment.TickCount;

    /// <summary>Time allowed to each setup or teardown command.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
