using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// The buffers of one <see cref="TurnUdpEventLoop"/> thread: a fixed number of slots that
/// <c>recvmmsg</c> fills (datagram, source address, and a response area beside each), and a queue of
/// datagrams to send that <see cref="Flush"/> hands to the kernel with one <c>sendmmsg</c> per run of
/// datagrams leaving the same socket, equal-sized datagrams of one flow joined into one segmented
/// send (Linux UDP generic segmentation offload: the kernel cuts it into the same datagrams,
/// after one trip down the stack instead of one each). Slots stay untouched until the flush, so queued sends can point
/// into them (a relayed payload is sent from where it was received). Native memory, allocated once:
/// nothing is allocated per datagram. Used by one thread only.
/// </summary>
internal sealed unsafe class TurnDatagramBatch : IDisposable
{
    /// <summary>Room for a response beside each slot (<see cref="TurnServer.ResponseBufferLength"/>).</summary>
    public const int ResponseLength = TurnServer.ResponseBufferLength;

    private const int NameStride = 32;

    // How many of the newest groups a queued datagram may join (enough for the flows of one burst).
    private const int GroupSearch = 16;

    private readonly int _capacity;
    private readonly int _slotLength;
    private readonly int _slotStride;
    private readonly nuint _totalLength;
    private readonly int[] _dataOffsets;

    // Queued datagrams, and the chain of each group (-1 ends it).
    private readonly SafeSocketHandle?[] _sendHandles;
    private readonly object?[] _sendContexts;
    private readonly StunAddress[] _sendTo;
    private readonly int[] _sendNameLengths;
    private readonly int[] _sendNext;

    // Groups: datagrams of one flow that can leave as one segmented send.
    private readonly SafeSocketHandle?[] _groupHandles;
    private readonly int[] _groupHeads;
    private readonly int[] _groupTails;
    private readonly int[] _groupCounts;
    private readonly int[] _groupBytes;
    private readonly int[] _groupSegments;
    private readonly bool[] _groupClosed;

    // Messages as handed to sendmmsg: a group or a lone datagram each.
    private readonly SafeSocketHandle?[] _messageHandles;
    private readonly int[] _messageFirst;
    private readonly bool[] _messageSegmented;

    private readonly int[] _failedIndex;
    private readonly int[] _failedError;

    private byte* _memory;
    private byte* _slots;
    private byte* _responses;
    private byte* _receiveNames;
    private byte* _sendNames;
    private byte* _controls;
    private TurnUdpNative.MultiMessageHeader* _receiveHeaders;
    private TurnUdpNative.MultiMessageHeader* _messages;
    private TurnUdpNative.IoVector* _receiveVectors;
    private TurnUdpNative.IoVector* _sendVectors;
    private TurnUdpNative.IoVector* _messageVectors;
    private int _used;
    private int _sendCount;
    private int _groupCount;
    private bool _segmentation;
    private int _segmentLimit = ushort.MaxValue;

    /// <param name="capacity">Datagrams held between flushes.</param>
    /// <param name="slotLength">Bytes per slot: the largest data offset plus datagram length a receive asks for.</param>
    /// <param name="segmentation">Whether equal-sized datagrams of one flow may leave as one segmented send (UDP_SEGMENT).</param>
    public TurnDatagramBatch(int capacity, int slotLength, bool segmentation = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotLength, 1);
        _capacity = capacity;
        _slotLength = slotLength;

