using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace PeerNet.Sctp;

/// <summary>
/// An SCTP association (RFC 9260) as WebRTC runs it over DTLS (RFC 8261, RFC 8831): one peer, no
/// IP addresses, ports from the SDP. A sans-I/O state machine: feed it packets
/// (<see cref="HandlePacket"/>), time (<see cref="HandleTimeout"/>) and user calls; take packets
/// (<see cref="PollTransmit"/>), the next deadline (<see cref="PollTimeout"/>) and events
/// (<see cref="TryPollEvent"/>). Not thread-safe: one logical thread drives it. Time is a monotonic
/// millisecond count chosen by the caller; <see cref="PollTransmit"/> uses the latest time passed in.
/// </summary>
/// <remarks>
/// Includes partial reliability (RFC 3758 FORWARD TSN), outgoing stream reset (RFC 6525), as data
/// channels need, and optional user message interleaving (RFC 8260 I-DATA,
/// <see cref="SctpAssociationOptions.EnableInterleaving"/>). Hostile packets are dropped and counted
/// (<see cref="Statistics"/>), never thrown. Not implemented: association restart (a COOKIE ECHO with
/// new tags for a live association is dropped), multi-homing, AUTH, zero checksum.
/// </remarks>
public sealed partial class SctpAssociation
{
    private const long Never = long.MaxValue;

    private readonly SctpAssociationOptions _options;
    private readonly ILogger? _logger;
    private readonly byte[] _cookieSecret = new byte[32];
    private readonly Queue<SctpEvent> _events = new();
    private readonly ReassemblyQueue _reassembly;
    private readonly InterleavedReassemblyQueue _interleavedReassembly;
    private readonly ReceivedTsns _received = new();
    private readonly SentChunkQueue _sent = new();
    private readonly Dictionary<ushort, OutboundStream> _outStreams = [];
    private readonly Queue<OutboundStream> _readyStreams = new();
    private readonly Stack<OutgoingMessage> _messagePool = new();
    private readonly List<OutboundStream> _decreasedStreams = [];

    private long _now;

    // Tags, TSNs and what the peer told us (RFC 9260 §5).
    private uint _localTag;
    private uint _peerTag;
    private uint _localInitialTsn;
    private uint _peerInitialTsn;
    private uint _peerReceiverWindow;
    private ushort _peerOutboundStreams;
    private ushort _peerInboundStreams;
    private SctpPeerFeatures _peerFeatures;
    private byte[]? _initChunk;
    private byte[]? _cookieToEcho;
    private long _t1Deadline = Never;
    private int _t1Count;
    private ushort _outboundStreamLimit;
    private ushort _inboundStreamLimit;
    private bool _interleaving;
    private int _dataHeaderLength = DataChunk.HeaderLength;

    // Receive side.
    private long _undeliveredBytes;
    private bool _sackNow;
    private long _delayedSackDeadline = Never;
    private int _packetsSinceSack;
    private uint _lastAdvertisedWindow;
    private bool _dataInPacket;

    // Send side.
    private OutgoingMessage? _currentMessage;
    private int _openMessages;
    private long _openBytes;
    private long _totalBuffered;
    private uint _nextTsn;
    private long _flightSize;
    private long _outstandingBytes;
    private long _cwnd;
    private long _ssthresh;
    private long _partialBytesAcked;
    private long _peerRwnd;
    private bool _inFastRecovery;
    private bool _sackSinceT3;
    private long _lastDataSentAt;
    private uint _fastRecoveryExit;
    private bool _fastRetransmitPending;
    private int _pendingRetransmits;
    private uint _advancedPeerAckPoint;
    private bool _forwardTsnPending;
    private long _t3Deadline = Never;
    private int _errorCount;

    // RTT and RTO (RFC 9260 §6.3.1).
    private double _srtt;
    private double _rttvar;
    private bool _hasRtt;
    private long _rto;
    private bool _rttMeasuring;
    private uint _rttTsn;
    private long _rttSentAt;

    // Heartbeat (§8.3).
    private long _heartbeatDeadline = Never;
    private bool _heartbeatOutstanding;
    private ulong _heartbeatNonce;

    // Shutdown (§9.2).
    private long _t2Deadline = Never;
    private int _t2Count;

