using System.Buffers;
using Org.BouncyCastle.Tls;

namespace PeerNet.Dtls;

/// <summary>
/// The <see cref="DatagramTransport"/> BouncyCastle's DTLS runs over, backed by two queues instead of a
/// socket. BouncyCastle's handshake is a blocking loop (Receive with a timeout, then retransmit), so it
/// runs on a worker thread that blocks here; the driver's thread feeds it datagrams and collects what
/// it sends, and waits for it to go idle, so each driver call sees the handshake's response at once.
/// It also watches the handshake's records for the record layer that takes over afterwards
/// (<see cref="DtlsRecordProtection"/>): the highest epoch 1 sequence number BouncyCastle wrote, our
/// last flight, and the peer's epoch 1 data and alerts that BouncyCastle read but does not deliver.
/// When BouncyCastle's record layer is kept (suites we do not implement), it is called on the driver's
/// thread after the handshake and <see cref="Receive(Span{byte}, int)"/> never blocks.
/// </summary>
/// <remarks>All state is guarded by the owning <see cref="DtlsTransport"/>'s lock, passed in as <c>gate</c>.</remarks>
internal sealed class DtlsDatagramChannel : DatagramTransport
{
    /// <summary>The largest UDP payload; handshake datagrams may be up to this (e.g. OpenSSL over loopback).</summary>
    public const int MaxDatagramSize = 65535;

    private readonly object _gate;
    private readonly int _mtu;
    private readonly int _maxInbound;
    private readonly int _maxOutbound;
    private readonly Queue<PooledDatagram> _inbound = new();
    private readonly Queue<PooledDatagram> _outbound = new();
    private bool _aborted;
    // During the handshake, records are packed into one datagram up to the MTU (RFC 6347 §4.1.1), as
    // browsers do: a flight then travels whole, and reordering inside it cannot strand BouncyCastle,
    // which stops reading epoch 0 once it has seen ChangeCipherSpec.
    private byte[]? _tail;
    private int _tailLength;
    private long _lastNow;
    private long _lastTick;
    // The datagrams sent since BouncyCastle last read one: at the end of the handshake, our last flight.
    private readonly List<byte[]> _flight = [];
    private readonly List<byte[]> _earlyRecords = [];
    private int _earlyRecordBytes;

    // Epoch 1 application data and alerts that may come with or just before the peer's Finished (RFC 6347
    // §4.1: records of the new epoch received before the handshake completes may be buffered): enough for
    // a burst, bounded against a flood.
    private const int MaxEarlyRecords = 32;
    private const int MaxEarlyRecordBytes = 64 * 1024;

    public DtlsDatagramChannel(object gate, int mtu, int maxInbound, int maxOutbound)
    {
        _gate = gate;
        _mtu = mtu;
        _maxInbound = maxInbound;
        _maxOutbound = maxOutbound;
    }

    /// <summary>What the handshake worker is doing.</summary>
    public HandshakeWorkerPhase Phase { get; private set; }

    /// <summary>True until <see cref="EndHandshake"/>; then Receive no longer blocks and records are not packed.</summary>
    public bool Handshaking { get; private set; } = true;

    /// <summary>The handshake completed: BouncyCastle is called on the driver's thread from now on.</summary>
    public void EndHandshake()
    {
        FlushTail();
        Handshaking = false;
    }

    /// <summary>The highest sequence number BouncyCastle wrote in an epoch after 0, or -1: our own records continue after it.</summary>
    public long HighestProtectedSequenceSent { get; private set; } = -1;

    /// <summary>
    /// Our last flight: the datagrams sent since BouncyCastle last read a datagram. Read when the
    /// handshake has just completed; as server that is ChangeCipherSpec and Finished.
    /// </summary>
    public IReadOnlyList<byte[]> LastFlight => _flight;

    /// <summary>
    /// Copies of the encrypted (epoch 1 and later) application data and alert records in the datagrams
    /// BouncyCastle read during the handshake. BouncyCastle discards application data that arrives before
    /// its handshake returns, and leaves records behind the Finished in the same datagram unread; our own
    /// record layer decrypts these once the handshake is done (its replay window ignores what it saw twice).
    /// </summary>
    public IReadOnlyList<byte[]> EarlyRecords => _earlyRecords;

    /// <summary>Forgets <see cref="LastFlight"/> and <see cref="EarlyRecords"/> once the record layer has taken them.</summary>
    public void ReleaseHandshakeRecords()
    {
        _flight.Clear();
        _earlyRecords.Clear();
        _earlyRecordBytes = 0;
    }

    /// <summary>Counts each time the worker starts waiting in Receive.</summary>
    public int WaitGeneration { get; private set; }

    /// <summary>When the worker's current wait ends, in the driver's clock.</summary>
    public long WaitDeadline { get; private set; }

    /// <summary>When the worker's current wait ends, in <see cref="Environment.TickCount64"/>.</summary>
    public long WakeTick { get; private set; }

    /// <summary>Datagrams from the driver not yet read.</summary>
    public int InboundCount => _inbound.Count;

