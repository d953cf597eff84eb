using System.Net.Sockets;
using System.Runtime.InteropServices;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>What a <see cref="TurnUdpEventLoop"/> hands its datagrams to (on its own thread).</summary>
internal interface ITurnUdpHandler
{
    /// <summary>
    /// Datagrams <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1 of
    /// <paramref name="batch"/> arrived on <paramref name="source"/>; answers are queued with
    /// <see cref="TurnDatagramBatch.QueueSend"/> and leave when the loop flushes the batch.
    /// </summary>
    void HandleDatagrams(TurnUdpRegistration source, TurnDatagramBatch batch, int first, int count);

    /// <summary>The kernel refused a queued datagram (errno <paramref name="error"/>); no lock of the loop is held.</summary>
    void HandleSendFailure(object? context, in StunAddress destination, int error);

    /// <summary>Something unexpected happened on the loop's thread; it carries on.</summary>
    void HandleLoopError(Exception exception, string where);
}

/// <summary>A UDP socket a <see cref="TurnUdpEventLoop"/> watches.</summary>
internal sealed class TurnUdpRegistration
{
    internal TurnUdpRegistration(TurnUdpEventLoop loop, Socket socket, object owner, int dataOffset, int maxLength, ulong tag)
    {
        Loop = loop;
        Socket = socket;
        Handle = socket.SafeHandle;
        Owner = owner;
        DataOffset = dataOffset;
        MaxLength = maxLength;
        Tag = tag;
    }

    public TurnUdpEventLoop Loop { get; }

    public Socket Socket { get; }

    public SafeSocketHandle Handle { get; }

    /// <summary>Whose socket it is (the handler's own object: a listener, a relay socket).</summary>
    public object Owner { get; }

    /// <summary>Where in a slot its datagrams are received (room in front for headers).</summary>
    public int DataOffset { get; }

    /// <summary>Room given to each datagram; a longer one is cut and flagged.</summary>
    public int MaxLength { get; }

    /// <summary>The epoll data word: slot in the loop's table and that slot's generation.</summary>
    internal ulong Tag { get; }

    /// <summary>The loop's round in which it was last read (only the loop's thread uses it).</summary>
    internal long LastRound { get; set; } = -2;
}

/// <summary>
/// One thread that serves any number of UDP sockets on Linux: epoll (level-triggered, input only)
/// tells which sockets have datagrams, <c>recvmmsg</c> takes up to <see cref="ReceiveBurst"/> of
/// them at once into a <see cref="TurnDatagramBatch"/>, the handler turns them into datagrams to
/// send, and the batch leaves with one <c>sendmmsg</c> per socket run (equal-sized datagrams of one
/// flow as one segmented send). This replaces the socket engine's per-datagram operation objects,
/// completions and system calls on the relay hot path (coturn's relay threads are built the same
/// way, one datagram per call). A fixed number of these threads serve all listeners and
/// allocations: no thread is held per allocation. Sockets may be added and removed from any
/// thread; a socket closed elsewhere is simply no longer reported.
/// </summary>
internal sealed unsafe class TurnUdpEventLoop : IDisposable
{
    /// <summary>The most datagrams one <c>recvmmsg</c> takes from one socket before others get their turn.</summary>
    public const int ReceiveBurst = 32;

    /// <summary>Datagrams held between flushes.</summary>
    public const int DefaultBatchCapacity = 64;

    private const int MaxEvents = 128;
    private const int WaitTimeoutMs = 500;
    private const ulong WakeTag = 0;

    private readonly ITurnUdpHandler _handler;
    private readonly int _slotLength;
    private readonly int _capacity;
    private readonly bool _segmentation;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stack<int> _freeSlots = new();
    private readonly Thread _thread;
    private TurnUdpRegistration?[] _table = new TurnUdpRegistration?[16];
    private uint _generation;
    private int _highWater;
    private int _count;
    private int _epoll;
    private int _wake;
    private bool _fdsClosed;
    private bool _threadExited;
    private bool _started;
    private bool _disposed;
    private volatile bool _stopping;
    private long _round;

