using System.Text;
using PeerNet.Sctp;

namespace PeerNet.Rtc;

/// <summary>
/// A WebRTC data channel (W3C <c>RTCDataChannel</c>; RFC 8831): messages over one SCTP stream
/// pair, opened in-band with DCEP (RFC 8832) or negotiated by the application.
/// </summary>
/// <remarks>
/// Events are raised one at a time, in order, on the connection's event loop — never on the
/// network thread, so a slow handler delays this connection's events but not its packets.
/// </remarks>
public sealed class RtcDataChannel
{
    /// <summary>Where <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/> waits by default.</summary>
    public const long DefaultSendHighWaterMark = 1 << 20;

    private readonly IRtcDataChannelHost _host;
    private readonly object _gate = new();
    private long _bufferedAmount;
    private long _lowThreshold;
    private TaskCompletionSource? _drained;
    private long _wakeAt = -1; // the largest BufferedAmount a waiting sender accepts; -1: none waits
    private volatile RtcDataChannelState _readyState = RtcDataChannelState.Connecting;

    internal RtcDataChannel(IRtcDataChannelHost host, string label, RtcDataChannelInit init, ushort? id)
    {
        _host = host;
        Label = label;
        Ordered = init.Ordered;
        MaxRetransmits = init.MaxRetransmits;
        MaxPacketLifeTime = init.MaxPacketLifeTime;
        Protocol = init.Protocol;
        Negotiated = init.Negotiated;
        Id = id;
        // Made once: every Send of this channel goes out with the same SCTP settings.
        SctpSendOptions = new SctpSendOptions { Ordered = init.Ordered, MaxRetransmits = init.MaxRetransmits, MaxLifetimeMs = init.MaxPacketLifeTime };
    }

    /// <summary>How SCTP carries this channel's messages (ordering, partial reliability).</summary>
    internal SctpSendOptions SctpSendOptions { get; }

    /// <summary>The label both sides know the channel by (need not be unique).</summary>
    public string Label { get; }

    /// <summary>Whether messages arrive in the order sent.</summary>
    public bool Ordered { get; }

    /// <summary>Retransmissions before a message is given up on, or null for reliable.</summary>
    public int? MaxRetransmits { get; }

    /// <summary>Milliseconds before a message is given up on, or null.</summary>
    public int? MaxPacketLifeTime { get; }

    /// <summary>The sub-protocol name.</summary>
    public string Protocol { get; }

    /// <summary>Whether the application negotiated the channel (no DCEP).</summary>
    public bool Negotiated { get; }

    /// <summary>The SCTP stream id; null until the DTLS role decides even or odd (RFC 8832 §6).</summary>
    public ushort? Id { get; internal set; }

    /// <summary>W3C <c>readyState</c>.</summary>
    public RtcDataChannelState ReadyState => _readyState;

    /// <summary>Bytes handed to <see cref="Send(ReadOnlySpan{byte})"/> that the remote has not yet acknowledged.</summary>
    public long BufferedAmount => Interlocked.Read(ref _bufferedAmount);

