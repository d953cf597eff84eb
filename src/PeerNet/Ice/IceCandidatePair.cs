namespace PeerNet.Ice;

/// <summary>A local and a remote candidate (W3C RTCIceCandidatePair), as reported for the selected pair.</summary>
/// <param name="Local">The local candidate (its base is the socket that sends).</param>
/// <param name="Remote">The remote candidate.</param>
public sealed record IceCandidatePair(IceCandidate Local, IceCandidate Remote)
{
    /// <summary>"local address:port -> remote address:port (types)".</summary>
    public override string ToString() =>
        $"{Local.Address}:{Local.Port} ({Local.Type.ToToken()}) -> {Remote.Address}:{Remote.Port} ({Remote.Type.ToToken()})";
}
