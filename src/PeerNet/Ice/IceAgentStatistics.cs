namespace PeerNet.Ice;

/// <summary>Counters of an <see cref="IceAgent"/> (read under the same synchronization as the agent).</summary>
public sealed class IceAgentStatistics
{
    private readonly long[] _dropped = new long[Enum.GetValues<IceDropReason>().Length];

    /// <summary>Binding requests sent (checks, nominations, consent; retransmissions included).</summary>
    public long RequestsSent { get; internal set; }

    /// <summary>Binding requests answered with success.</summary>
    public long RequestsAnswered { get; internal set; }

    /// <summary>Binding requests answered with an error (400, 401, 420, 487).</summary>
    public long RequestsRejected { get; internal set; }

    /// <summary>Authenticated responses to our requests.</summary>
    public long ResponsesReceived { get; internal set; }

    /// <summary>ICE restarts (RFC 8445 §9).</summary>
    public long Restarts { get; internal set; }

    /// <summary>Packets ignored, all reasons.</summary>
    public long PacketsDropped { get; private set; }

    /// <summary>Packets ignored for one reason.</summary>
    public long GetDropped(IceDropReason reason) => _dropped[(int)reason];

    internal void Drop(IceDropReason reason)
    {
        _dropped[(int)reason]++;
        PacketsDropped++;
    }
}