    /// <param name="handler">Gets the datagrams.</param>
    /// <param name="name">The thread's name.</param>
    /// <param name="slotLength">Room per datagram: at least the largest data offset plus length of any socket added.</param>
    /// <param name="batchCapacity">Datagrams held between flushes.</param>
    /// <param name="segmentation">Whether equal-sized datagrams of one flow may leave as one segmented send (UDP_SEGMENT).</param>
    /// <exception cref="PlatformNotSupportedException">Not Linux on 64-bit x86 or ARM.</exception>
    /// <exception cref="SocketException">epoll or eventfd could not be created.</exception>
    public TurnUdpEventLoop(ITurnUdpHandler handler, string name, int slotLength, int batchCapacity = DefaultBatchCapacity, bool segmentation = true)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("The batched UDP loop needs Linux on 64-bit x86 or ARM.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(slotLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchCapacity, 1);
        _handler = handler;
        _slotLength = slotLength;
        _capacity = batchCapacity;
        _segmentation = segmentation;
        _epoll = TurnUdpNative.EpollCreate(TurnUdpNative.EpollCloexec);
        if (_epoll < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        _wake = TurnUdpNative.EventFd(0, TurnUdpNative.EventFdNonBlock | TurnUdpNative.EventFdCloexec);
        if (_wake < 0 || !Control(TurnUdpNative.EpollCtlAdd, _wake, WakeTag))
        {
            var error = Marshal.GetLastPInvokeError();
            CloseFds();
            throw new SocketException(error);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>Whether this system has what the loop needs (Linux on 64-bit x86 or ARM).</summary>
    public static bool IsSupported => TurnUdpNative.IsSupported
        && sizeof(TurnUdpNative.MultiMessageHeader) == 64 && sizeof(TurnUdpNative.IoVector) == 16;

    /// <summary>Completes when the thread has ended (after <see cref="Stop"/>).</summary>
    public Task Completion => _completion.Task;

    /// <summary>Sockets watched.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Starts the thread.</summary>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                return;
            }

            _started = true;
        }

        _thread.Start();
    }

