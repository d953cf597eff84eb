namespace PeerNet.Turn;

/// <summary>A snapshot of <see cref="TurnServer"/>'s counters.</summary>
public sealed record TurnServerStatistics
{
    /// <summary>Allocations alive now.</summary>
    public int Allocations { get; init; }

    /// <summary>Allocations created since start.</summary>
    public long AllocationsCreated { get; init; }

    /// <summary>Binding success responses sent.</summary>
    public long BindingResponses { get; init; }

    /// <summary>Datagrams relayed from clients to peers.</summary>
    public long PacketsToPeers { get; init; }

    /// <summary>Payload bytes relayed from clients to peers.</summary>
    public long BytesToPeers { get; init; }

    /// <summary>Datagrams relayed from peers to clients.</summary>
    public long PacketsToClients { get; init; }

    /// <summary>Payload bytes relayed from peers to clients.</summary>
    public long BytesToClients { get; init; }

    /// <summary>Inputs dropped or refused, by reason (reasons never seen are absent).</summary>
    public IReadOnlyDictionary<TurnDropReason, long> Dropped { get; init; } = new Dictionary<TurnDropReason, long>();
}
