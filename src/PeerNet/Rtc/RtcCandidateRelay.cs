namespace PeerNet.Rtc;

/// <summary>
/// Hands one connection's trickled candidates to another in the same process, holding them until
/// the receiver has its remote description (W3C: addIceCandidate before setRemoteDescription is
/// an error, and a candidate dropped then may be the only way to reach the peer).
/// </summary>
public sealed class RtcCandidateRelay
{
    private readonly RtcPeerConnection _to;
    private readonly List<RtcIceCandidateInit> _held = [];
    private readonly object _gate = new();
    private bool _ready;

    /// <summary>Forwards <paramref name="from"/>'s candidates to <paramref name="to"/>.</summary>
    public RtcCandidateRelay(RtcPeerConnection from, RtcPeerConnection to)
    {
        _to = to;
        from.IceCandidate += (_, candidate) =>
        {
            if (candidate is null) return;
            lock (_gate)
            {
                if (!_ready)
                {
                    _held.Add(candidate);
                    return;
                }
            }
            _ = _to.AddIceCandidateAsync(candidate);
        };
    }

    /// <summary>The receiver has its remote description: deliver what was held, and pass the rest straight on.</summary>
    public void RemoteDescriptionSet()
    {
        RtcIceCandidateInit[] held;
        lock (_gate)
        {
            _ready = true;
            held = [.. _held];
            _held.Clear();
        }
        foreach (var candidate in held) _ = _to.AddIceCandidateAsync(candidate);
    }
}
