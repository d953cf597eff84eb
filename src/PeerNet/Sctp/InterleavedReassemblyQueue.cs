using System.Buffers;

namespace PeerNet.Sctp;

/// <summary>
/// Receive-side reassembly for I-DATA (RFC 8260 §2.2.3): fragments are found by stream, U bit and
/// MID, and put together by FSN, never by TSN, since the sender interleaves messages of different
/// streams. Ordered messages are delivered in MID order per stream, unordered ones once complete.
/// Fragments live in pooled buffers; a complete single-fragment message that may be delivered goes
/// straight into its payload. The owner bounds memory (it refuses data beyond its advertised window)
/// and aborts when a message grows past the max message size (<see cref="Oversized"/>).
/// </summary>
internal sealed class InterleavedReassemblyQueue
{
    private readonly Dictionary<int, InboundStream> _streams = [];
    private readonly Stack<PartialMessage> _messagePool = new();
    private readonly int _maxMessageSize;
    private readonly Action<ushort, uint, byte[], bool> _deliver;

    public InterleavedReassemblyQueue(int maxMessageSize, Action<ushort, uint, byte[], bool> deliver)
    {
        _maxMessageSize = maxMessageSize;
        _deliver = deliver;
    }

    /// <summary>User data bytes held in fragments.</summary>
    public long BufferedBytes { get; private set; }

    /// <summary>Set when a message exceeded the max message size; the association aborts.</summary>
    public bool Oversized { get; private set; }

    /// <summary>
    /// Adds one fragment. The caller has checked the TSN is new and that a fragment without the B bit
    /// does not claim FSN 0 (which belongs to the first fragment).
    /// </summary>
    public void Add(in IDataChunk chunk)
    {
        var unordered = chunk.Unordered;
        var stream = GetStream(chunk.StreamId, unordered);
        var mid = chunk.MessageIdentifier;
        if (unordered ? stream.HasSkipped && SerialNumber.Lte(mid, stream.SkippedMid) : SerialNumber.Lt(mid, stream.NextMid))
        {
            return; // delivered or skipped already: a stale fragment under a new TSN
        }

        var complete = chunk.Beginning && chunk.Ending;
        if (complete && !stream.Messages.ContainsKey(mid) && (unordered || mid == stream.NextMid))
        {
            if (!unordered)
            {
                stream.NextMid++;
            }

            _deliver(chunk.StreamId, chunk.PayloadProtocolIdentifier, chunk.UserData.ToArray(), unordered);
            if (!unordered)
            {
                DeliverOrdered(stream);
            }

            return;
        }

        if (!stream.Messages.TryGetValue(mid, out var message))
        {
            message = _messagePool.Count > 0 ? _messagePool.Pop() : new PartialMessage();
            stream.Messages.Add(mid, message);
        }

        if (!message.TryAdd(chunk, this))
        {
            return; // duplicate FSN, or contradicts the fragments held (hostile): ignored
        }

        if (message.Bytes > _maxMessageSize)
        {
            Oversized = true;
            return;
        }

        if (unordered)
        {
            if (message.IsComplete)
            {
                stream.Messages.Remove(mid);
                Assemble(chunk.StreamId, true, message);
            }
        }
        else if (mid == stream.NextMid)
        {
            DeliverOrdered(stream);
        }
    }

