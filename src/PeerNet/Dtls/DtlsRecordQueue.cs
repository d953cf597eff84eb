namespace PeerNet.Dtls;

/// <summary>
/// A bounded FIFO of byte strings (decrypted records waiting to be read, or protected datagrams waiting
/// to be sent) in buffers that belong to its slots and are reused: once the queue has been as deep as
/// the traffic makes it, enqueueing and dequeueing allocate nothing. The caller writes an entry in place
/// (<see cref="GetBuffer"/>, then <see cref="Commit"/>), so a record is encrypted or decrypted straight
/// into the queue.
/// </summary>
/// <remarks>Not thread-safe; the owning <see cref="DtlsTransport"/>'s lock guards it.</remarks>
internal sealed class DtlsRecordQueue
{
    // A slot's first buffer: one MTU-sized packet fits, so a data channel's records never grow it.
    private const int MinimumBufferSize = 2048;
    private const int InitialSlots = 16;

    private readonly int _maxCount;
    private byte[]?[] _buffers;
    private int[] _lengths;
    private int _head;
    private int _count;

    /// <param name="maxCount">The most entries held at once.</param>
    public DtlsRecordQueue(int maxCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        _maxCount = maxCount;
        int slots = Math.Min(InitialSlots, maxCount);
        _buffers = new byte[slots][];
        _lengths = new int[slots];
    }

    /// <summary>Entries waiting.</summary>
    public int Count => _count;

    /// <summary>Whether the queue holds its maximum.</summary>
    public bool IsFull => _count >= _maxCount;

    /// <summary>The buffer of the next entry, at least <paramref name="minimumLength"/> bytes; <see cref="Commit"/> makes it an entry.</summary>
    /// <exception cref="InvalidOperationException">The queue is full.</exception>
    public Span<byte> GetBuffer(int minimumLength)
    {
        if (IsFull)
            throw new InvalidOperationException("The queue is full.");
        if (_count == _buffers.Length)
            Grow();
        int tail = Slot(_count);
        byte[]? buffer = _buffers[tail];
        if (buffer is null || buffer.Length < minimumLength)
            _buffers[tail] = buffer = new byte[Math.Max(minimumLength, MinimumBufferSize)];
        return buffer;
    }

    /// <summary>Appends the entry written into the last <see cref="GetBuffer"/>'s first <paramref name="length"/> bytes.</summary>
    public void Commit(int length)
    {
        int tail = Slot(_count);
        if (IsFull || _buffers[tail] is not { } buffer || (uint)length > (uint)buffer.Length)
            throw new InvalidOperationException("Commit without a matching GetBuffer.");
        _lengths[tail] = length;
        _count++;
    }

    /// <summary>The length of the oldest entry, or -1 when the queue is empty.</summary>
    public int PeekLength() => _count == 0 ? -1 : _lengths[_head];

    /// <summary>Copies the oldest entry into <paramref name="destination"/>, removes it and returns its length; -1 when empty.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small (the entry stays).</exception>
    public int Dequeue(Span<byte> destination)
    {
        if (_count == 0)
            return -1;
        int length = _lengths[_head];
        if (destination.Length < length)
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the next entry has {length}.", nameof(destination));
        _buffers[_head].AsSpan(0, length).CopyTo(destination);
        _head = Slot(1);
        _count--;
        return length;
    }

    /// <summary>Drops every entry and lets the buffers go.</summary>
    public void Clear()
    {
        Array.Clear(_buffers);
        _head = 0;
        _count = 0;
    }

    private int Slot(int offset)
    {
        int slot = _head + offset;
        return slot >= _buffers.Length ? slot - _buffers.Length : slot;
    }

    private void Grow()
    {
        int size = Math.Min(_buffers.Length * 2, _maxCount);
        var buffers = new byte[]?[size];
        var lengths = new int[size];
        for (int i = 0; i < _buffers.Length; i++)
        {
            int slot = Slot(i);
            buffers[i] = _buffers[slot];
            lengths[i] = _lengths[slot];
        }
        _buffers = buffers;
        _lengths = lengths;
        _head = 0;
    }
}