    /// <summary>Datagrams waiting for <see cref="PollTransmit"/>.</summary>
    public int OutboundCount => _outbound.Count + (_tail is null ? 0 : 1);

    /// <summary>Datagrams dropped because the driver did not poll them out in time.</summary>
    public long TransmitsDropped { get; private set; }

    /// <summary>The last time the driver passed in.</summary>
    public long LastNow => _lastNow;

    /// <summary>Records the driver's time, so the worker's waits can be reported in the driver's clock.</summary>
    public void UpdateClock(long now)
    {
        _lastNow = now;
        _lastTick = Environment.TickCount64;
    }

    /// <summary>The driver's clock now, extrapolated from its last call with the monotonic tick count.</summary>
    public long DriverNow() => _lastNow + (Environment.TickCount64 - _lastTick);

    public void WorkerStarting() => Phase = HandshakeWorkerPhase.Running;

    public void WorkerFinished()
    {
        Phase = HandshakeWorkerPhase.Finished;
        Monitor.PulseAll(_gate);
    }

    /// <summary>Stops the handshake: the worker's next Receive throws, and anything it sends is discarded.</summary>
    public void Abort()
    {
        _aborted = true;
        ClearOutbound();
        Monitor.PulseAll(_gate);
    }

    /// <summary>Queues a datagram for BouncyCastle; false when the queue is full.</summary>
    public bool EnqueueInbound(ReadOnlySpan<byte> datagram)
    {
        if (_inbound.Count >= _maxInbound)
            return false;
        _inbound.Enqueue(PooledDatagram.Copy(datagram));
        Monitor.PulseAll(_gate);
        return true;
    }

    /// <summary>Copies the next datagram to send into <paramref name="destination"/>; 0 when there is none.</summary>
    public int PollTransmit(Span<byte> destination)
    {
        if (_outbound.Count == 0)
            FlushTail();
        if (!_outbound.TryPeek(out PooledDatagram next))
            return 0;
        if (destination.Length < next.Length)
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the next datagram has {next.Length}.", nameof(destination));
        _outbound.Dequeue();
        next.Span.CopyTo(destination);
        next.Return();
        return next.Length;
    }

    /// <summary>
    /// Waits (the lock released) until the worker has consumed every queued datagram and waits for more,
    /// or has finished, or was aborted; false if <paramref name="timeoutMillis"/> passed first.
    /// </summary>
    public bool WaitUntilIdle(int timeoutMillis)
    {
        long end = Environment.TickCount64 + timeoutMillis;
        while (!IsIdle)
        {
            long remaining = end - Environment.TickCount64;
            if (remaining <= 0)
                return false;
            Monitor.Wait(_gate, (int)remaining);
        }
        return true;
    }

    /// <summary>
    /// Waits until the worker's current timed wait has ended and it is idle again (after a retransmission),
    /// at most until its wake-up time plus <paramref name="slackMillis"/>.
    /// </summary>
    public bool WaitForWake(int slackMillis)
    {
        int generation = WaitGeneration;
        long end = Math.Max(WakeTick, Environment.TickCount64) + slackMillis;
        while (!(Phase == HandshakeWorkerPhase.Finished || _aborted || (WaitGeneration != generation && IsIdle)))
        {
            long remaining = end - Environment.TickCount64;
            if (remaining <= 0)
                return false;
            Monitor.Wait(_gate, (int)remaining);
        }
        return true;
    }

    private bool IsIdle =>
        Phase is HandshakeWorkerPhase.Finished or HandshakeWorkerPhase.NotStarted
        || _aborted
        || (Phase == HandshakeWorkerPhase.Waiting && _inbound.Count == 0);

    public void ClearOutbound()
    {
        if (_tail is not null)
        {
            ArrayPool<byte>.Shared.Return(_tail);
            _tail = null;
        }
        while (_outbound.TryDequeue(out PooledDatagram datagram))
            datagram.Return();
    }

    /// <summary>Takes the oldest datagram BouncyCastle has not read; the caller returns its buffer.</summary>
    public bool TryDequeueInbound(out PooledDatagram datagram) => _inbound.TryDequeue(out datagram);

    public void ClearInbound()
    {
        while (_inbound.TryDequeue(out PooledDatagram datagram))
            datagram.Return();
    }

    // ---- DatagramTransport, called by BouncyCastle ----------------------------------------------

    public int GetReceiveLimit()
    {
        lock (_gate)
        {
            if (Handshaking)
                return MaxDatagramSize;
            // After the handshake BouncyCastle allocates a buffer of this size per read: size it to the datagram.
            return _inbound.TryPeek(out PooledDatagram next) ? Math.Max(next.Length, DtlsRecordHeader.Length) : DtlsRecordHeader.Length;
        }
    }