    /// <summary>
    /// I-FORWARD-TSN (RFC 8260 §2.3.1, RFC 3758 §3.6): on each listed stream, ordered messages up to
    /// the MID are delivered if complete, dropped otherwise, and the expected MID moves past it;
    /// unordered messages up to the MID are dropped, and later copies of their fragments too.
    /// </summary>
    public void HandleForwardTsn(in IForwardTsnChunk forwardTsn)
    {
        for (var k = 0; k < forwardTsn.StreamCount && !Oversized; k++)
        {
            var entry = forwardTsn.GetStream(k);
            var stream = GetStream(entry.StreamId, entry.Unordered);
            var skipped = entry.MessageIdentifier;
            if (entry.Unordered)
            {
                foreach (var (mid, message) in stream.Messages)
                {
                    if (SerialNumber.Lte(mid, skipped))
                    {
                        stream.Messages.Remove(mid);
                        Release(message);
                    }
                }

                if (!stream.HasSkipped || SerialNumber.Gt(skipped, stream.SkippedMid))
                {
                    stream.HasSkipped = true;
                    stream.SkippedMid = skipped;
                }

                continue;
            }

            if (SerialNumber.Lt(skipped, stream.NextMid))
            {
                continue; // old news
            }

            // Held messages up to the skipped MID, oldest first: complete ones still go to the user.
            while (TryFindOldest(stream, skipped, out var mid, out var message))
            {
                stream.Messages.Remove(mid);
                if (message.IsComplete)
                {
                    Assemble(stream.Id, false, message);
                }
                else
                {
                    Release(message);
                }
            }

            stream.NextMid = skipped + 1;
            DeliverOrdered(stream);
        }
    }

    /// <summary>Incoming stream reset (RFC 6525 §5.2.2, RFC 8260 §2.3.2): both MIDs back to 0, leftovers dropped.</summary>
    public void ResetStream(ushort streamId)
    {
        Reset(Key(streamId, false));
        Reset(Key(streamId, true));
    }

    /// <summary>Resets every stream we have seen (a reset request that lists no streams).</summary>
    public void ResetAllStreams()
    {
        foreach (var key in _streams.Keys)
        {
            Reset(key);
        }
    }

    /// <summary>Returns every pooled buffer (association ended).</summary>
    public void Clear()
    {
        foreach (var stream in _streams.Values)
        {
            foreach (var message in stream.Messages.Values)
            {
                Release(message);
            }
        }

        _streams.Clear();
    }

    /// <summary>What is held, for test failure messages: stream, U, MID and FSNs of each partial message.</summary>
    public string Describe()
    {
        var text = new System.Text.StringBuilder();
        foreach (var stream in _streams.Values)
        {
            foreach (var (mid, message) in stream.Messages)
            {
                text.Append($"[s{stream.Id}{(stream.Unordered ? "u" : "o")} mid {mid} next {stream.NextMid} {message.Describe()}] ");
            }
        }

        return text.ToString();
    }

    private static int Key(ushort streamId, bool unordered) => (streamId << 1) | (unordered ? 1 : 0);

    private InboundStream GetStream(ushort id, bool unordered)
    {
        var key = Key(id, unordered);
        if (!_streams.TryGetValue(key, out var stream))
        {
            stream = new InboundStream(id, unordered);
            _streams.Add(key, stream);
        }

        return stream;
    }

    private void Reset(int key)
    {
        if (_streams.TryGetValue(key, out var stream))
        {
            foreach (var message in stream.Messages.Values)
            {
                Release(message);
            }

            stream.Messages.Clear();
            stream.NextMid = 0;
            stream.HasSkipped = false;
            stream.SkippedMid = 0;
        }
    }

    private void DeliverOrdered(InboundStream stream)
    {
        while (stream.Messages.TryGetValue(stream.NextMid, out var message) && message.IsComplete)
        {
            stream.Messages.Remove(stream.NextMid);
            stream.NextMid++;
            Assemble(stream.Id, false, message);
        }
    }

    /// <summary>The held message with the lowest MID at or below <paramref name="limit"/> (MIDs from NextMid on).</summary>
    private static bool TryFindOldest(InboundStream stream, uint limit, out uint mid, out PartialMessage message)
    {
        mid = 0;
        message = null!;
        var found = false;
        foreach (var (m, pm) in stream.Messages)
        {
            if (SerialNumber.Lte(m, limit) && (!found || SerialNumber.Lt(m, mid)))
            {
                mid = m;
                message = pm;
                found = true;
            }
        }

        return found;
    }

