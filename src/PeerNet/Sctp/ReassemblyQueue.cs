using System.Buffers;

namespace PeerNet.Sctp;

/// <summary>
/// Receive-side reassembly and delivery (RFC 9260 §6.5, §6.6, §6.9): DATA fragments are kept per
/// stream, sorted by TSN, until a message is complete (B..E with consecutive TSNs); ordered
/// messages are then delivered in SSN order, unordered ones at once. Fragments live in pooled
/// buffers; a single-fragment message that is deliverable is copied straight into its payload.
/// The owner bounds memory (it refuses DATA beyond its advertised window) and aborts when a message
/// grows past the max message size (<see cref="Oversized"/>).
/// </summary>
internal sealed class ReassemblyQueue
{
    private readonly Dictionary<ushort, InboundStream> _streams = [];
    private readonly int _maxMessageSize;
    private readonly Action<ushort, uint, byte[], bool> _deliver;

    public ReassemblyQueue(int maxMessageSize, Action<ushort, uint, byte[], bool> deliver)
    {
        _maxMessageSize = maxMessageSize;
        _deliver = deliver;
    }

    /// <summary>User data bytes held in fragments.</summary>
    public long BufferedBytes { get; private set; }

    /// <summary>Set when a message exceeded the max message size; the association aborts.</summary>
    public bool Oversized { get; private set; }

    public void Add(in DataChunk chunk)
    {
        var stream = GetStream(chunk.StreamId);
        var flags = chunk.Flags;
        var complete = (flags & (DataChunk.BeginningFlag | DataChunk.EndingFlag)) == (DataChunk.BeginningFlag | DataChunk.EndingFlag);
        if (chunk.Unordered)
        {
            if (complete)
            {
                _deliver(chunk.StreamId, chunk.PayloadProtocolIdentifier, chunk.UserData.ToArray(), true);
                return;
            }

            var index = stream.Unordered.Insert(Store(chunk));
            TryDeliverUnordered(stream, index);
            return;
        }

        if (complete && chunk.StreamSequenceNumber == stream.NextSsn && stream.Ordered.Count == 0)
        {
            stream.NextSsn++;
            _deliver(chunk.StreamId, chunk.PayloadProtocolIdentifier, chunk.UserData.ToArray(), false);
            return;
        }

        if (SerialNumber.Lt(chunk.StreamSequenceNumber, stream.NextSsn))
        {
            return; // already delivered or skipped: a stale copy under a new TSN
        }

        stream.Ordered.Insert(Store(chunk));
        DeliverOrdered(stream);
    }

    /// <summary>
    /// FORWARD TSN (RFC 3758 §3.6): drop partial messages still missing a TSN at or below the
    /// cumulative TSN point (<paramref name="cumulativeTsn"/>, after the receiver advanced it over
    /// what it already held), deliver complete ordered messages up to each skipped SSN, move the SSNs on.
    /// </summary>
    public void HandleForwardTsn(uint newCumulativeTsn, uint cumulativeTsn, in ForwardTsnChunk forwardTsn)
    {
        foreach (var stream in _streams.Values)
        {
            DropUnorderedOrphans(stream.Unordered, newCumulativeTsn, cumulativeTsn);
        }

        for (var k = 0; k < forwardTsn.StreamCount; k++)
        {
            var entry = forwardTsn.GetStream(k);
            var stream = GetStream(entry.StreamId);
            var ssn = entry.StreamSequenceNumber;
            var list = stream.Ordered;
            while (list.Count > 0 && SerialNumber.Lte(list[0].Ssn, ssn))
            {
                var first = list[0].Ssn;
                if (!TryDeliverOrderedHead(stream, first))
                {
                    var n = 0;
                    while (n < list.Count && list[n].Ssn == first)
                    {
                        n++;
                    }

                    Release(list, 0, n);
                }

                if (Oversized)
                {
                    return;
                }
            }

            if (!SerialNumber.Lt(ssn, stream.NextSsn))
            {
                stream.NextSsn = (ushort)(ssn + 1);
            }

            DeliverOrdered(stream);
        }
    }

