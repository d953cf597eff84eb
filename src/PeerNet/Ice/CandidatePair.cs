using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>A local candidate the agent can send from: its socket and its base address (RFC 8445 §5.1.1).</summary>
internal sealed class LocalCandidate(IceCandidate candidate, int socketId, StunAddress baseAddress)
{
    public IceCandidate Candidate { get; } = candidate;

    public int SocketId { get; } = socketId;

    public StunAddress Base { get; } = baseAddress;
}

/// <summary>A remote candidate with its transport address parsed once.</summary>
internal sealed class RemoteCandidate(IceCandidate candidate, StunAddress address)
{
    public IceCandidate Candidate { get; set; } = candidate;

    public StunAddress Address { get; } = address;
}

/// <summary>A candidate pair in the checklist (RFC 8445 §6.1.2).</summary>
internal sealed class CandidatePair(LocalCandidate local, RemoteCandidate remote, IceGeneration generation)
{
    /// <summary>The credentials its checks are made with (an ICE restart starts a new generation).</summary>
    public IceGeneration Generation { get; } = generation;

    public LocalCandidate Local { get; } = local;

    public RemoteCandidate Remote { get; } = remote;

    public string Foundation { get; } = local.Candidate.Foundation + ":" + remote.Candidate.Foundation;

    /// <summary>Pair priority (RFC 8445 §6.1.2.3); depends on the role, recomputed when it changes.</summary>
    public ulong Priority { get; private set; }

    public CandidatePairState State { get; set; } = CandidatePairState.Frozen;

    /// <summary>The ordinary or triggered check in flight, if any.</summary>
    public IceCheckTransaction? Check { get; set; }

    /// <summary>In the triggered check queue (RFC 8445 §6.1.4.1).</summary>
    public bool Triggered { get; set; }

    /// <summary>The peer sent USE-CANDIDATE on this pair (controlled side, RFC 8445 §7.3.1.5).</summary>
    public bool RemoteNominated { get; set; }

    /// <summary>A check from the remote arrived on this pair: the path works toward us.</summary>
    public bool CheckReceived { get; set; }

    /// <summary>Nominated: usable for data.</summary>
    public bool Nominated { get; set; }

    /// <summary>When the last authenticated success response on this pair arrived (consent, RFC 7675).</summary>
    public long LastResponseAt { get; set; } = long.MinValue;

    /// <summary>
    /// The local candidate whose address equals the mapped address of this pair's successful check:
    /// the valid pair's local side (RFC 8445 §7.2.5.3.2), server- or peer-reflexive behind a NAT;
    /// null when the mapped address is the base itself (no NAT, or a relay).
    /// </summary>
    public IceCandidate? MappedLocal { get; set; }

    public IceCandidatePair? Public { get; set; }

    public void ComputePriority(IceRole role)
    {
        // G is the controlling agent's candidate priority, D the controlled agent's.
        ulong local = Local.Candidate.Priority;
        ulong remote = Remote.Candidate.Priority;
        var g = role == IceRole.Controlling ? local : remote;
        var d = role == IceRole.Controlling ? remote : local;
        Priority = (Math.Min(g, d) << 32) + (2 * Math.Max(g, d)) + (g > d ? 1ul : 0ul);
    }

    public IceCandidatePair ToPublic() => Public is { } existing && ReferenceEquals(existing.Remote, Remote.Candidate)
        && ReferenceEquals(existing.Local, MappedLocal ?? Local.Candidate)
        ? existing
        : Public = new IceCandidatePair(MappedLocal ?? Local.Candidate, Remote.Candidate);

    public override string ToString() => $"{Local.Base} -> {Remote.Address} ({State})";
}