    private void Assemble(ushort streamId, bool unordered, PartialMessage message)
    {
        var payload = message.Assemble();
        var ppid = message.Ppid;
        Release(message);
        _deliver(streamId, ppid, payload, unordered);
    }

    private void Release(PartialMessage message)
    {
        BufferedBytes -= message.Bytes;
        message.Clear();
        _messagePool.Push(message);
    }

    private sealed class InboundStream(ushort id, bool unordered)
    {
        public readonly ushort Id = id;
        public readonly bool Unordered = unordered;
        public readonly Dictionary<uint, PartialMessage> Messages = [];

        /// <summary>Ordered: the MID delivered next.</summary>
        public uint NextMid;

        /// <summary>Unordered: I-FORWARD-TSN skipped every MID up to <see cref="SkippedMid"/>.</summary>
        public bool HasSkipped;
        public uint SkippedMid;
    }

    /// <summary>
    /// The fragments of one message held so far, sorted by FSN. Complete when the first (B, FSN 0) and
    /// the last (E) are here and every FSN between: with duplicates refused and no FSN beyond the last,
    /// that is a count of last FSN + 1.
    /// </summary>
    private sealed class PartialMessage
    {
        private Fragment[] _fragments = new Fragment[4];

        public int Count { get; private set; }

        public long Bytes { get; private set; }

        public uint Ppid { get; private set; }

        private bool _hasBeginning;
        private bool _hasEnd;
        private uint _endFsn;

        public bool IsComplete => _hasBeginning && _hasEnd && (uint)Count == _endFsn + 1;

        public bool TryAdd(in IDataChunk chunk, InterleavedReassemblyQueue owner)
        {
            var fsn = chunk.FragmentSequenceNumber;
            if ((_hasEnd && fsn > _endFsn) || (chunk.Ending && Count > 0 && _fragments[Count - 1].Fsn > fsn))
            {
                return false; // a fragment past the end of the message
            }

            var i = Count;
            while (i > 0 && _fragments[i - 1].Fsn > fsn)
            {
                i--;
            }

            if (i > 0 && _fragments[i - 1].Fsn == fsn)
            {
                return false; // same fragment under another TSN
            }

            if (Count == _fragments.Length)
            {
                Array.Resize(ref _fragments, _fragments.Length * 2);
            }

            var length = chunk.UserData.Length;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            chunk.UserData.CopyTo(buffer);
            Array.Copy(_fragments, i, _fragments, i + 1, Count - i);
            _fragments[i] = new Fragment(fsn, buffer, length);
            Count++;
            Bytes += length;
            owner.BufferedBytes += length;
            if (chunk.Beginning)
            {
                _hasBeginning = true;
                Ppid = chunk.PayloadProtocolIdentifier;
            }

            if (chunk.Ending)
            {
                _hasEnd = true;
                _endFsn = fsn;
            }

            return true;
        }

        public byte[] Assemble()
        {
            var payload = new byte[Bytes];
            var offset = 0;
            for (var i = 0; i < Count; i++)
            {
                ref var f = ref _fragments[i];
                f.Buffer.AsSpan(0, f.Length).CopyTo(payload.AsSpan(offset));
                offset += f.Length;
            }

            return payload;
        }

        public void Clear()
        {
            for (var i = 0; i < Count; i++)
            {
                ArrayPool<byte>.Shared.Return(_fragments[i].Buffer);
                _fragments[i] = default;
            }

            Count = 0;
            Bytes = 0;
            Ppid = 0;
            _hasBeginning = _hasEnd = false;
            _endFsn = 0;
        }

        public string Describe()
        {
            var text = new System.Text.StringBuilder();
            text.Append(_hasBeginning ? "B " : "").Append(_hasEnd ? $"E{_endFsn} " : "").Append("fsn");
            for (var i = 0; i < Count; i++)
            {
                text.Append(' ').Append(_fragments[i].Fsn);
            }

            return text.Append($" {Bytes}b").ToString();
        }

        private readonly record struct Fragment(uint Fsn, byte[] Buffer, int Length);
    }
}
