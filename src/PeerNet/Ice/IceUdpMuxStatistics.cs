namespace PeerNet.Ice;

/// <summary>Counters of an <see cref="IceUdpMux"/> (updated without locks; read them as a snapshot).</summary>
public sealed class IceUdpMuxStatistics
{
    internal readonly long[] DroppedCounts = new long[Enum.GetValues<IceUdpMuxDropReason>().Length];
    internal long DatagramsReceivedCount;
    internal long RoutedByUfragCount;
    internal long RoutedByTransactionCount;
    internal long RoutedByAddressCount;
    internal long UnverifiedRequestsCount;
    internal long AddressesLearnedCount;
    internal long AddressesMovedCount;
    internal long AddressesEvictedCount;
    internal long AddressesRefusedCount;
    internal long TransactionsRefusedCount;
    internal long DatagramsSentCount;
    internal long SendFailuresCount;
    internal long ReceiveErrorsCount;

    /// <summary>Every datagram the socket received.</summary>
    public long DatagramsReceived => Interlocked.Read(ref DatagramsReceivedCount);

    /// <summary>Binding requests handed to the connection that registered the USERNAME's local ufrag.</summary>
    public long RoutedByUfrag => Interlocked.Read(ref RoutedByUfragCount);

    /// <summary>STUN responses handed to the connection that sent the request with that transaction id.</summary>
    public long RoutedByTransaction => Interlocked.Read(ref RoutedByTransactionCount);

    /// <summary>Other datagrams (DTLS, indications, responses to unknown transactions) handed to the owner of their source address.</summary>
    public long RoutedByAddress => Interlocked.Read(ref RoutedByAddressCount);

    /// <summary>Binding requests whose MESSAGE-INTEGRITY did not verify: handed on (the agent answers 401), but their address is not learned.</summary>
    public long UnverifiedRequests => Interlocked.Read(ref UnverifiedRequestsCount);

    /// <summary>Remote addresses added to the routing table.</summary>
    public long AddressesLearned => Interlocked.Read(ref AddressesLearnedCount);

    /// <summary>Remote addresses that moved from one connection to another (a remote port reused, RFC 8445 §7.2.2 proof from the new one).</summary>
    public long AddressesMoved => Interlocked.Read(ref AddressesMovedCount);

    /// <summary>Remote addresses removed because a connection held too many (the least recently seen goes).</summary>
    public long AddressesEvicted => Interlocked.Read(ref AddressesEvictedCount);

    /// <summary>Remote addresses not learned: the table was full, or another connection owns them with proof.</summary>
    public long AddressesRefused => Interlocked.Read(ref AddressesRefusedCount);

    /// <summary>Outgoing STUN transactions not remembered for routing responses (the table was full).</summary>
    public long TransactionsRefused => Interlocked.Read(ref TransactionsRefusedCount);

    /// <summary>Datagrams sent by all connections.</summary>
    public long DatagramsSent => Interlocked.Read(ref DatagramsSentCount);

    /// <summary>Sends the operating system refused (including a full socket buffer: sends never block).</summary>
    public long SendFailures => Interlocked.Read(ref SendFailuresCount);

    /// <summary>Receive errors the loop survived (ICMP-induced errors of earlier sends, oversized datagrams).</summary>
    public long ReceiveErrors => Interlocked.Read(ref ReceiveErrorsCount);

    /// <summary>Datagrams dropped for <paramref name="reason"/>.</summary>
    public long Dropped(IceUdpMuxDropReason reason) => Interlocked.Read(ref DroppedCounts[(int)reason]);

    /// <summary>Datagrams dropped for any reason.</summary>
    public long DroppedTotal
    {
        get
        {
            long total = 0;
            for (var i = 0; i < DroppedCounts.Length; i++)
            {
                total += Interlocked.Read(ref DroppedCounts[i]);
            }

            return total;
        }
    }
}
