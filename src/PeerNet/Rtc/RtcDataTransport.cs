using Microsoft.Extensions.Logging;
using PeerNet.DataChannels;
using PeerNet.Dtls;
using PeerNet.Ice;
using PeerNet.Sctp;

namespace PeerNet.Rtc;

/// <summary>
/// The part of a peer connection above ICE: DTLS (RFC 6347) carrying an SCTP association
/// (RFC 8261) carrying data channels (RFC 8831, DCEP RFC 8832). One lock and one timer drive the
/// two sans-I/O cores; datagrams come up from ICE and go down to it through <see cref="IRtcIcePath"/>.
/// </summary>
internal sealed class RtcDataTransport : IRtcDataChannelHost, IDisposable
{
    private const int MaxDatagram = 1500;

    private readonly object _gate = new();
    private readonly DtlsTransport _dtls;
    private readonly SctpAssociation _sctp;
    private readonly IRtcIcePath _ice;
    private readonly RtcEventLoop _events;
    private readonly ILogger _logger;
    private readonly Timer _timer;
    private readonly byte[] _rx = new byte[DtlsTransport.MaxApplicationDataSize];
    private readonly byte[] _tx = new byte[MaxDatagram + 512];
    private readonly byte[] _batch = new byte[UdpSegmentationOffload.MaxBytes];
    private readonly Dictionary<ushort, RtcDataChannel> _channels = [];
    private readonly HashSet<RtcDataChannel> _busy = [];
    private readonly HashSet<ushort> _incomingReset = [];
    private readonly HashSet<ushort> _outgoingReset = [];
    private readonly HashSet<ushort> _outgoingResetDone = [];
    private readonly List<RtcDataChannel> _pendingOpen = [];
    private readonly long _remoteMaxMessageSize;
    private readonly bool _isDtlsClient;
    private ushort _nextStreamId;
    private bool _sctpStarted;
    private bool _sctpConnected;
    private bool _failed;
    private bool _disposed;
    private long _armedDeadline = long.MaxValue;