    /// <summary>
    /// Unordered fragments that can never complete: those at or below the skipped point, and those
    /// above it whose message began at a TSN that is received or skipped but not held (no B flag,
    /// the TSN before them at or below the cumulative point and gone). A sender may skip only the
    /// lost fragments of a message and leave gap-acknowledged ones above the FORWARD TSN point.
    /// </summary>
    private void DropUnorderedOrphans(FragmentList list, uint newCumulativeTsn, uint cumulativeTsn)
    {
        var i = 0;
        var previousKeptTsn = 0u;
        var hasPreviousKept = false;
        var previousKeptEnds = false;
        while (i < list.Count)
        {
            ref var f = ref list[i];
            var orphan = SerialNumber.Lte(f.Tsn, newCumulativeTsn);
            if (!orphan && (f.Flags & DataChunk.BeginningFlag) == 0)
            {
                var joinsPrevious = hasPreviousKept && previousKeptTsn == f.Tsn - 1 && !previousKeptEnds;
                orphan = !joinsPrevious && SerialNumber.Lte(f.Tsn - 1, cumulativeTsn);
            }

            if (orphan)
            {
                var tsn = f.Tsn;
                Release(list, i, 1);

                // The rest of the same message goes too.
                while (i < list.Count && list[i].Tsn == tsn + 1 && (list[i].Flags & DataChunk.BeginningFlag) == 0)
                {
                    tsn = list[i].Tsn;
                    var ends = (list[i].Flags & DataChunk.EndingFlag) != 0;
                    Release(list, i, 1);
                    if (ends)
                    {
                        break;
                    }
                }

                hasPreviousKept = false;
                continue;
            }

            previousKeptTsn = f.Tsn;
            previousKeptEnds = (f.Flags & DataChunk.EndingFlag) != 0;
            hasPreviousKept = true;
            i++;
        }
    }

    /// <summary>Incoming stream reset (RFC 6525 §5.2.2): SSN back to 0, leftovers dropped.</summary>
    public void ResetStream(ushort streamId)
    {
        if (_streams.TryGetValue(streamId, out var stream))
        {
            Release(stream.Ordered, 0, stream.Ordered.Count);
            Release(stream.Unordered, 0, stream.Unordered.Count);
            stream.NextSsn = 0;
        }
    }

    /// <summary>Resets every stream we have seen (a reset request that lists no streams).</summary>
    public ushort[] ResetAllStreams()
    {
        var ids = _streams.Keys.ToArray();
        foreach (var id in ids)
        {
            ResetStream(id);
        }

        return ids;
    }

    /// <summary>Returns every pooled buffer (association ended).</summary>
    public void Clear()
    {
        foreach (var stream in _streams.Values)
        {
            Release(stream.Ordered, 0, stream.Ordered.Count);
            Release(stream.Unordered, 0, stream.Unordered.Count);
        }

        _streams.Clear();
    }

    /// <summary>What is held, for test failure messages: stream, TSN, SSN and B/E flags of each fragment.</summary>
    public string Describe()
    {
        var text = new System.Text.StringBuilder();
        foreach (var (id, stream) in _streams)
        {
            foreach (var (list, kind) in new[] { (stream.Ordered, "o"), (stream.Unordered, "u") })
            {
                for (var i = 0; i < list.Count; i++)
                {
                    ref var f = ref list[i];
                    text.Append($"[s{id}{kind} tsn {f.Tsn} ssn {f.Ssn} next {stream.NextSsn} {((f.Flags & DataChunk.BeginningFlag) != 0 ? "B" : "")}{((f.Flags & DataChunk.EndingFlag) != 0 ? "E" : "")} {f.Length}b] ");
                }
            }
        }

        return text.ToString();
    }

    private InboundStream GetStream(ushort id)
    {
        if (!_streams.TryGetValue(id, out var stream))
        {
            stream = new InboundStream();
            _streams.Add(id, stream);
        }

        return stream;
    }

    private Fragment Store(in DataChunk chunk)
    {
        var length = chunk.UserData.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        chunk.UserData.CopyTo(buffer);
        BufferedBytes += length;
        return new Fragment(chunk.Tsn, chunk.StreamId, chunk.StreamSequenceNumber, chunk.Flags, chunk.PayloadProtocolIdentifier, buffer, length);
    }

    private void DeliverOrdered(InboundStream stream)
    {
        var list = stream.Ordered;
        while (list.Count > 0)
        {
            if (SerialNumber.Lt(list[0].Ssn, stream.NextSsn))
            {
                Release(list, 0, 1); // stale: cannot be delivered any more
                continue;
            }

            if (list[0].Ssn != stream.NextSsn || !TryDeliverOrderedHead(stream, stream.NextSsn))
            {
                return;
            }

            stream.NextSsn++;
        }
    }