        // Slots a whole number of cache lines apart, plus one, so equal offsets in successive slots
        // do not all fall into the same cache sets.
        _slotStride = ((slotLength + 63) & ~63) + 64;
        var slots = (nuint)_slotStride * (nuint)capacity;
        var responses = (nuint)(ResponseLength + 64) * (nuint)capacity;
        var names = (nuint)(NameStride * capacity);
        var headers = (nuint)(sizeof(TurnUdpNative.MultiMessageHeader) * capacity);
        var vectors = (nuint)(sizeof(TurnUdpNative.IoVector) * capacity);
        var controls = (nuint)(TurnUdpNative.SegmentControlSpace * capacity);
        _totalLength = slots + responses + (2 * names) + controls + (2 * headers) + (3 * vectors);
        _memory = (byte*)NativeMemory.AlignedAlloc(_totalLength, 64);
        var p = _memory;
        _slots = p;
        p += slots;
        _responses = p;
        p += responses;
        _receiveNames = p;
        p += names;
        _sendNames = p;
        p += names;
        _controls = p;
        p += controls;
        _receiveHeaders = (TurnUdpNative.MultiMessageHeader*)p;
        p += headers;
        _messages = (TurnUdpNative.MultiMessageHeader*)p;
        p += headers;
        _receiveVectors = (TurnUdpNative.IoVector*)p;
        p += vectors;
        _sendVectors = (TurnUdpNative.IoVector*)p;
        p += vectors;
        _messageVectors = (TurnUdpNative.IoVector*)p;
        new Span<byte>(_receiveHeaders, (int)(2 * headers)).Clear();
        _segmentation = segmentation && TurnUdpNative.IsSupported;

