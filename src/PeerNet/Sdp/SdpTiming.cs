namespace PeerNet.Sdp;

/// <summary>
/// A t= line with its r= lines (RFC 8866 §5.9, §5.10). WebRTC sessions are unbounded: <c>t=0 0</c>
/// (RFC 8829 §5.2.1).
/// </summary>
public sealed record SdpTiming
{
    /// <summary><c>t=0 0</c>: a permanent session.</summary>
    public static SdpTiming Unbounded { get; } = new(0, 0);

    public SdpTiming(ulong startTime, ulong stopTime, IReadOnlyList<string>? repeatTimes = null)
    {
        StartTime = startTime;
        StopTime = stopTime;
        RepeatTimes = repeatTimes ?? [];
        foreach (string repeat in RepeatTimes)
            SdpGrammar.EnsureLineSafe(repeat, nameof(repeatTimes));
    }

    public ulong StartTime { get; }

    public ulong StopTime { get; }

    /// <summary>The values of the r= lines that follow this t= line, kept as written.</summary>
    public IReadOnlyList<string> RepeatTimes { get; }

    public override string ToString() => $"{StartTime} {StopTime}";
}
