using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// The buffers of one <see cref="TurnUdpEventLoop"/> thread: a fixed number of slots that
/// <c>recvmmsg</c> fills (datagram, source address, and a response area beside each), and a queue of
/// datagrams to send that <see cref="Flush"/> hands to the kernel with one <c>sendmmsg</c> per run of
/// datagrams leaving the same socket. Slots stay untouched until the flush, so queued sends can point
/// into them (a relayed payload is sent from where it was received). Native memory, allocated once:
/// nothing is allocated per datagram. Used by one thread only.
/// </summary>
internal sealed unsafe class TurnDatagramBatch : IDisposable
{
    /// <summary>Room for a response beside each slot (<see cref="TurnServer.ResponseBufferLength"/>).</summary>
    public const int ResponseLength = TurnServer.ResponseBufferLength;

    private const int NameStride = 32;

    private readonly int _capacity;
    private readonly int _slotLength;
    private readonly int _slotStride;
    private readonly nuint _totalLength;
    private readonly int[] _dataOffsets;
    private readonly SafeSocketHandle?[] _sendHandles;
    private readonly object?[] _sendContexts;
    private readonly StunAddress[] _sendTo;
    private readonly int[] _failedIndex;
    private readonly int[] _failedError;

    private byte* _memory;
    private byte* _slots;
    private byte* _responses;
    private byte* _receiveNames;
    private byte* _sendNames;
    private TurnUdpNative.MultiMessageHeader* _receiveHeaders;
    private TurnUdpNative.MultiMessageHeader* _sendHeaders;
    private TurnUdpNative.IoVector* _receiveVectors;
    private TurnUdpNative.IoVector* _sendVectors;
    private int _used;
    private int _sendCount;

    /// <param name="capacity">Datagrams held between flushes.</param>
    /// <param name="slotLength">Bytes per slot: the largest data offset plus datagram length a receive asks for.</param>
    public TurnDatagramBatch(int capacity, int slotLength)
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
        _totalLength = slots + responses + (2 * names) + (2 * headers) + (2 * vectors);
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
        _receiveHeaders = (TurnUdpNative.MultiMessageHeader*)p;
        p += headers;
        _sendHeaders = (TurnUdpNative.MultiMessageHeader*)p;
        p += headers;
        _receiveVectors = (TurnUdpNative.IoVector*)p;
        p += vectors;
        _sendVectors = (TurnUdpNative.IoVector*)p;
        new Span<byte>(_receiveHeaders, (int)(2 * headers)).Clear();

        _dataOffsets = new int[capacity];
        _sendHandles = new SafeSocketHandle?[capacity];
        _sendContexts = new object?[capacity];
        _sendTo = new StunAddress[capacity];
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

        var vector = _sendVectors + i;
        vector->Base = pointer;
        vector->Length = (nuint)data.Length;
        var header = _sendHeaders + i;
        header->Name = name;
        header->NameLength = (uint)nameLength;
        header->Vectors = vector;
        header->VectorCount = 1;
        header->Control = null;
        header->ControlLength = 0;
        header->Flags = 0;
        header->Length = 0;
        _sendHandles[i] = handle;
        _sendContexts[i] = context;
        _sendTo[i] = to;
        _sendCount++;
        return true;
    }

    /// <summary>
    /// Sends every queued datagram (one <c>sendmmsg</c> per run leaving the same socket, <c>sendto</c>
    /// for a run of one), without blocking: a datagram the kernel refuses is reported to
    /// <paramref name="failures"/> (after the socket is let go, so the callback may take locks) and the
    /// rest still go. Then every slot is free again.
    /// </summary>
    public void Flush(ITurnUdpHandler? failures)
    {
        ObjectDisposedException.ThrowIf(_memory == null, this);
        var failed = 0;
        var start = 0;
        while (start < _sendCount)
        {
            var handle = _sendHandles[start]!;
            var end = start + 1;
            while (end < _sendCount && ReferenceEquals(_sendHandles[end], handle))
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

        Array.Clear(_sendHandles, 0, _sendCount);
        Array.Clear(_sendContexts, 0, _sendCount);
        _sendCount = 0;
        _used = 0;
    }

    /// <summary>Forgets what was received and queued without sending it.</summary>
    public void Clear()
    {
        Array.Clear(_sendHandles, 0, _sendCount);
        Array.Clear(_sendContexts, 0, _sendCount);
        _sendCount = 0;
        _used = 0;
    }

    public void Dispose()
    {
        if (_memory != null)
        {
            NativeMemory.AlignedFree(_memory);
            _memory = null;
            _slots = _responses = _receiveNames = _sendNames = null;
            _receiveHeaders = _sendHeaders = null;
            _receiveVectors = _sendVectors = null;
        }
    }

    private int SendRun(SafeSocketHandle handle, int start, int end, int failed)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            var i = start;
            while (i < end)
            {
                int sent;
                if (end - i == 1)
                {
                    var header = _sendHeaders + i;
                    sent = TurnUdpNative.SendTo(fd, header->Vectors->Base, header->Vectors->Length, TurnUdpNative.MsgDontWait, header->Name, header->NameLength) >= 0 ? 1 : -1;
                }
                else
                {
                    sent = TurnUdpNative.SendMessages(fd, _sendHeaders + i, (uint)(end - i), TurnUdpNative.MsgDontWait);
                }

                if (sent > 0)
                {
                    i += sent;
                    continue;
                }

                var error = Marshal.GetLastPInvokeError();
                if (error == TurnUdpNative.EINTR)
                {
                    continue;
                }

                // This datagram is refused (a full send buffer, an unreachable or forbidden
                // destination): it is lost, like any UDP datagram, and the next ones still go.
                _failedIndex[failed] = i;
                _failedError[failed] = error;
                failed++;
                i++;
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
