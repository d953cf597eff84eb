namespace PeerNet.Sctp;

/// <summary>
/// The retransmission queue: every DATA chunk sent and not yet covered by the peer's cumulative TSN
/// ack, in TSN order, as a ring of structs. Element i has TSN <see cref="FirstTsn"/> + i, so a SACK
/// finds a TSN by subtraction; nothing is allocated per chunk.
/// </summary>
internal sealed class SentChunkQueue
{
    private SentChunk[] _items = new SentChunk[64];
    private int _head;

    /// <summary>TSN of element 0: the peer's cumulative TSN ack + 1.</summary>
    public uint FirstTsn { get; private set; }

    public int Count { get; private set; }

    public ref SentChunk this[int index] => ref _items[(_head + index) & (_items.Length - 1)];

    public void Reset(uint firstTsn)
    {
        Array.Clear(_items);
        _head = 0;
        Count = 0;
        FirstTsn = firstTsn;
    }

    public ref SentChunk Push()
    {
        if (Count == _items.Length)
        {
            var bigger = new SentChunk[_items.Length * 2];
            for (var i = 0; i < Count; i++)
            {
                bigger[i] = this[i];
            }

            _items = bigger;
            _head = 0;
        }

        ref var slot = ref _items[(_head + Count) & (_items.Length - 1)];
        Count++;
        return ref slot;
    }

    public void PopFront()
    {
        _items[_head] = default;
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        FirstTsn++;
    }
}

/// <summary>One sent DATA (or I-DATA) chunk: where its bytes are (a slice of its message) and its fate.</summary>
internal struct SentChunk
{
    public OutgoingMessage Message;
    public int Offset;
    public int Length;

    /// <summary>Fragment sequence number (I-DATA only).</summary>
    public uint Fsn;
    public byte Flags;

    /// <summary>Chunk header size: 16 for DATA, 20 for I-DATA.</summary>
    public byte HeaderLength;
    public SentChunkState State;
    public byte MissIndications;
    public bool FastRetransmitted;
    public ushort TransmitCount;
    public long SentAt;

    /// <summary>Bytes counted against cwnd: the DATA chunk as sent (RFC 9260 §6.1 counts DATA chunk sizes).</summary>
    public readonly int WireSize => HeaderLength + Length;
}

internal enum SentChunkState : byte
{
    /// <summary>Sent and counted in the flight size.</summary>
    InFlight,

    /// <summary>Covered by a gap ack block.</summary>
    Acked,

    /// <summary>Waiting to be sent again (T3 expiry or fast retransmit).</summary>
    NeedsRetransmit,

    /// <summary>Given up under PR-SCTP (RFC 3758 §3.5); will be skipped with FORWARD TSN.</summary>
    Abandoned,
}