    public RtcDataTransport(
        DtlsRole role,
        RtcCertificate certificate,
        IReadOnlyList<DtlsFingerprint> remoteFingerprints,
        int localMaxMessageSize,
        long remoteMaxMessageSize,
        bool messageInterleaving,
        ushort localSctpPort,
        ushort remoteSctpPort,
        IRtcIcePath ice,
        RtcEventLoop events,
        ILogger logger)
    {
        _ice = ice;
        _events = events;
        _logger = logger;
        _isDtlsClient = role == DtlsRole.Client;
        // RFC 8832 §6: the DTLS client uses even stream ids, the server odd ones.
        _nextStreamId = (ushort)(_isDtlsClient ? 0 : 1);
        _remoteMaxMessageSize = remoteMaxMessageSize;
        _dtls = new DtlsTransport(role, certificate, remoteFingerprints, new DtlsTransportOptions(), logger);
        _sctp = new SctpAssociation(new SctpAssociationOptions
        {
            LocalPort = localSctpPort,
            RemotePort = remoteSctpPort,
            MaxMessageSize = Math.Max(localMaxMessageSize, remoteMaxMessageSize is > 0 and <= int.MaxValue ? (int)remoteMaxMessageSize : localMaxMessageSize),
            EnableInterleaving = messageInterleaving,

            // The window caps throughput at window ÷ RTT: 1 MiB is 18 MB/s at 50 ms. 4 MiB (Chromium's
            // dcsctp offers 5) is held only while the application is slower than the network.
            ReceiveWindow = 4 * 1024 * 1024,
        });
        _timer = new Timer(static state => ((RtcDataTransport)state!).OnTimer(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Whether SCTP runs with I-DATA (both sides offered it, RFC 8260).</summary>
    public bool MessageInterleaving => _sctp.InterleavingNegotiated;

    /// <summary>DTLS connected (fingerprint checked).</summary>
    public event Action? DtlsConnected;

    /// <summary>SCTP association established: channels can open.</summary>
    public event Action? SctpConnected;

    /// <summary>A layer failed (raised once, on the event loop).</summary>
    public event Action<RtcConnectionException>? Failed;

    /// <summary>The remote opened a channel with DCEP.</summary>
    public event Action<RtcDataChannel>? RemoteChannelOpened;

    public DtlsTransportState DtlsState => _dtls.State;

    /// <summary>Whether we are the DTLS client (a=setup:active); renegotiation keeps the role (RFC 8842 §5.5).</summary>
    public bool IsDtlsClient => _isDtlsClient;

    public string? CipherSuite => _dtls.CipherSuite;

    public long RemoteMaxMessageSize => _remoteMaxMessageSize;

    public SctpAssociation Association => _sctp;

    /// <summary>Starts DTLS (the client sends its ClientHello) once ICE has a path.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_disposed) return;
            if (_dtls.State != DtlsTransportState.New) return;
            var now = MonotonicClock.Milliseconds;
            _dtls.Start(now);
            Pump(now);
        }
    }

    /// <summary>A DTLS datagram (first byte 20..63, RFC 7983) from the selected remote.</summary>
    public void HandleDatagram(ReadOnlySpan<byte> datagram)
    {
        lock (_gate)
        {
            if (_disposed) return;
            var now = MonotonicClock.Milliseconds;
            // The remote's ICE can be connected before ours is: its ClientHello starts our server.
            if (_dtls.State == DtlsTransportState.New) _dtls.Start(now);
            _dtls.HandleDatagram(datagram, now);
            Pump(now);
        }
    }

    /// <summary>Adds a channel created locally; it opens once SCTP is up.</summary>
    public void AddLocalChannel(RtcDataChannel channel)
    {
        lock (_gate)
        {
            if (channel.Id is null)
            {
                channel.Id = AllocateStreamId();
            }
            else if (_channels.ContainsKey(channel.Id.Value))
            {
                throw new InvalidOperationException($"stream id {channel.Id} is already in use by another data channel");
            }
            _channels[channel.Id.Value] = channel;
            if (_sctpConnected) OpenLocalChannel(channel, MonotonicClock.Milliseconds);
            else _pendingOpen.Add(channel);
            Pump(MonotonicClock.Milliseconds);
        }
    }

    public void Send(RtcDataChannel channel, ReadOnlySpan<byte> payload, bool isText)
    {
        // RFC 8841 §6: never send a message larger than the remote's a=max-message-size (0 = no limit).
        if (_remoteMaxMessageSize > 0 && payload.Length > _remoteMaxMessageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), payload.Length,
                $"a message of {payload.Length} bytes is larger than the remote's max-message-size of {_remoteMaxMessageSize} bytes");
        }
        lock (_gate)
        {
            if (_disposed || channel.Id is not { } id || channel.ReadyState != RtcDataChannelState.Open)
                throw new InvalidOperationException($"data channel '{channel.Label}' is not open");
            var now = MonotonicClock.Milliseconds;
            var options = channel.SctpSendOptions;
            if (payload.IsEmpty)
            {
                // RFC 8831 §6.6: SCTP cannot carry nothing; one byte with the "empty" PPID stands in.
                _sctp.Send(id, isText ? DataChannelPayloadProtocol.StringEmpty : DataChannelPayloadProtocol.BinaryEmpty, [0], options, now);
            }
            else
            {
                _sctp.Send(id, isText ? DataChannelPayloadProtocol.String : DataChannelPayloadProtocol.Binary, payload, options, now);
            }
            channel.SetBufferedAmount(_sctp.GetBufferedAmount(id));
            _busy.Add(channel);
            Pump(now);
        }
    }

    public void Close(RtcDataChannel channel)
    {
        lock (_gate)
        {
            if (!channel.TryMarkClosing()) return;
            if (channel.Id is not { } id || _disposed || !_sctpConnected)
            {
                MarkClosed(channel, null);
                return;
            }
            var now = MonotonicClock.Milliseconds;
            RequestOutgoingReset(id, now);
            Pump(now);
        }
    }

    /// <summary>Closes every channel, sends SCTP ABORT-free shutdown and DTLS close_notify.</summary>
    public void Shutdown()
    {
        lock (_gate)
        {
            if (_disposed) return;
            var now = MonotonicClock.Milliseconds;
            foreach (var channel in _channels.Values.ToArray()) MarkClosed(channel, null);
            try
            {
                if (_sctpConnected && !_sctp.IsTerminated) _sctp.Abort("peer connection closed", now);
                Pump(now);
                if (_dtls.State == DtlsTransportState.Connected) _dtls.Close(now);
                FlushDtls();
            }
            catch (Exception e) when (e is InvalidOperationException)
            {
                _logger.LogDebug(e, "closing the transport");
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _timer.Dispose();
        _dtls.Dispose();
    }

    private ushort AllocateStreamId()
    {
        // Stream ids of our parity, skipping ones in use; 65535 is reserved (RFC 8832 §6 / W3C).
        for (var tries = 0; tries < 32768; tries++)
        {
            var id = _nextStreamId;
            _nextStreamId = (ushort)(_nextStreamId + 2);
            if (_nextStreamId >= 65534) _nextStreamId = (ushort)(_isDtlsClient ? 0 : 1);
            if (!_channels.ContainsKey(id)) return id;
        }
        throw new InvalidOperationException("no free SCTP stream id for another data channel");
    }

    private void OpenLocalChannel(RtcDataChannel channel, long now)
    {
        var id = channel.Id!.Value;
        if (!channel.Negotiated)
        {
            var type = DataChannelTypeExtensions.From(channel.Ordered, channel.MaxRetransmits, channel.MaxPacketLifeTime);
            var reliability = (uint)(channel.MaxRetransmits ?? channel.MaxPacketLifeTime ?? 0);
            var open = new DataChannelOpen(type, DataChannelOpen.NormalPriority, reliability, channel.Label, channel.Protocol);
            // RFC 8832 §6: DATA_CHANNEL_OPEN goes reliable and ordered, whatever the channel is.
            _sctp.Send(id, DataChannelPayloadProtocol.Dcep, open.ToArray(), SctpSendOptions.Default, now);
        }
        // W3C: the opener may send at once; SCTP's ordered delivery puts OPEN first on the stream.
        if (channel.TryMarkOpen()) _events.Post(channel.RaiseOpen);
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _armedDeadline = long.MaxValue;
            var now = MonotonicClock.Milliseconds;
            if (_dtls.PollTimeout() is { } d && d <= now) _dtls.HandleTimeout(now);
            if (_sctpStarted && _sctp.PollTimeout() is { } s && s <= now) _sctp.HandleTimeout(now);
            Pump(now);
        }
    }

    /// <summary>Moves bytes and events between the layers until nothing moves, then arms the timer.</summary>
    private void Pump(long now)
    {
        for (var round = 0; round < 1000; round++)
        {
            var moved = false;
            while (_dtls.TryPollEvent(out var dtlsEvent))
            {
                moved = true;
                OnDtlsEvent(dtlsEvent, now);
            }
            int length;
            while ((length = _dtls.ReadApplicationData(_rx)) >= 0)
            {
                moved = true;
                if (length > 0 && _sctpStarted) _sctp.HandlePacket(_rx.AsSpan(0, length), now);
            }
            if (_sctpStarted)
            {
                while (_sctp.TryPollEvent(out var sctpEvent))
                {
                    moved = true;
                    OnSctpEvent(sctpEvent, now);
                }
                if (_dtls.State == DtlsTransportState.Connected)
                {
                    while ((length = _sctp.PollTransmit(_tx)) > 0)
                    {
                        moved = true;
                        _dtls.Send(_tx.AsSpan(0, length), now);
                    }
                }
            }
            moved |= FlushDtls();
            if (!moved) break;
        }
        UpdateBufferedAmounts();
        ArmTimer(now);
    }

    /// <summary>
    /// Sends what DTLS has ready. Runs of equal-sized datagrams (full records, the usual case while
    /// data flows) are gathered in <see cref="_batch"/> and leave in one system call where the
    /// socket can (UDP segmentation offload); a shorter datagram may end a run.
    /// </summary>
    private bool FlushDtls()
    {
        var moved = false;
        var used = 0;
        var segmentSize = 0;
        int length;
        while ((length = _dtls.PollTransmit(_batch.AsSpan(used))) > 0)
        {
            moved = true;
            if (used == 0)
            {
                segmentSize = length;
            }
            else if (length > segmentSize)
            {
                // Longer than the run: the run goes first, this one starts the next.
                SendBatch(_batch.AsSpan(0, used), segmentSize);
                _batch.AsSpan(used, length).CopyTo(_batch);
                used = 0;
                segmentSize = length;
            }
            used += length;
            var full = used / segmentSize >= UdpSegmentationOffload.MaxSegments || _batch.Length - used < _tx.Length;
            if (length < segmentSize || full)
            {
                SendBatch(_batch.AsSpan(0, used), segmentSize);
                used = 0;
            }
        }
        if (used > 0) SendBatch(_batch.AsSpan(0, used), segmentSize);
        return moved;
    }

    private void SendBatch(ReadOnlySpan<byte> segments, int segmentSize)
    {
        if (segments.Length == segmentSize) _ice.Send(segments);
        else _ice.SendSegments(segments, segmentSize);
    }

    private void ArmTimer(long now)
    {
        var deadline = long.MaxValue;
        if (_dtls.PollTimeout() is { } d) deadline = d;
        if (_sctpStarted && _sctp.PollTimeout() is { } s && s < deadline) deadline = s;
        if (deadline == _armedDeadline) return;
        _armedDeadline = deadline;
        if (deadline == long.MaxValue) _timer.Change(Timeout.Infinite, Timeout.Infinite);
        else _timer.Change(Math.Max(0, deadline - now), Timeout.Infinite);
    }

    private void UpdateBufferedAmounts()
    {
        if (_busy.Count == 0) return;
        List<RtcDataChannel>? drained = null;
        foreach (var channel in _busy)
        {
            if (channel.Id is not { } id) continue;
            var amount = _sctp.GetBufferedAmount(id);
            if (channel.SetBufferedAmount(amount)) _events.Post(channel.RaiseBufferedAmountLow);
            if (amount == 0) (drained ??= []).Add(channel);
        }
        if (drained is not null) foreach (var channel in drained) _busy.Remove(channel);
    }

    private void OnDtlsEvent(DtlsEvent e, long now)
    {
        switch (e.Kind)
        {
            case DtlsEventKind.Connected:
                _logger.LogDebug("DTLS connected with {Suite}", e.CipherSuite);
                _events.Post(() => DtlsConnected?.Invoke());
                // Both sides send INIT, as browsers do; RFC 9260 §5.2.4 settles the collision.
                _sctpStarted = true;
                _sctp.Connect(now);
                break;
            case DtlsEventKind.Failed:
                Fail(new RtcConnectionException(RtcFailureLayer.Dtls, e.Failure?.Message ?? "the DTLS handshake failed"));
                break;
            case DtlsEventKind.Closed:
                CloseAllChannels(null);
                break;
        }
    }

    private void OnSctpEvent(in SctpEvent e, long now)
    {
        switch (e.Kind)
        {
            case SctpEventKind.Connected:
                _sctpConnected = true;
                _events.Post(() => SctpConnected?.Invoke());
                foreach (var channel in _pendingOpen)
                {
                    if (channel.ReadyState == RtcDataChannelState.Connecting) OpenLocalChannel(channel, now);
                }
                _pendingOpen.Clear();
                break;
            case SctpEventKind.MessageReceived:
                OnMessage(e.StreamId, e.PayloadProtocolIdentifier, e.Payload ?? [], now);
                break;
            case SctpEventKind.StreamsReset:
                foreach (var id in e.StreamIds ?? []) OnIncomingReset(id, now);
                break;
            case SctpEventKind.OutgoingStreamsReset:
                foreach (var id in e.StreamIds ?? []) OnOutgoingResetDone(id);
                break;
            case SctpEventKind.OutgoingStreamsResetFailed:
                foreach (var id in e.StreamIds ?? [])
                {
                    if (_channels.TryGetValue(id, out var channel)) MarkClosed(channel, null);
                }
                break;
            case SctpEventKind.BufferedAmountDecreased:
                if (_channels.TryGetValue(e.StreamId, out var busy)) _busy.Add(busy);
                break;
            case SctpEventKind.Closed:
                CloseAllChannels(null);
                break;
            case SctpEventKind.Aborted:
                if (!_sctpConnected) Fail(new RtcConnectionException(RtcFailureLayer.Sctp, e.Reason ?? "the SCTP association was aborted"));
                else CloseAllChannels(new RtcConnectionException(RtcFailureLayer.Sctp, e.Reason ?? "the SCTP association was aborted"));
                break;
        }
    }

    private void OnMessage(ushort streamId, uint ppid, byte[] payload, long now)
    {
        if (ppid == DataChannelPayloadProtocol.Dcep)
        {
            OnDcep(streamId, payload, now);
            return;
        }
        if (!_channels.TryGetValue(streamId, out var channel))
        {
            _logger.LogDebug("dropped a message on stream {Stream}, which has no data channel", streamId);
            return;
        }
        switch (ppid)
        {
            case DataChannelPayloadProtocol.String or DataChannelPayloadProtocol.StringPartial:
                _events.Post(() => channel.Deliver(payload, isText: true));
                break;
            case DataChannelPayloadProtocol.Binary or DataChannelPayloadProtocol.BinaryPartial:
                _events.Post(() => channel.Deliver(payload, isText: false));
                break;
            case DataChannelPayloadProtocol.StringEmpty:
                _events.Post(() => channel.Deliver([], isText: true));
                break;
            case DataChannelPayloadProtocol.BinaryEmpty:
                _events.Post(() => channel.Deliver([], isText: false));
                break;
            default:
                _logger.LogDebug("dropped a message with unknown PPID {Ppid} on stream {Stream}", ppid, streamId);
                break;
        }
    }

    private void OnDcep(ushort streamId, byte[] payload, long now)
    {
        if (DataChannelAck.Is(payload))
        {
            return; // RFC 8832 §6: the ACK only ends the opener's "ordered until acknowledged" period.
        }
        if (!DataChannelOpen.TryParse(payload, out var open, out var error))
        {
            _logger.LogWarning("dropped a malformed DCEP message on stream {Stream}: {Error}", streamId, error);
            return;
        }
        if (_channels.ContainsKey(streamId))
        {
            _logger.LogWarning("dropped DATA_CHANNEL_OPEN for stream {Stream}, which is already in use", streamId);
            return;
        }
        if ((streamId & 1) == (_isDtlsClient ? 0 : 1))
        {
            // RFC 8832 §6: the remote must use the other parity, or our ids could collide with its.
            _logger.LogWarning("dropped DATA_CHANNEL_OPEN for stream {Stream}: that parity is ours", streamId);
            return;
        }
        var init = new RtcDataChannelInit
        {
            Ordered = !open!.ChannelType.IsUnordered(),
            MaxRetransmits = open.ChannelType.IsRexmit() ? (int)Math.Min(open.ReliabilityParameter, ushort.MaxValue) : null,
            MaxPacketLifeTime = open.ChannelType.IsTimed() ? (int)Math.Min(open.ReliabilityParameter, ushort.MaxValue) : null,
            Protocol = open.Protocol,
        };
        var channel = new RtcDataChannel(this, open.Label, init, streamId);
        _channels[streamId] = channel;
        _sctp.Send(streamId, DataChannelPayloadProtocol.Dcep, DataChannelAck.Bytes, SctpSendOptions.Default, now);
        channel.TryMarkOpen();
        _events.Post(() =>
        {
            RemoteChannelOpened?.Invoke(channel);
            channel.RaiseOpen();
        });
    }

    private void RequestOutgoingReset(ushort id, long now)
    {
        if (_outgoingReset.Contains(id)) return;
        _outgoingReset.Add(id);
        try
        {
            _sctp.ResetStreams([id], now);
        }
        catch (InvalidOperationException)
        {
            if (_channels.TryGetValue(id, out var channel)) MarkClosed(channel, null);
        }
    }

    private void OnIncomingReset(ushort id, long now)
    {
        if (!_channels.TryGetValue(id, out var channel)) return;
        _incomingReset.Add(id);
        // RFC 8831 §6.7: the remote closed its direction; close ours too.
        if (channel.TryMarkClosing()) _events.Post(channel.RaiseClosing);
        if (!_outgoingReset.Contains(id)) RequestOutgoingReset(id, now);
        else if (!_sctp.IsTerminated && IsOutgoingResetDone(id)) MarkClosed(channel, null);
    }

    private bool IsOutgoingResetDone(ushort id) => _outgoingResetDone.Contains(id);

    private void OnOutgoingResetDone(ushort id)
    {
        _outgoingResetDone.Add(id);
        if (_channels.TryGetValue(id, out var channel) && _incomingReset.Contains(id)) MarkClosed(channel, null);
    }

    private void MarkClosed(RtcDataChannel channel, Exception? error)
    {
        if (channel.Id is { } id && _channels.TryGetValue(id, out var existing) && ReferenceEquals(existing, channel))
        {
            _channels.Remove(id);
            _incomingReset.Remove(id);
            _outgoingReset.Remove(id);
            _outgoingResetDone.Remove(id);
        }
        _busy.Remove(channel);
        if (channel.TryMarkClosed()) _events.Post(() => channel.RaiseClosed(error));
    }

    private void CloseAllChannels(Exception? error)
    {
        foreach (var channel in _channels.Values.ToArray()) MarkClosed(channel, error);
        foreach (var channel in _pendingOpen) MarkClosed(channel, error);
        _pendingOpen.Clear();
    }

    private void Fail(RtcConnectionException error)
    {
        if (_failed) return;
        _failed = true;
        _logger.LogWarning("{Error}", error.Message);
        CloseAllChannels(error);
        _events.Post(() => Failed?.Invoke(error));
    }
}

/// <summary>How the data transport reaches the network: the ICE agent's selected pair.</summary>
internal interface IRtcIcePath
{
    /// <summary>Sends one datagram to the remote over the selected candidate pair (dropped if there is none yet).</summary>
    void Send(ReadOnlySpan<byte> datagram);

    /// <summary>Sends datagrams laid end to end, each <paramref name="segmentSize"/> bytes but perhaps the last, in as few system calls as the socket allows.</summary>
    void SendSegments(ReadOnlySpan<byte> segments, int segmentSize);
}
