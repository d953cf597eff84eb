namespace PeerNet.Sctp;

/// <summary>
/// Send-side state of one outgoing stream: its next SSN (with I-DATA: its next ordered and unordered
/// message identifiers), the queue of messages not yet fully fragmented, the bytes still to send
/// (W3C bufferedAmount), and its RFC 6525 reset progress.
/// </summary>
internal sealed class OutboundStream(ushort id)
{
    public readonly ushort Id = id;

    /// <summary>Next ordered MID (RFC 8260 §2.1); with DATA its low 16 bits are the SSN (serial arithmetic wraps alike).</summary>
    public uint NextOrderedMid;

    /// <summary>Next unordered MID (I-DATA only: DATA gives unordered messages no number).</summary>
    public uint NextUnorderedMid;
    public OutgoingMessage? Head;
    public OutgoingMessage? Tail;
    public int QueuedMessages;
    public long BufferedAmount;
    public long BufferedAmountLowThreshold;
    public bool BufferedAmountDecreased;

    /// <summary>DATA chunks of this stream still in the retransmission queue (sent, not cumulatively acked).</summary>
    public int OutstandingChunks;

    /// <summary>In the scheduler's round-robin queue.</summary>
    public bool Scheduled;

    /// <summary>ResetStreams was called; the reset waits for <see cref="MessagesBeforeReset"/> and outstanding data.</summary>
    public bool ResetRequested;

    /// <summary>Messages queued before the reset that must still go out first.</summary>
    public int MessagesBeforeReset;

    /// <summary>The Outgoing SSN Reset Request naming this stream is in flight.</summary>
    public bool ResetInFlight;

    /// <summary>New messages wait: everything before the reset is sent, the reset is not done yet.</summary>
    public bool Paused => ResetInFlight || (ResetRequested && MessagesBeforeReset == 0);

    public void Enqueue(OutgoingMessage message)
    {
        if (Tail is null)
        {
            Head = message;
        }
        else
        {
            Tail.Next = message;
        }

        Tail = message;
        QueuedMessages++;
    }

    public OutgoingMessage Dequeue()
    {
        var message = Head!;
        Head = message.Next;
        if (Head is null)
        {
            Tail = null;
        }

        message.Next = null;
        QueuedMessages--;
        if (ResetRequested && MessagesBeforeReset > 0)
        {
            MessagesBeforeReset--;
        }

        return message;
    }
}

/// <summary>
/// One user message on the send side: its bytes (a pooled buffer), how far it has been fragmented,
/// and how many of its fragments are still in the retransmission queue. Objects are pooled too.
/// </summary>
internal sealed class OutgoingMessage
{
    public byte[] Buffer = [];
    public int Length;
    public OutboundStream Stream = null!;
    public uint Ppid;
    public bool Unordered;
    public int MaxRetransmits = -1;
    public long ExpiresAt = long.MaxValue;
    public int NextOffset;

    /// <summary>MID (I-DATA) or, in its low 16 bits, SSN (DATA, ordered messages).</summary>
    public uint Mid;

    /// <summary>Next fragment sequence number (I-DATA, RFC 8260 §2.1).</summary>
    public uint NextFsn;

    /// <summary>Counted among the interleaved messages being fragmented (see SctpAssociation.Transmit).</summary>
    public bool Open;
    public bool Started;
    public uint FirstTsn;
    public int FragmentsInQueue;
    public bool Abandoned;
    public bool Dequeued;
    public OutgoingMessage? Next;

    public bool IsPartiallyReliable => MaxRetransmits >= 0 || ExpiresAt != long.MaxValue;

    public void Clear()
    {
        Buffer = [];
        Length = 0;
        Stream = null!;
        Ppid = 0;
        Unordered = false;
        MaxRetransmits = -1;
        ExpiresAt = long.MaxValue;
        NextOffset = 0;
        Mid = 0;
        NextFsn = 0;
        Open = false;
        Started = false;
        FirstTsn = 0;
        FragmentsInQueue = 0;
        Abandoned = false;
        Dequeued = false;
        Next = null;
    }
}
