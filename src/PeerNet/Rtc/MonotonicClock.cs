using System.Diagnostics;

namespace PeerNet.Rtc;

/// <summary>
/// The drivers' clock: monotonic milliseconds from <see cref="Stopwatch"/>.
/// <see cref="Environment.TickCount64"/> is the coarse clock on Linux (CLOCK_MONOTONIC_COARSE: 4 ms
/// steps at HZ=250), too coarse for SCTP's round-trip samples and pacing.
/// </summary>
internal static class MonotonicClock
{
    private static readonly long TicksPerMillisecond = Stopwatch.Frequency / 1000;

    /// <summary>Milliseconds since an arbitrary, fixed origin.</summary>
    public static long Milliseconds => Stopwatch.GetTimestamp() / TicksPerMillisecond;
}