    /// <summary>Delivers the message at the head of the ordered list if it is complete and has SSN <paramref name="ssn"/>.</summary>
    private bool TryDeliverOrderedHead(InboundStream stream, ushort ssn)
    {
        var list = stream.Ordered;
        ref var head = ref list[0];
        if ((head.Flags & DataChunk.BeginningFlag) == 0 || head.Ssn != ssn)
        {
            return false;
        }

        long total = 0;
        for (var i = 0; i < list.Count; i++)
        {
            ref var f = ref list[i];
            if (f.Tsn != head.Tsn + (uint)i || f.Ssn != ssn || (i > 0 && (f.Flags & DataChunk.BeginningFlag) != 0))
            {
                return false;
            }

            total += f.Length;
            if (total > _maxMessageSize)
            {
                Oversized = true;
                return false;
            }

            if ((f.Flags & DataChunk.EndingFlag) != 0)
            {
                Assemble(list, 0, i + 1, (int)total, false);
                return true;
            }
        }

        return false;
    }

    private void TryDeliverUnordered(InboundStream stream, int index)
    {
        var list = stream.Unordered;
        var start = index;
        while ((list[start].Flags & DataChunk.BeginningFlag) == 0 && start > 0 && list[start - 1].Tsn == list[start].Tsn - 1)
        {
            start--;
        }

        if ((list[start].Flags & DataChunk.BeginningFlag) == 0)
        {
            return;
        }

        long total = list[start].Length;
        var end = start;
        while ((list[end].Flags & DataChunk.EndingFlag) == 0)
        {
            if (end + 1 >= list.Count || list[end + 1].Tsn != list[end].Tsn + 1 || (list[end + 1].Flags & DataChunk.BeginningFlag) != 0)
            {
                if (total > _maxMessageSize)
                {
                    Oversized = true;
                }

                return;
            }

            end++;
            total += list[end].Length;
        }

        if (total > _maxMessageSize)
        {
            Oversized = true;
            return;
        }

        Assemble(list, start, end - start + 1, (int)total, true);
    }

    private void Assemble(FragmentList list, int start, int count, int total, bool unordered)
    {
        var payload = new byte[total];
        var offset = 0;
        for (var i = start; i < start + count; i++)
        {
            ref var f = ref list[i];
            f.Buffer.AsSpan(0, f.Length).CopyTo(payload.AsSpan(offset));
            offset += f.Length;
        }

        var streamId = list[start].StreamId;
        var ppid = list[start].Ppid;
        Release(list, start, count);
        _deliver(streamId, ppid, payload, unordered);
    }

    private void Release(FragmentList list, int start, int count)
    {
        for (var i = start; i < start + count; i++)
        {
            ref var f = ref list[i];
            BufferedBytes -= f.Length;
            ArrayPool<byte>.Shared.Return(f.Buffer);
        }

        list.RemoveRange(start, count);
    }

    private sealed class InboundStream
    {
        public ushort NextSsn;
        public readonly FragmentList Ordered = new();
        public readonly FragmentList Unordered = new();
    }

    private struct Fragment(uint tsn, ushort streamId, ushort ssn, byte flags, uint ppid, byte[] buffer, int length)
    {
        public uint Tsn = tsn;
        public ushort StreamId = streamId;
        public ushort Ssn = ssn;
        public byte Flags = flags;
        public uint Ppid = ppid;
        public byte[] Buffer = buffer;
        public int Length = length;
    }

    /// <summary>Fragments sorted by TSN in a growable array; inserts are usually appends.</summary>
    private sealed class FragmentList
    {
        private Fragment[] _items = new Fragment[4];

        public int Count { get; private set; }

        public ref Fragment this[int index] => ref _items[index];

        public int Insert(Fragment fragment)
        {
            if (Count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            var i = Count;
            while (i > 0 && SerialNumber.Gt(_items[i - 1].Tsn, fragment.Tsn))
            {
                i--;
            }

            Array.Copy(_items, i, _items, i + 1, Count - i);
            _items[i] = fragment;
            Count++;
            return i;
        }

        public void RemoveRange(int start, int count)
        {
            Array.Copy(_items, start + count, _items, start, Count - start - count);
            Count -= count;
            Array.Clear(_items, Count, count);
        }
    }
}
