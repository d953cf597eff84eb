namespace PeerNet.Sctp;

/// <summary>Counters of one association (read them any time; they only grow).</summary>
public sealed class SctpStatistics
{
    private readonly long[] _drops = new long[Enum.GetValues<SctpDropReason>().Length];

    /// <summary>Packets handed to HandlePacket.</summary>
    public long PacketsReceived { get; internal set; }

    /// <summary>Packets produced by PollTransmit.</summary>
    public long PacketsSent { get; internal set; }

    /// <summary>Packets (or chunks) dropped, all reasons.</summary>
    public long PacketsDropped { get; internal set; }

    /// <summary>The most recent drop reason.</summary>
    public SctpDropReason LastDropReason { get; internal set; }

    /// <summary>DATA chunks sent for the first time.</summary>
    public long DataChunksSent { get; internal set; }

    /// <summary>DATA chunks sent again.</summary>
    public long DataChunksRetransmitted { get; internal set; }

    /// <summary>Fast retransmit events (RFC 9260 §7.2.4).</summary>
    public long FastRetransmits { get; internal set; }

    /// <summary>T3-rtx expirations.</summary>
    public long RetransmissionTimeouts { get; internal set; }

    /// <summary>DATA chunks received (new TSNs).</summary>
    public long DataChunksReceived { get; internal set; }

    /// <summary>DATA chunks received again (duplicates).</summary>
    public long DuplicateDataChunksReceived { get; internal set; }

    /// <summary>User messages delivered.</summary>
    public long MessagesReceived { get; internal set; }

    /// <summary>User messages accepted by Send.</summary>
    public long MessagesSent { get; internal set; }

    /// <summary>Messages given up under partial reliability.</summary>
    public long MessagesAbandoned { get; internal set; }

    /// <summary>SACKs sent.</summary>
    public long SacksSent { get; internal set; }

    /// <summary>FORWARD TSN chunks sent.</summary>
    public long ForwardTsnsSent { get; internal set; }

    /// <summary>Drops with this reason.</summary>
    public long GetDrops(SctpDropReason reason) => _drops[(int)reason];

    internal void Drop(SctpDropReason reason)
    {
        _drops[(int)reason]++;
        PacketsDropped++;
        LastDropReason = reason;
    }
}
