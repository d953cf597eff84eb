namespace PeerNet.Ice;

/// <summary>Datagram counters of an <see cref="IceTransport"/> (updated without locks; read them as a snapshot).</summary>
public sealed class IceTransportStatistics
{
    internal long DatagramsReceivedCount;
    internal long StunReceivedCount;
    internal long DataDeliveredCount;
    internal long DroppedUnknownKindCount;
    internal long DroppedFromStrangersCount;
    internal long DataSentCount;
    internal long SendFailuresCount;
    internal long StunServerRequestsCount;
    internal long StunServerResponsesCount;
    internal long ServerReflexiveDuplicatesCount;
    internal long RelayAllocationsCount;
    internal long RelayFailuresCount;

    /// <summary>Every datagram received on every socket.</summary>
    public long DatagramsReceived => Interlocked.Read(ref DatagramsReceivedCount);

    /// <summary>STUN messages handed to the agent.</summary>
    public long StunReceived => Interlocked.Read(ref StunReceivedCount);

    /// <summary>DTLS datagrams (first byte 20–63) handed to <see cref="IceTransport.DatagramReceived"/>.</summary>
    public long DataDelivered => Interlocked.Read(ref DataDeliveredCount);

    /// <summary>Datagrams of another kind (RFC 7983: RTP, ZRTP, TURN channels, unknown first bytes), dropped.</summary>
    public long DroppedUnknownKind => Interlocked.Read(ref DroppedUnknownKindCount);

    /// <summary>Non-STUN datagrams from addresses that are not a remote candidate, dropped.</summary>
    public long DroppedFromStrangers => Interlocked.Read(ref DroppedFromStrangersCount);

    /// <summary>Datagrams sent with <see cref="IceTransport.Send"/>.</summary>
    public long DataSent => Interlocked.Read(ref DataSentCount);

    /// <summary>Sends (data or STUN) the operating system refused.</summary>
    public long SendFailures => Interlocked.Read(ref SendFailuresCount);

    /// <summary>Binding requests sent to STUN/TURN servers for server-reflexive candidates (retransmissions included).</summary>
    public long StunServerRequests => Interlocked.Read(ref StunServerRequestsCount);

    /// <summary>Binding responses from STUN/TURN servers (told apart from check responses by transaction id).</summary>
    public long StunServerResponses => Interlocked.Read(ref StunServerResponsesCount);

    /// <summary>Server-reflexive addresses equal to their host candidate (or to another srflx), not signalled (RFC 8445 §5.1.3).</summary>
    public long ServerReflexiveDuplicates => Interlocked.Read(ref ServerReflexiveDuplicatesCount);

    /// <summary>TURN allocations made for relayed candidates.</summary>
    public long RelayAllocations => Interlocked.Read(ref RelayAllocationsCount);

    /// <summary>TURN servers that refused or did not answer.</summary>
    public long RelayFailures => Interlocked.Read(ref RelayFailuresCount);
}