    /// <summary>Creates an association in the Closed state: call <see cref="Connect"/>, or wait for the peer's INIT.</summary>
    public SctpAssociation(SctpAssociationOptions? options = null)
    {
        _options = options ?? new SctpAssociationOptions();
        if (_options.Mtu is < 256 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Mtu must be between 256 and 65535.");
        }

        if (_options.MaxMessageSize < 1 || _options.ReceiveWindow < 1500 || _options.OutboundStreams == 0 || _options.InboundStreams == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxMessageSize, ReceiveWindow (>= 1500) and stream counts must be positive.");
        }

        if (_options.MinRtoMs < 1 || _options.MaxRtoMs < _options.MinRtoMs || _options.InitialRtoMs < 1 || _options.MinRtoVarianceMs < 0 || _options.InitialCongestionWindowMtus < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "RTO bounds must satisfy 1 <= MinRtoMs <= MaxRtoMs, InitialRtoMs >= 1; MinRtoVarianceMs and InitialCongestionWindowMtus must not be negative.");
        }

        _logger = _options.Logger;
        FillRandom(_cookieSecret);
        _reassembly = new ReassemblyQueue(_options.MaxMessageSize, OnMessageReassembled);
        _interleavedReassembly = new InterleavedReassemblyQueue(_options.MaxMessageSize, OnMessageReassembled);
        _rto = _options.InitialRtoMs;
        _outboundStreamLimit = _options.OutboundStreams;
        _inboundStreamLimit = _options.InboundStreams;
        _lastAdvertisedWindow = (uint)_options.ReceiveWindow;
    }

    /// <summary>The RFC 9260 state.</summary>
    public SctpAssociationState State { get; private set; }

    /// <summary>True once the association has ended (shutdown complete, abort, or failure); it cannot be reused.</summary>
    public bool IsTerminated { get; private set; }

    /// <summary>Counters, including drops by reason.</summary>
    public SctpStatistics Statistics { get; } = new();

    /// <summary>Outbound streams usable after the handshake: min(our OS, peer's MIS).</summary>
    public ushort OutboundStreamCount => _outboundStreamLimit;

    /// <summary>Inbound streams: min(our MIS, peer's OS).</summary>
    public ushort InboundStreamCount => _inboundStreamLimit;

    /// <summary>The current retransmission timeout in milliseconds.</summary>
    public long RetransmissionTimeoutMs => _rto;

    /// <summary>The congestion window in bytes.</summary>
    public long CongestionWindow => _cwnd;

    /// <summary>The smoothed round-trip time in milliseconds, or null before the first measurement.</summary>
    public double? SmoothedRoundTripTimeMs => _hasRtt ? _srtt : null;

    /// <summary>
    /// Whether partial reliability is negotiated: the peer announced FORWARD TSN, or with interleaving
    /// I-FORWARD-TSN (RFC 8260 §2.3.1: with I-DATA only I-FORWARD-TSN may skip messages).
    /// </summary>
    public bool PeerSupportsPartialReliability => _interleaving
        ? (_peerFeatures & SctpPeerFeatures.IForwardTsn) != 0
        : (_peerFeatures & SctpPeerFeatures.ForwardTsn) != 0;

    /// <summary>
    /// True once established when both sides offered I-DATA (RFC 8260 §2.2.1,
    /// <see cref="SctpAssociationOptions.EnableInterleaving"/>): messages travel in I-DATA chunks and
    /// fragments of messages on different streams are interleaved.
    /// </summary>
    public bool InterleavingNegotiated => _interleaving;

    /// <summary>Whether the peer announced RE-CONFIG (stream reset) support.</summary>
    public bool PeerSupportsStreamReset => (_peerFeatures & SctpPeerFeatures.ReConfig) != 0;

    /// <summary>Bytes queued by <see cref="Send"/> over all streams that are not sent yet.</summary>
    public long TotalBufferedAmount => _totalBuffered;

    /// <summary>Starts the four-way handshake: sends INIT (RFC 9260 §5.1). Only from a fresh association.</summary>
    public void Connect(long now)
    {
        _now = now;
        if (State != SctpAssociationState.Closed || IsTerminated)
        {
            throw new InvalidOperationException($"Connect is only valid on a new association (state {State}{(IsTerminated ? ", terminated" : "")}).");
        }

        _localTag = NewTag();
        _localInitialTsn = NextRandomUInt32();
        _initChunk = BuildInit();
        State = SctpAssociationState.CookieWait;
        _t1Count = 0;
        QueueControl(_initChunk, 0);
        _t1Deadline = now + _rto;
        Log("INIT sent");
    }

    /// <summary>
    /// Queues a user message on a stream. Throws when the message is empty or bigger than
    /// <see cref="SctpAssociationOptions.MaxMessageSize"/>, the stream is out of range, the send
    /// buffer is full, or the association is shutting down or ended.
    /// </summary>
    public void Send(ushort streamId, uint ppid, ReadOnlySpan<byte> payload, SctpSendOptions options, long now)
    {
        ArgumentNullException.ThrowIfNull(options);
        _now = now;
        if (IsTerminated || State is SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownSent or SctpAssociationState.ShutdownReceived or SctpAssociationState.ShutdownAckSent)
        {
            throw new InvalidOperationException($"Cannot send: the association is {(IsTerminated ? "closed" : "shutting down")}.");
        }

        if (payload.IsEmpty)
        {
            throw new ArgumentException("SCTP cannot carry an empty message (RFC 8831 §6.6 sends one byte with PPID 56/57 instead).", nameof(payload));
        }

        if (payload.Length > _options.MaxMessageSize)
        {
            throw new ArgumentException($"The message is {payload.Length} bytes; the maximum message size is {_options.MaxMessageSize}.", nameof(payload));
        }

        if (streamId >= _outboundStreamLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(streamId), $"Stream {streamId} is out of range: {_outboundStreamLimit} outbound streams.");
        }

        if (_totalBuffered + payload.Length > _options.MaxSendBufferSize)
        {
            throw new InvalidOperationException($"The send buffer is full ({_totalBuffered} of {_options.MaxSendBufferSize} bytes queued).");
        }

        if (options.MaxRetransmits is < 0 || options.MaxLifetimeMs is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxRetransmits and MaxLifetimeMs must not be negative.");
        }

        var stream = GetOutboundStream(streamId);
        var message = _messagePool.Count > 0 ? _messagePool.Pop() : new OutgoingMessage();
        message.Buffer = ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(message.Buffer);
        message.Length = payload.Length;
        message.Stream = stream;
        message.Ppid = ppid;
        message.Unordered = !options.Ordered;
        message.MaxRetransmits = options.MaxRetransmits ?? -1;
        message.ExpiresAt = options.MaxLifetimeMs is { } lifetime ? now + lifetime : long.MaxValue;
        stream.Enqueue(message);
        stream.BufferedAmount += payload.Length;
        _totalBuffered += payload.Length;
        Statistics.MessagesSent++;
        Schedule(stream);
    }

    /// <summary>Bytes queued on the stream by <see cref="Send"/> and not yet sent (W3C bufferedAmount).</summary>
    public long GetBufferedAmount(ushort streamId) =>
        _outStreams.TryGetValue(streamId, out var stream) ? stream.BufferedAmount : 0;

    /// <summary>
    /// Sets the level at or below which a decrease of the stream's buffered amount raises
    /// <see cref="SctpEventKind.BufferedAmountDecreased"/> (default 0: once the stream is drained).
    /// </summary>
    public void SetBufferedAmountLowThreshold(ushort streamId, long threshold)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        GetOutboundStream(streamId).BufferedAmountLowThreshold = threshold;
    }

    /// <summary>
    /// Resets outgoing streams (RFC 6525 Outgoing SSN Reset Request; RFC 8831 §6.7 closes a data
    /// channel this way). Messages already queued on them are sent first; the request goes out once
    /// they are acknowledged; messages sent after this call wait and use SSNs from 0. Completion is
    /// <see cref="SctpEventKind.OutgoingStreamsReset"/>.
    /// </summary>
    public void ResetStreams(ReadOnlySpan<ushort> outgoingStreamIds, long now)
    {
        _now = now;
        if (IsTerminated || State > SctpAssociationState.Established)
        {
            throw new InvalidOperationException("Cannot reset streams: the association is shutting down or closed.");
        }

        foreach (var id in outgoingStreamIds)
        {
            var stream = GetOutboundStream(id);
            if (stream.ResetRequested || stream.ResetInFlight)
            {
                continue;
            }

            stream.ResetRequested = true;
            stream.MessagesBeforeReset = stream.QueuedMessages;
            _resetRequestedCount++;
        }

        TrySendResetRequest();
    }

    /// <summary>
    /// Graceful close (RFC 9260 §9.2): queued data is sent and acknowledged, then SHUTDOWN.
    /// <see cref="SctpEventKind.Closed"/> follows. Before the association is up this just ends it.
    /// </summary>
    public void Shutdown(long now)
    {
        _now = now;
        if (IsTerminated)
        {
            return;
        }

        switch (State)
        {
            case SctpAssociationState.Closed:
            case SctpAssociationState.CookieWait:
            case SctpAssociationState.CookieEchoed:
                if (State != SctpAssociationState.Closed)
                {
                    QueueAbort(null, default);
                }

                Terminate(SctpEvent.Closed(), "shut down before the association was up");
                break;
            case SctpAssociationState.Established:
                State = SctpAssociationState.ShutdownPending;
                CheckShutdownProgress();
                break;
        }
    }

    /// <summary>Ends the association at once with ABORT (User-Initiated Abort carrying <paramref name="reason"/>).</summary>
    public void Abort(string reason, long now)
    {
        ArgumentNullException.ThrowIfNull(reason);
        _now = now;
        if (IsTerminated)
        {
            return;
        }

        if (State != SctpAssociationState.Closed)
        {
            Span<byte> text = stackalloc byte[128];
            var length = System.Text.Encoding.UTF8.GetBytes(reason.AsSpan(0, Math.Min(reason.Length, 32)), text);
            QueueAbort(SctpErrorCauseCode.UserInitiatedAbort, text[..length]);
        }

        Terminate(SctpEvent.Aborted(reason), "aborted locally: " + reason);
    }

    /// <summary>Takes the next event; false when there is none.</summary>
    public bool TryPollEvent(out SctpEvent e)
    {
        if (!_events.TryDequeue(out e))
        {
            return false;
        }

        if (e.Kind == SctpEventKind.MessageReceived)
        {
            _undeliveredBytes -= e.Payload!.Length;

            // Window update (§6.2): tell the peer when its view of our window reopens substantially.
            if (!IsTerminated && _lastAdvertisedWindow < _options.ReceiveWindow / 2 && CurrentReceiveWindow() >= _options.ReceiveWindow / 2)
            {
                _sackNow = true;
            }
        }

        return true;
    }

    /// <summary>The earliest deadline at which <see cref="HandleTimeout"/> must be called, or null.</summary>
    public long? PollTimeout()
    {
        var t = Math.Min(Math.Min(_t1Deadline, _t2Deadline), Math.Min(_t3Deadline, _delayedSackDeadline));
        t = Math.Min(t, Math.Min(_heartbeatDeadline, _reconfigDeadline));
        t = Math.Min(t, _pacingDeadline);
        return t == Never ? null : t;
    }

    /// <summary>Runs the timers that are due at <paramref name="now"/>.</summary>
    public void HandleTimeout(long now)
    {
        _now = now;
        if (_t1Deadline <= now)
        {
            OnT1Expired();
        }

        if (_t3Deadline <= now)
        {
            OnT3Expired();
        }

        if (_t2Deadline <= now)
        {
            OnT2Expired();
        }

        if (_reconfigDeadline <= now)
        {
            OnReconfigTimerExpired();
        }

        if (_heartbeatDeadline <= now)
        {
            OnHeartbeatTimerExpired();
        }

        if (_delayedSackDeadline <= now)
        {
            _delayedSackDeadline = Never;
            _sackNow = true;
        }

        if (_pacingDeadline <= now)
        {
            _pacingDeadline = Never; // PollTransmit refills the credit from the elapsed time
        }
    }

    private OutboundStream GetOutboundStream(ushort id)
    {
        if (!_outStreams.TryGetValue(id, out var stream))
        {
            stream = new OutboundStream(id);
            _outStreams.Add(id, stream);
        }

        return stream;
    }

    private void Schedule(OutboundStream stream)
    {
        if (!stream.Scheduled && stream.Head is not null && !stream.Paused)
        {
            stream.Scheduled = true;
            _readyStreams.Enqueue(stream);
        }
    }

    private void OnMessageReassembled(ushort streamId, uint ppid, byte[] payload, bool unordered)
    {
        _undeliveredBytes += payload.Length;
        Statistics.MessagesReceived++;
        _events.Enqueue(SctpEvent.Message(streamId, ppid, payload, unordered));
    }

    /// <summary>User data held in fragments (only one of the two queues is used, by the negotiated chunk kind).</summary>
    private long ReassemblyBufferedBytes => _reassembly.BufferedBytes + _interleavedReassembly.BufferedBytes;

    private uint CurrentReceiveWindow()
    {
        var used = ReassemblyBufferedBytes + _undeliveredBytes;
        return used >= _options.ReceiveWindow ? 0 : (uint)(_options.ReceiveWindow - used);
    }

    /// <summary>Ends the association: timers off, buffers back to their pools, one final event.</summary>
    private void Terminate(SctpEvent finalEvent, string why)
    {
        if (IsTerminated)
        {
            return;
        }

        IsTerminated = true;
        State = SctpAssociationState.Closed;
        _t1Deadline = _t2Deadline = _t3Deadline = _delayedSackDeadline = _heartbeatDeadline = _reconfigDeadline = Never;
        _sackNow = false;
        _forwardTsnPending = false;
        for (var i = 0; i < _sent.Count; i++)
        {
            ref var chunk = ref _sent[i];
            chunk.Message.FragmentsInQueue--;
            ReleaseIfDone(chunk.Message);
        }

        _sent.Reset(_nextTsn);
        foreach (var stream in _outStreams.Values)
        {
            while (stream.Head is not null)
            {
                var message = stream.Dequeue();
                message.Dequeued = true;
                message.NextOffset = message.Length;
                ReleaseIfDone(message);
            }

            stream.BufferedAmount = 0;
        }

        _currentMessage = null;
        _openMessages = 0;
        _openBytes = 0;
        _totalBuffered = 0;
        _readyStreams.Clear();
        _reassembly.Clear();
        _interleavedReassembly.Clear();
        Log(why);
        _events.Enqueue(finalEvent);
    }

    /// <summary>Association failure (§8.1, §8.2): too many timeouts. Sends ABORT and reports it.</summary>
    private void Fail(string reason)
    {
        if (_peerTag != 0)
        {
            QueueAbort(null, default);
        }

        Terminate(SctpEvent.Aborted(reason), "failed: " + reason);
    }

    private void ReleaseIfDone(OutgoingMessage message)
    {
        if (message.FragmentsInQueue == 0 && message.Dequeued)
        {
            ArrayPool<byte>.Shared.Return(message.Buffer);
            message.Clear();
            _messagePool.Push(message);
        }
    }

    private uint NewTag()
    {
        uint tag;
        do
        {
            tag = NextRandomUInt32();
        }
        while (tag == 0);
        return tag;
    }

    private uint NextRandomUInt32()
    {
        Span<byte> bytes = stackalloc byte[4];
        FillRandom(bytes);
        return BitConverter.ToUInt32(bytes);
    }

    private void FillRandom(Span<byte> destination)
    {
        if (_options.Random is { } random)
        {
            random.NextBytes(destination);
        }
        else
        {
            RandomNumberGenerator.Fill(destination);
        }
    }

    /// <summary>The initial (and idle restart) congestion window in bytes (RFC 9260 §7.2.1, see the option).</summary>
    private long InitialCongestionWindow
    {
        get
        {
            var mtu = _options.Mtu;
            return _options.InitialCongestionWindowMtus > 0
                ? (long)_options.InitialCongestionWindowMtus * mtu
                : Math.Min(4 * mtu, Math.Max(2 * mtu, 4380));
        }
    }

    private void UpdateRto(long measuredMs)
    {
        // RFC 9260 §6.3.1 (= RFC 6298 §2) with alpha = 1/8, beta = 1/4; the variance term is floored
        // at MinRtoVarianceMs (RFC 6298's G), so RTO >= SRTT + the peer's delayed-SACK time.
        var r = Math.Max(0, measuredMs);
        _minRtt = Math.Min(_minRtt, r);
        if (!_hasRtt)
        {
            _srtt = r;
            _rttvar = r / 2.0;
            _hasRtt = true;
        }
        else
        {
            _rttvar = (0.75 * _rttvar) + (0.25 * Math.Abs(_srtt - r));
            _srtt = (0.875 * _srtt) + (0.125 * r);
        }

        var rto = (long)Math.Ceiling(_srtt + Math.Max(Math.Max(1, _options.MinRtoVarianceMs), 4 * _rttvar));
        _rto = Math.Clamp(rto, _options.MinRtoMs, _options.MaxRtoMs);
    }

    private void BackOffRto() => _rto = Math.Min(_rto * 2, _options.MaxRtoMs);

    private void Log(string message)
    {
        if (_logger is not null && _logger.IsEnabled(LogLevel.Debug))
        {
            _logger.LogDebug("SCTP {Port}: {Message}", _options.LocalPort, message);
        }
    }
}