    /// <summary>When <see cref="BufferedAmount"/> falls to this or below, <see cref="BufferedAmountLow"/> fires.</summary>
    public long BufferedAmountLowThreshold
    {
        get => Interlocked.Read(ref _lowThreshold);
        set => Interlocked.Exchange(ref _lowThreshold, value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value)));
    }

    /// <summary>The channel can carry messages.</summary>
    public event EventHandler? Open;

    /// <summary>A message arrived.</summary>
    public event EventHandler<RtcDataChannelMessageEventArgs>? Message;

    /// <summary><see cref="BufferedAmount"/> fell to <see cref="BufferedAmountLowThreshold"/> or below.</summary>
    public event EventHandler? BufferedAmountLow;

    /// <summary>The channel failed (the message says why); <see cref="Close"/> follows.</summary>
    public event EventHandler<Exception>? Error;

    /// <summary>The channel is closing: no more sends.</summary>
    public event EventHandler? Closing;

    /// <summary>The channel is closed.</summary>
    public event EventHandler? Closed;

    /// <summary>Sends a binary message. Throws <see cref="InvalidOperationException"/> unless open, and
    /// <see cref="ArgumentOutOfRangeException"/> above the remote's max-message-size (RFC 8841 §6).</summary>
    public void Send(ReadOnlySpan<byte> data) => SendCore(data, isText: false);

    /// <summary>Sends a binary message.</summary>
    public void Send(byte[] data) => SendCore(data, isText: false);

    /// <summary>Sends a text message (UTF-8).</summary>
    public void Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        SendCore(bytes, isText: true);
    }

    /// <summary>
    /// Sends a binary message once <see cref="BufferedAmount"/> is at or below
    /// <paramref name="highWaterMark"/> (default 1 MiB): backpressure for bulk senders.
    /// </summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default, long highWaterMark = DefaultSendHighWaterMark)
    {
        await WaitForBufferedAmountAsync(highWaterMark, cancellationToken).ConfigureAwait(false);
        SendCore(data.Span, isText: false);
    }

    /// <summary>Waits until <see cref="BufferedAmount"/> is at most <paramref name="amount"/>; throws if the channel closes first.</summary>
    public async ValueTask WaitForBufferedAmountAsync(long amount, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_readyState is RtcDataChannelState.Closing or RtcDataChannelState.Closed)
                    throw new InvalidOperationException($"data channel '{Label}' is {_readyState.ToString().ToLowerInvariant()}");
                // Published with a full fence before BufferedAmount is read again (SetBufferedAmount
                // does the reverse), so either we see the drop or the setter sees our mark.
                Interlocked.Exchange(ref _wakeAt, _drained is null ? amount : Math.Max(_wakeAt, amount));
                if (BufferedAmount <= amount) return;
                _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _drained.Task;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes the channel (RFC 8831 §6.7: resets our outgoing stream; the remote resets its own).</summary>
    public void Close()
    {
        lock (_gate)
        {
            if (_readyState is RtcDataChannelState.Closing or RtcDataChannelState.Closed) return;
        }
        _host.Close(this);
    }

    private void SendCore(ReadOnlySpan<byte> data, bool isText)
    {
        if (_readyState != RtcDataChannelState.Open)
            throw new InvalidOperationException($"data channel '{Label}' is {_readyState.ToString().ToLowerInvariant()}, not open");
        _host.Send(this, data, isText);
    }

    /// <summary>
    /// Sets the amount from the transport (under its lock). Returns whether it crossed down to the
    /// low threshold, in which case the caller raises <see cref="BufferedAmountLow"/> on the event loop.
    /// </summary>
    internal bool SetBufferedAmount(long amount)
    {
        var before = Interlocked.Exchange(ref _bufferedAmount, amount);
        // Wake a waiting sender only once the amount is down to its mark, not on every SACK.
        if (amount < before && amount <= Volatile.Read(ref _wakeAt)) WakeWaiters();
        var threshold = BufferedAmountLowThreshold;
        return before > threshold && amount <= threshold;
    }

    internal void RaiseBufferedAmountLow() => BufferedAmountLow?.Invoke(this, EventArgs.Empty);

    // State changes happen under the transport's lock, at once, so Send sees them; the matching
    // events are raised afterwards on the connection's event loop.

    internal bool TryMarkOpen()
    {
        lock (_gate)
        {
            if (_readyState != RtcDataChannelState.Connecting) return false;
            _readyState = RtcDataChannelState.Open;
            return true;
        }
    }

    internal bool TryMarkClosing()
    {
        lock (_gate)
        {
            if (_readyState is RtcDataChannelState.Closing or RtcDataChannelState.Closed) return false;
            _readyState = RtcDataChannelState.Closing;
        }
        WakeWaiters();
        return true;
    }

    internal bool TryMarkClosed()
    {
        lock (_gate)
        {
            if (_readyState == RtcDataChannelState.Closed) return false;
            _readyState = RtcDataChannelState.Closed;
        }
        Interlocked.Exchange(ref _bufferedAmount, 0);
        WakeWaiters();
        return true;
    }

    internal void RaiseOpen() => Open?.Invoke(this, EventArgs.Empty);

    internal void RaiseClosing() => Closing?.Invoke(this, EventArgs.Empty);

    internal void RaiseClosed(Exception? error)
    {
        if (error is not null) Error?.Invoke(this, error);
        Closed?.Invoke(this, EventArgs.Empty);
    }

    internal void Deliver(byte[] data, bool isText) => Message?.Invoke(this, new RtcDataChannelMessageEventArgs(data, isText));

    private void WakeWaiters()
    {
        TaskCompletionSource? drained;
        lock (_gate)
        {
            drained = _drained;
            _drained = null;
            Volatile.Write(ref _wakeAt, -1);
        }
        drained?.TrySetResult();
    }

    /// <inheritdoc/>
    public override string ToString() => $"RtcDataChannel '{Label}' (id {Id?.ToString() ?? "none"}, {ReadyState})";
}

/// <summary>What an <see cref="RtcDataChannel"/> needs from the connection that owns it.</summary>
internal interface IRtcDataChannelHost
{
    /// <summary>Queues a message on the channel's stream; adds to its buffered amount.</summary>
    void Send(RtcDataChannel channel, ReadOnlySpan<byte> payload, bool isText);

    /// <summary>Starts closing the channel.</summary>
    void Close(RtcDataChannel channel);
}