    /// <summary>
    /// Watches <paramref name="socket"/>: its datagrams go to the handler, received at
    /// <paramref name="dataOffset"/> in a slot with room for <paramref name="maxLength"/> bytes.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The loop or the socket is closed.</exception>
    public TurnUdpRegistration Add(Socket socket, object owner, int dataOffset, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(owner);
        if (dataOffset < 0 || maxLength < 1 || dataOffset + maxLength > _slotLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), "The datagrams do not fit in the loop's slots.");
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed || _fdsClosed, this);
            int index;
            if (_freeSlots.Count > 0)
            {
                index = _freeSlots.Pop();
            }
            else
            {
                index = _highWater;
                if (index == _table.Length)
                {
                    var grown = new TurnUdpRegistration?[_table.Length * 2];
                    _table.CopyTo(grown, 0);
                    Volatile.Write(ref _table, grown);
                }
            }

            // Tags are never 0 (the wake-up eventfd's), and a slot's generation tells a registration
            // from an earlier one in the same slot when epoll reported that one just before it left.
            var tag = ((ulong)++_generation << 32) | (uint)(index + 1);
            var registration = new TurnUdpRegistration(this, socket, owner, dataOffset, maxLength, tag);
            var added = false;
            try
            {
                registration.Handle.DangerousAddRef(ref added);
                if (!Control(TurnUdpNative.EpollCtlAdd, (int)registration.Handle.DangerousGetHandle(), tag))
                {
                    throw new SocketException(Marshal.GetLastPInvokeError());
                }
            }
            catch
            {
                if (index != _highWater)
                {
                    _freeSlots.Push(index);
                }

                throw;
            }
            finally
            {
                if (added)
                {
                    registration.Handle.DangerousRelease();
                }
            }

            _table[index] = registration;
            if (index == _highWater)
            {
                _highWater++;
            }

            _count++;
            return registration;
        }
    }

    /// <summary>Stops watching a socket (before it is closed); no-op when it is not watched.</summary>
    public void Remove(TurnUdpRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        lock (_gate)
        {
            var index = (int)(uint)registration.Tag - 1;
            if (index < 0 || index >= _table.Length || !ReferenceEquals(_table[index], registration))
            {
                return;
            }

            _table[index] = null;
            _freeSlots.Push(index);
            _count--;
            if (_fdsClosed)
            {
                return;
            }

            var added = false;
            try
            {
                registration.Handle.DangerousAddRef(ref added);
                Control(TurnUdpNative.EpollCtlDel, (int)registration.Handle.DangerousGetHandle(), 0);
            }
            catch (ObjectDisposedException)
            {
                // Already closed: closing removed it from the epoll set.
            }
            finally
            {
                if (added)
                {
                    registration.Handle.DangerousRelease();
                }
            }
        }
    }

    /// <summary>Asks the thread to end (it finishes the batch in hand); <see cref="Completion"/> tells when.</summary>
    public void Stop()
    {
        _stopping = true;
        Wake();
        lock (_gate)
        {
            if (!_started)
            {
                _completion.TrySetResult();
            }
        }
    }

    /// <summary>Stops the thread, waits for it (bounded) and closes the epoll set.</summary>
    public void Dispose()
    {
        Stop();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        lock (_gate)
        {
            _disposed = true;
            if (_threadExited || !_started)
            {
                CloseFds();
            }
        }
    }

    private void Run()
    {
        var batch = new TurnDatagramBatch(_capacity, _slotLength, _segmentation);
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * TurnUdpNative.EpollEventSize));
        try
        {
            while (!_stopping)
            {
                try
                {
                    RunOnce(batch, events);
                }
                catch (Exception e)
                {
                    // A bug, not a network event: say so, drop the batch in hand, keep serving.
                    batch.Clear();
                    _handler.HandleLoopError(e, "UDP loop");
                    Thread.Sleep(10);
                }
            }
        }
        finally
        {
            batch.Dispose();
            NativeMemory.Free(events);
            lock (_gate)
            {
                _threadExited = true;
                if (_disposed)
                {
                    CloseFds();
                }
            }

            _completion.TrySetResult();
        }
    }

    // One epoll round: every ready socket gets one receive burst, then the answers leave.
    private void RunOnce(TurnDatagramBatch batch, byte* events)
    {
        var ready = TurnUdpNative.EpollWait(_epoll, events, MaxEvents, WaitTimeoutMs);
        if (ready < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            if (error != TurnUdpNative.EINTR)
            {
                _handler.HandleLoopError(new SocketException(error), "epoll_wait");
                Thread.Sleep(10);
            }

            return;
        }

        _round++;
        var table = Volatile.Read(ref _table);
        for (var k = 0; k < ready && !_stopping; k++)
        {
            var tag = TurnUdpNative.ReadEpollData(events, k);
            if (tag == WakeTag)
            {
                ulong value;
                _ = TurnUdpNative.Read(_wake, &value, sizeof(ulong));
                continue;
            }

            var index = (int)(uint)tag - 1;
            if (index >= table.Length)
            {
                table = Volatile.Read(ref _table); // grown since this round began
            }

            if (index < 0 || index >= table.Length || table[index] is not { } registration || registration.Tag != tag)
            {
                continue; // removed since epoll reported it
            }

            ReceiveFrom(registration, batch);
        }

        Flush(batch);
    }

    private void ReceiveFrom(TurnUdpRegistration registration, TurnDatagramBatch batch)
    {
        // A socket that was ready in the round before too is busy: take a burst. One that was not
        // (an allocation's relay socket among hundreds, one datagram now and then) gets a single
        // receive, which spares recvmmsg's failed attempt at a second datagram; if more were
        // waiting, epoll says so next round, and then the burst comes.
        var burst = registration.LastRound == _round - 1 ? ReceiveBurst : 1;
        registration.LastRound = _round;
        if (batch.Free < burst)
        {
            Flush(batch);
        }

        var first = batch.Used;
        var received = batch.Receive(registration.Handle, registration.DataOffset, registration.MaxLength, burst);
        if (received <= 0)
        {
            return; // nothing waiting, or an error the socket reported (e.g. an ICMP one): it is consumed
        }

        try
        {
            _handler.HandleDatagrams(registration, batch, first, received);
        }
        catch (Exception e)
        {
            _handler.HandleLoopError(e, "UDP datagrams");
        }
    }

    private void Flush(TurnDatagramBatch batch)
    {
        try
        {
            batch.Flush(_handler);
        }
        catch (Exception e)
        {
            batch.Clear();
            _handler.HandleLoopError(e, "UDP send");
        }
    }

    private void Wake()
    {
        lock (_gate)
        {
            if (_fdsClosed)
            {
                return;
            }

            ulong one = 1;
            _ = TurnUdpNative.Write(_wake, &one, sizeof(ulong));
        }
    }

    private bool Control(int operation, int fd, ulong tag)
    {
        var ev = stackalloc byte[16];
        TurnUdpNative.WriteEpollEvent(ev, TurnUdpNative.EpollIn, tag);
        return TurnUdpNative.EpollControl(_epoll, operation, fd, ev) == 0;
    }

    private void CloseFds()
    {
        if (_fdsClosed)
        {
            return;
        }

        _fdsClosed = true;
        if (_wake >= 0)
        {
            _ = TurnUdpNative.Close(_wake);
        }

        if (_epoll >= 0)
        {
            _ = TurnUdpNative.Close(_epoll);
        }

        _wake = _epoll = -1;
    }
}