    public int GetSendLimit() => _mtu;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        lock (_gate)
        {
            if (!Handshaking)
                return ReceiveWithoutWaiting(buffer);

            // BouncyCastle always waits a finite time of at least 1 ms during the handshake.
            int wait = Math.Max(waitMillis, 1);
            WaitGeneration++;
            WakeTick = Environment.TickCount64 + wait;
            WaitDeadline = DriverNow() + wait;
            while (true)
            {
                if (_aborted)
                {
                    Phase = HandshakeWorkerPhase.Running;
                    throw new OperationCanceledException("The DTLS handshake was stopped.");
                }
                if (_inbound.TryDequeue(out PooledDatagram datagram))
                {
                    Phase = HandshakeWorkerPhase.Running;
                    Monitor.PulseAll(_gate);
                    // Whatever BouncyCastle sends next answers this datagram: a new flight, never packed with the last one.
                    FlushTail();
                    _flight.Clear();
                    KeepEarlyRecords(datagram.Span);
                    return CopyOut(datagram, buffer);
                }
                long remaining = WakeTick - Environment.TickCount64;
                if (remaining <= 0)
                {
                    Phase = HandshakeWorkerPhase.Running;
                    Monitor.PulseAll(_gate);
                    return -1;
                }
                Phase = HandshakeWorkerPhase.Waiting;
                Monitor.PulseAll(_gate);
                Monitor.Wait(_gate, (int)Math.Min(remaining, int.MaxValue));
            }
        }
    }

    private int ReceiveWithoutWaiting(Span<byte> buffer)
    {
        if (_inbound.TryDequeue(out PooledDatagram datagram))
            return CopyOut(datagram, buffer);
        // BouncyCastle's record layer keeps reading until a record yields application data or its wall
        // clock wait expires; this tells it, without a busy wait, that there is nothing more for now.
        throw new NoDatagramPending();
    }

    private static int CopyOut(PooledDatagram datagram, Span<byte> buffer)
    {
        try
        {
            if (datagram.Length > buffer.Length)
                return -1;
            datagram.Span.CopyTo(buffer);
            return datagram.Length;
        }
        finally
        {
            datagram.Return();
        }
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            if (_aborted)
                return;
            if (Handshaking)
            {
                NoteSequenceNumbers(buffer);
                if (_tail is not null && _tailLength + buffer.Length <= _mtu)
                {
                    buffer.CopyTo(_tail.AsSpan(_tailLength));
                    _tailLength += buffer.Length;
                    return;
                }
                FlushTail();
                if (buffer.Length < _mtu)
                {
                    _tail = ArrayPool<byte>.Shared.Rent(_mtu);
                    buffer.CopyTo(_tail);
                    _tailLength = buffer.Length;
                    return;
                }
            }
            Enqueue(PooledDatagram.Copy(buffer));
        }
    }

    private void FlushTail()
    {
        if (_tail is null)
            return;
        Enqueue(new PooledDatagram(_tail, _tailLength));
        _tail = null;
    }

    private void Enqueue(PooledDatagram datagram)
    {
        if (Handshaking)
            _flight.Add(datagram.Span.ToArray());
        if (_outbound.Count >= _maxOutbound)
        {
            // Like a full socket buffer: DTLS and SCTP recover from the loss.
            TransmitsDropped++;
            datagram.Return();
            return;
        }
        _outbound.Enqueue(datagram);
    }

    // Records BouncyCastle writes are well-formed; the loop still stops at anything that is not.
    private void NoteSequenceNumbers(ReadOnlySpan<byte> records)
    {
        while (records.Length >= DtlsRecordHeader.Length)
        {
            int length = DtlsRecordHeader.Length + DtlsRecordHeader.FragmentLength(records);
            if (length > records.Length)
                return;
            if (DtlsRecordHeader.Epoch(records) != 0)
                HighestProtectedSequenceSent = Math.Max(HighestProtectedSequenceSent, (long)DtlsRecordHeader.SequenceNumber(records));
            records = records[length..];
        }
    }

    private void KeepEarlyRecords(ReadOnlySpan<byte> datagram)
    {
        while (datagram.Length >= DtlsRecordHeader.Length)
        {
            int length = DtlsRecordHeader.Length + DtlsRecordHeader.FragmentLength(datagram);
            if (length > datagram.Length)
                return;
            byte type = datagram[0];
            if (type is DtlsContentType.ApplicationData or DtlsContentType.Alert
                && DtlsRecordHeader.Epoch(datagram) != 0
                && _earlyRecords.Count < MaxEarlyRecords
                && _earlyRecordBytes + length <= MaxEarlyRecordBytes)
            {
                _earlyRecords.Add(datagram[..length].ToArray());
                _earlyRecordBytes += length;
            }
            datagram = datagram[length..];
        }
    }

    /// <summary>BouncyCastle closes its transport after close_notify or a fatal alert; the queues stay for the driver.</summary>
    public void Close()
    {
    }

    /// <summary>
    /// Thrown by a non-blocking Receive with nothing queued. It is a bad_record_mac alert only so that
    /// BouncyCastle's DtlsTransport, with IgnoreCorruptDtlsRecords, turns it into "no data" (-1)
    /// without failing the association.
    /// </summary>
    private sealed class NoDatagramPending() : TlsFatalAlert(Org.BouncyCastle.Tls.AlertDescription.bad_record_mac, "no datagram pending");
}