        _dataOffsets = new int[capacity];
        _sendHandles = new SafeSocketHandle?[capacity];
        _sendContexts = new object?[capacity];
        _sendTo = new StunAddress[capacity];
        _sendNameLengths = new int[capacity];
        _sendNext = new int[capacity];
        _groupHandles = new SafeSocketHandle?[capacity];
        _groupHeads = new int[capacity];
        _groupTails = new int[capacity];
        _groupCounts = new int[capacity];
        _groupBytes = new int[capacity];
        _groupSegments = new int[capacity];
        _groupClosed = new bool[capacity];
        _messageHandles = new SafeSocketHandle?[capacity];
        _messageFirst = new int[capacity];
        _messageSegmented = new bool[capacity];
        _failedIndex = new int[capacity];
        _failedError = new int[capacity];
    }

    /// <summary>Datagrams held between flushes.</summary>
    public int Capacity => _capacity;

    /// <summary>Bytes per slot.</summary>
    public int SlotLength => _slotLength;

    /// <summary>Slots filled since the last flush.</summary>
    public int Used => _used;

    /// <summary>Slots still free before a flush is needed.</summary>
    public int Free => _capacity - _used;

    /// <summary>Datagrams queued to send.</summary>
    public int PendingSends => _sendCount;

    /// <summary>Whether equal-sized datagrams of one flow still leave as one segmented send (off after the kernel refused it).</summary>
    public bool Segmentation => _segmentation;

    /// <summary>
    /// Receives up to <paramref name="max"/> waiting datagrams from <paramref name="handle"/> without
    /// blocking, each into the next free slot at <paramref name="dataOffset"/> with room for
    /// <paramref name="maxLength"/> bytes (a longer datagram is cut and flagged
    /// <see cref="IsTruncated"/>). Returns how many, 0 when none was waiting, or -errno.
    /// </summary>
    public int Receive(SafeSocketHandle handle, int dataOffset, int maxLength, int max)
    {
        ObjectDisposedException.ThrowIf(_memory == null, this);
        if (dataOffset < 0 || maxLength < 0 || dataOffset + maxLength > _slotLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), "The datagram does not fit in a slot.");
        }

        var count = Math.Min(max, Free);
        if (count <= 0)
        {
            return 0;
        }

        var first = _used;
        for (var i = first; i < first + count; i++)
        {
            var vector = _receiveVectors + i;
            vector->Base = Slot(i) + dataOffset;
            vector->Length = (nuint)maxLength;
            var header = _receiveHeaders + i;
            header->Name = _receiveNames + (i * NameStride);
            header->NameLength = TurnUdpNative.SocketAddressLength;
            header->Vectors = vector;
            header->VectorCount = 1;
            header->Control = null;
            header->ControlLength = 0;
            header->Flags = 0;
            header->Length = 0;
        }

        var added = false;
        int received;
        try
        {
            handle.DangerousAddRef(ref added);
            received = TurnUdpNative.ReceiveMessages((int)handle.DangerousGetHandle(), _receiveHeaders + first, (uint)count, TurnUdpNative.MsgDontWait, null);
        }
        catch (ObjectDisposedException)
        {
            return 0; // the socket was closed meanwhile
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        if (received < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            return error == TurnUdpNative.EAGAIN ? 0 : -error;
        }

        for (var i = first; i < first + received; i++)
        {
            _dataOffsets[i] = dataOffset;
        }

        _used += received;
        return received;
    }

    /// <summary>The whole slot of datagram <paramref name="index"/> (the datagram is at <see cref="DataOffset"/>).</summary>
    public Span<byte> GetSlot(int index) => new(Slot(Check(index)), _slotLength);

    /// <summary>Where in its slot datagram <paramref name="index"/> starts.</summary>
    public int DataOffset(int index) => _dataOffsets[Check(index)];

    /// <summary>The received length of datagram <paramref name="index"/> (cut to the room given when truncated).</summary>
    public int Length(int index) => (int)_receiveHeaders[Check(index)].Length;

    /// <summary>Whether datagram <paramref name="index"/> was longer than the room given (MSG_TRUNC).</summary>
    public bool IsTruncated(int index) => (_receiveHeaders[Check(index)].Flags & TurnUdpNative.MsgTrunc) != 0;

    /// <summary>Datagram <paramref name="index"/>'s bytes.</summary>
    public Span<byte> GetDatagram(int index) => GetSlot(index).Slice(DataOffset(index), Length(index));

    /// <summary>The sender of datagram <paramref name="index"/>; false for an address family STUN cannot express.</summary>
    public bool TryGetSource(int index, out StunAddress source)
    {
        var header = _receiveHeaders + Check(index);
        var length = Math.Min((int)header->NameLength, TurnUdpNative.SocketAddressLength);
        return TurnUdpNative.TryReadSocketAddress(new ReadOnlySpan<byte>(header->Name, length), out source);
    }

    /// <summary>A response area of <see cref="ResponseLength"/> bytes that belongs to datagram <paramref name="index"/>'s slot.</summary>
    public Span<byte> GetResponse(int index) => new(_responses + ((nint)Check(index) * (ResponseLength + 64)), ResponseLength);

    /// <summary>
    /// Queues <paramref name="data"/> (which must lie in this batch's slots or response areas) to be
    /// sent from <paramref name="handle"/> to <paramref name="to"/> at the next <see cref="Flush"/>.
    /// <paramref name="context"/> comes back with a failure. False when the queue is full or the
    /// address is unusable.
    /// </summary>
    public bool QueueSend(SafeSocketHandle handle, ReadOnlySpan<byte> data, in StunAddress to, object? context)
    {
        ObjectDisposedException.ThrowIf(_memory == null, this);
        var pointer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(data));
        if (pointer < _slots || pointer + data.Length > _receiveNames)
        {
            throw new ArgumentException("The data must lie in the batch's slots or response areas.", nameof(data));
        }

        if (_sendCount == _capacity)
        {
            return false;
        }

        var i = _sendCount;
        var name = _sendNames + (i * NameStride);
        var nameLength = TurnUdpNative.WriteSocketAddress(to, new Span<byte>(name, NameStride));
        if (nameLength == 0)
        {
            return false;
        }

        _sendVectors[i].Base = pointer;
        _sendVectors[i].Length = (nuint)data.Length;
        _sendNameLengths[i] = nameLength;
        _sendHandles[i] = handle;
        _sendContexts[i] = context;
        _sendTo[i] = to;
        _sendNext[i] = -1;
        _sendCount++;
        Group(i, handle, to, data.Length);
        return true;
    }

    /// <summary>
    /// Sends every queued datagram without blocking: datagrams of one flow (socket and destination)
    /// of equal size go as one segmented send (UDP_SEGMENT, when the kernel takes it), and the sends
    /// leaving one socket in a row go in one <c>sendmmsg</c> (<c>sendto</c> for a lone datagram). A
    /// datagram the kernel refuses is reported to <paramref name="failures"/> (after the socket is let
    /// go, so the callback may take locks) and the rest still go. Then every slot is free again.
    /// Datagrams of one flow leave in the order they were queued.
    /// </summary>
    public void Flush(ITurnUdpHandler? failures)
    {
        ObjectDisposedException.ThrowIf(_memory == null, this);
        var messages = BuildMessages();
        var failed = 0;
        var start = 0;
        while (start < messages)
        {
            var handle = _messageHandles[start]!;
            var end = start + 1;
            while (end < messages && ReferenceEquals(_messageHandles[end], handle))
            {
                end++;
            }

            failed = SendRun(handle, start, end, failed);
            start = end;
        }

        for (var f = 0; f < failed; f++)
        {
            var i = _failedIndex[f];
            failures?.HandleSendFailure(_sendContexts[i], _sendTo[i], _failedError[f]);
        }

        Clear();
    }

    /// <summary>Forgets what was received and queued without sending it.</summary>
    public void Clear()
    {
        Array.Clear(_sendHandles, 0, _sendCount);
        Array.Clear(_sendContexts, 0, _sendCount);
        Array.Clear(_messageHandles, 0, _sendCount);
        _sendCount = 0;
        _groupCount = 0;
        _used = 0;
    }

    public void Dispose()
    {
        if (_memory != null)
        {
            NativeMemory.AlignedFree(_memory);
            _memory = null;
            _slots = _responses = _receiveNames = _sendNames = _controls = null;
            _receiveHeaders = _messages = null;
            _receiveVectors = _sendVectors = _messageVectors = null;
        }
    }

    // Joins datagram i to the newest group of its flow when it can extend it (segments of one size,
    // the last may be shorter), else opens a group. Only the newest group of a flow is looked at, so
    // the flow's order is kept; only the last few groups are searched, so queueing stays cheap.
    private void Group(int i, SafeSocketHandle handle, in StunAddress to, int length)
    {
        var oldest = Math.Max(0, _groupCount - GroupSearch);
        for (var g = _groupCount - 1; g >= oldest; g--)
        {
            if (!ReferenceEquals(_groupHandles[g], handle) || _sendTo[_groupHeads[g]] != to)
            {
                continue;
            }

            if (_segmentation && !_groupClosed[g] && length <= _groupSegments[g] && length > 0 && _groupSegments[g] <= _segmentLimit
                && _groupCounts[g] < TurnUdpNative.MaxSegments && _groupBytes[g] + length <= TurnUdpNative.MaxSegmentedBytes)
            {
                _sendNext[_groupTails[g]] = i;
                _groupTails[g] = i;
                _groupCounts[g]++;
                _groupBytes[g] += length;
                _groupClosed[g] = length < _groupSegments[g];
                return;
            }

            break;
        }

        var n = _groupCount++;
        _groupHandles[n] = handle;
        _groupHeads[n] = _groupTails[n] = i;
        _groupCounts[n] = 1;
        _groupBytes[n] = _groupSegments[n] = length;
        _groupClosed[n] = length == 0;
    }

    // Lays the groups out as messages: one segmented message per group of two or more, else one
    // message per datagram; messages leaving one socket end up next to each other when their groups are.
    private int BuildMessages()
    {
        var m = 0;
        var v = 0;
        for (var g = 0; g < _groupCount; g++)
        {
            var head = _groupHeads[g];
            if (_groupCounts[g] >= 2)
            {
                var header = _messages + m;
                *header = default;
                header->Name = _sendNames + (head * NameStride);
                header->NameLength = (uint)_sendNameLengths[head];
                header->Vectors = _messageVectors + v;
                header->VectorCount = (nuint)_groupCounts[g];
                var control = (TurnUdpNative.SegmentControl*)(_controls + (m * TurnUdpNative.SegmentControlSpace));
                control->Length = TurnUdpNative.SegmentControlLength;
                control->Level = TurnUdpNative.SolUdp;
                control->Type = TurnUdpNative.UdpSegment;
                control->SegmentSize = (ushort)_groupSegments[g];
                header->Control = control;
                header->ControlLength = TurnUdpNative.SegmentControlSpace;
                for (var i = head; i >= 0; i = _sendNext[i])
                {
                    _messageVectors[v++] = _sendVectors[i];
                }

                _messageHandles[m] = _groupHandles[g];
                _messageFirst[m] = head;
                _messageSegmented[m] = true;
                m++;
                continue;
            }

            for (var i = head; i >= 0; i = _sendNext[i])
            {
                var header = _messages + m;
                *header = default;
                header->Name = _sendNames + (i * NameStride);
                header->NameLength = (uint)_sendNameLengths[i];
                header->Vectors = _sendVectors + i;
                header->VectorCount = 1;
                _messageHandles[m] = _groupHandles[g];
                _messageFirst[m] = i;
                _messageSegmented[m] = false;
                m++;
            }
        }

        return m;
    }

    private int SendRun(SafeSocketHandle handle, int start, int end, int failed)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            var m = start;
            while (m < end)
            {
                int sent;
                if (end - m == 1 && !_messageSegmented[m])
                {
                    sent = SendOne(fd, _messageFirst[m]) ? 1 : -1;
                }
                else
                {
                    sent = TurnUdpNative.SendMessages(fd, _messages + m, (uint)(end - m), TurnUdpNative.MsgDontWait);
                }

                if (sent > 0)
                {
                    m += sent;
                    continue;
                }

                var error = Marshal.GetLastPInvokeError();
                if (error == TurnUdpNative.EINTR)
                {
                    continue;
                }

                if (_messageSegmented[m])
                {
                    // The kernel would not take the segmented send (no UDP_SEGMENT here, a device
                    // without checksum offload, segments over the path MTU, or whatever befell the
                    // flow): its datagrams go one by one, each failing on its own if it must.
                    if (error is TurnUdpNative.EIO or TurnUdpNative.ENOPROTOOPT or TurnUdpNative.EOPNOTSUPP)
                    {
                        _segmentation = false;
                    }
                    else if (error is TurnUdpNative.EINVAL or TurnUdpNative.EMSGSIZE)
                    {
                        // Segments this large do not fit the route's MTU: do not try that size again.
                        _segmentLimit = Math.Min(_segmentLimit, (int)_sendVectors[_messageFirst[m]].Length - 1);
                    }

                    for (var i = _messageFirst[m]; i >= 0; i = _sendNext[i])
                    {
                        failed = SendOneOrRecord(fd, i, failed);
                    }
                }
                else
                {
                    // This datagram is refused (a full send buffer, an unreachable or forbidden
                    // destination): it is lost, like any UDP datagram, and the next ones still go.
                    failed = Record(_messageFirst[m], error, failed);
                }

                m++;
            }
        }
        catch (ObjectDisposedException)
        {
            // The socket was closed since the datagrams were queued (its allocation was deleted).
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return failed;
    }

    private bool SendOne(int fd, int i)
    {
        while (true)
        {
            if (TurnUdpNative.SendTo(fd, _sendVectors[i].Base, _sendVectors[i].Length, TurnUdpNative.MsgDontWait, _sendNames + (i * NameStride), (uint)_sendNameLengths[i]) >= 0)
            {
                return true;
            }

            if (Marshal.GetLastPInvokeError() != TurnUdpNative.EINTR)
            {
                return false;
            }
        }
    }

    private int SendOneOrRecord(int fd, int i, int failed) => SendOne(fd, i) ? failed : Record(i, Marshal.GetLastPInvokeError(), failed);

    private int Record(int i, int error, int failed)
    {
        _failedIndex[failed] = i;
        _failedError[failed] = error;
        return failed + 1;
    }

    private byte* Slot(int index) => _slots + ((nint)index * _slotStride);

    private int Check(int index)
    {
        ObjectDisposedException.ThrowIf(_memory == null, this);
        if ((uint)index >= (uint)_used)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        return index;
    }
}
