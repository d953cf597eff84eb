using PeerNet.Sharing.Wire;

namespace PeerNet.Sharing.Swarm;

/// <summary>What the scheduler keeps about one connection: its session, our requests there, and how fast it answers.</summary>
internal sealed class SwarmPeer
{
    public SwarmPeer(string id, ShareWireSession session)
    {
        Id = id;
        Session = session;
        IsRequestedHere = Requests.ContainsKey;
        WasRejected = Rejected.Contains;
    }

    public string Id { get; }

    /// <summary>When it was added: its hello is due by then plus <see cref="SwarmOptions.HelloTimeoutMs"/>.</summary>
    public long AddedAt { get; init; }

    public ShareWireSession Session { get; }

    /// <summary>Our outstanding requests here and when each went out.</summary>
    public Dictionary<int, long> Requests { get; } = [];

    /// <summary>Pieces this peer rejected: not asked of it again.</summary>
    public HashSet<int> Rejected { get; } = [];

    /// <summary>The pieces of this peer counted in the picker's availability.</summary>
    public PieceBitfield? Counted { get; set; }

    /// <summary>Pieces it has that we have not verified: we are interested while this is above 0.</summary>
    public int Useful { get; set; }

    /// <summary>Requests to keep outstanding here (§6 "Pipelining").</summary>
    public int PipelineDepth { get; set; }

    /// <summary>Smallest request-to-verified time seen: about one round trip plus one piece's transfer.</summary>
    public long MinDuration { get; set; } = long.MaxValue;

    /// <summary>The usual request time (moving average).</summary>
    public double UsualDuration { get; set; }

    /// <summary>The usual time between two completions here (moving average).</summary>
    public double CompletionGap { get; set; }

    public long LastCompletionAt { get; set; } = -1;

    public int Completions { get; set; }

    /// <summary>Stall episodes (§6: three and the peer is dropped).</summary>
    public int Stalls { get; set; }

    /// <summary>When the last stall episode was noticed.</summary>
    public long LastStallAt { get; set; } = -1;

    /// <summary>The picker's <see cref="PiecePicker.WantedVersion"/> when a pick for this peer last found nothing.</summary>
    public long NothingWantedAt { get; set; } = -1;

    /// <summary>The peer was asked for the info block.</summary>
    public bool InfoAsked { get; set; }

    /// <summary>Out of the swarm: requests released, availability removed; waiting for the session to close.</summary>
    public bool Detached { get; set; }

    public SwarmPeerReason CloseReason { get; set; } = SwarmPeerReason.Closed;

    public string? CloseText { get; set; }

    public Func<int, bool> IsRequestedHere { get; }

    public Func<int, bool> WasRejected { get; }
}
