namespace PeerNet.Rtc;

/// <summary>One end of a candidate pair, as W3C stats describe it (<c>RTCIceCandidateStats</c>).</summary>
public sealed record RtcIceCandidateInfo(string CandidateType, string Address, int Port, string Protocol, string Candidate)
{
    /// <inheritdoc/>
    public override string ToString() => $"{CandidateType} {Protocol} {FormatAddress(Address, Port)}";

    internal static string FormatAddress(string address, int port) => address.Contains(':') ? $"[{address}]:{port}" : $"{address}:{port}";
}

/// <summary>The candidate pair ICE selected (W3C <c>RTCIceCandidatePair</c>).</summary>
public sealed record RtcIceCandidatePairInfo(RtcIceCandidateInfo Local, RtcIceCandidateInfo Remote)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Local} <-> {Remote}";
}
