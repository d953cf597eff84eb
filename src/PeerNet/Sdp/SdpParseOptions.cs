namespace PeerNet.Sdp;

/// <summary>
/// Limits that bound the work and memory a hostile description can cost. The defaults are far above
/// what browsers send (a Chromium audio+video+data offer is ~6 KB, ~150 lines).
/// </summary>
public sealed class SdpParseOptions
{
    public static SdpParseOptions Default { get; } = new();

    /// <summary>Longest accepted input, in characters.</summary>
    public int MaxLength { get; init; } = 256 * 1024;

    /// <summary>Most lines accepted.</summary>
    public int MaxLines { get; init; } = 16_384;

    /// <summary>Longest accepted line, in characters (without its line ending).</summary>
    public int MaxLineLength { get; init; } = 8_192;

    /// <summary>Most a= lines accepted, session and media levels together.</summary>
    public int MaxAttributes { get; init; } = 10_000;

    /// <summary>Most m= sections accepted.</summary>
    public int MaxMediaDescriptions { get; init; } = 1_024;
}
