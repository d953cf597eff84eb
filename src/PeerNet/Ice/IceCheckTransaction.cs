using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>What a Binding request of the agent is for.</summary>
internal enum IceCheckKind : byte
{
    /// <summary>An ordinary or triggered connectivity check (RFC 8445 §7.2.4).</summary>
    Check,

    /// <summary>A check with USE-CANDIDATE from the controlling agent (regular nomination, RFC 8445 §8.1.1).</summary>
    Nomination,

    /// <summary>A consent freshness check on the selected pair (RFC 7675).</summary>
    Consent,
}

/// <summary>One outstanding Binding request: the pair, what it was sent with, and its retransmission timer (RFC 8489 §6.2.1).</summary>
internal sealed class IceCheckTransaction(StunTransactionId id, CandidatePair pair, IceCheckKind kind, IceRole role, int maxTransmissions, long rto)
{
    public StunTransactionId Id { get; } = id;

    public CandidatePair Pair { get; } = pair;

    public IceCheckKind Kind { get; } = kind;

    /// <summary>The role the request announced (ICE-CONTROLLING or ICE-CONTROLLED); retransmissions repeat it.</summary>
    public IceRole Role { get; } = role;

    public int MaxTransmissions { get; } = maxTransmissions;

    public int Transmissions { get; set; }

    public long Rto { get; set; } = rto;

    /// <summary>The next retransmission, or the time the transaction gives up.</summary>
    public long Deadline { get; set; }

    public bool UseCandidate => Kind == IceCheckKind.Nomination;
}
