namespace PeerNet.Ice;

/// <summary>What an <see cref="IceEvent"/> reports.</summary>
public enum IceEventKind : byte
{
    /// <summary><see cref="IceEvent.State"/> is the new connection state.</summary>
    ConnectionStateChanged,

    /// <summary><see cref="IceEvent.Pair"/> is the new selected pair.</summary>
    SelectedCandidatePairChanged,

    /// <summary><see cref="IceEvent.Candidate"/> is a peer-reflexive remote candidate learned from a check (diagnostics).</summary>
    RemoteCandidateAdded,

    /// <summary><see cref="IceEvent.Candidate"/> is a peer-reflexive local candidate learned from a response (diagnostics).</summary>
    LocalCandidateAdded,
}

/// <summary>An event from <see cref="IceAgent.TryPollEvent"/>.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="State">For <see cref="IceEventKind.ConnectionStateChanged"/>.</param>
/// <param name="Pair">For <see cref="IceEventKind.SelectedCandidatePairChanged"/>.</param>
/// <param name="Candidate">For <see cref="IceEventKind.RemoteCandidateAdded"/> and <see cref="IceEventKind.LocalCandidateAdded"/>.</param>
public readonly record struct IceEvent(IceEventKind Kind, IceConnectionState State = default, IceCandidatePair? Pair = null, IceCandidate? Candidate = null);
