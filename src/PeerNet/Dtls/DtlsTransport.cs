using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;

namespace PeerNet.Dtls;

/// <summary>
/// One DTLS 1.2 association (RFC 6347) over the datagrams of an ICE transport, as WebRTC uses it
/// (RFC 8827, RFC 8842): ECDSA certificates on both sides, each checked only against the fingerprint
/// the peer put in its SDP. Shaped as a sans-I/O core: datagrams and the time go in
/// (<see cref="HandleDatagram"/>, <see cref="HandleTimeout"/>), datagrams, a timer and events come out
/// (<see cref="PollTransmit"/>, <see cref="PollTimeout"/>, <see cref="TryPollEvent"/>). Mirrors W3C
/// <c>RTCDtlsTransport</c>.
/// </summary>
/// <remarks>
/// <para>
/// BouncyCastle performs the handshake as one blocking call, so while <see cref="State"/> is
/// <see cref="DtlsTransportState.Connecting"/> a dedicated worker thread runs it. The worker and the
/// caller take turns: each call that feeds it (<see cref="Start"/>, <see cref="HandleDatagram"/>,
/// <see cref="HandleTimeout"/>) waits until it has consumed its input and blocks again, so the
/// response is ready to <see cref="PollTransmit"/> when the call returns. Retransmission timers run
/// on the monotonic clock inside BouncyCastle; <see cref="PollTimeout"/> reports them in the
/// caller's clock. When the handshake ends the thread ends; records are then encrypted and decrypted
/// synchronously on the caller's thread and no thread stays blocked.
/// </para>
/// <para>
/// After the handshake, records of the AEAD suites (AES-GCM, ChaCha20-Poly1305) are protected by our own
/// record layer, <see cref="DtlsRecordProtection"/> over the BCL's ciphers, with keys derived from the
/// handshake's master secret: a record is encrypted straight into the send queue and decrypted straight
/// into the receive queue, and the steady state allocates nothing. It continues the epoch 1 sequence
/// numbers after BouncyCastle's Finished, answers a retransmitted final flight of the peer with ours
/// (RFC 6347 §4.2.4), and keeps a replay window (RFC 6347 §4.1.2.6). For other suites (AES_128_CBC_SHA)
/// BouncyCastle's record layer stays in use.
/// </para>
/// <para>Every member is thread-safe; one driver thread is expected.</para>
/// </remarks>
public sealed class DtlsTransport : IDisposable, IDtlsHandshakeObserver
{
    /// <summary>The most application data one record carries (RFC 5246 §6.2.1: 2^14 bytes).</summary>
    public const int MaxApplicationDataSize = 1 << 14;

    // How long a driver call waits for the worker to finish one step (first use JITs BouncyCastle).
    private const int WorkerStepBudgetMillis = 5000;
    // PollTimeout while the worker is still busy past that budget: look again soon.
    private const int BusyPollMillis = 5;
    private const int JoinTimeoutMillis = 2000;

    private readonly object _gate = new();
    private readonly RtcCertificate _localCertificate;
    private readonly DtlsFingerprint[] _remoteFingerprints;
    private readonly DtlsTransportOptions _options;
    private readonly ILogger _logger;
    private readonly DtlsDatagramChannel _channel;
    private readonly Queue<DtlsEvent> _events = new();
    // Decrypted application data waiting for ReadApplicationData, and our protected datagrams waiting for PollTransmit.
    private readonly DtlsRecordQueue _received;
    private readonly DtlsRecordQueue _outbound;
    private readonly BcTlsCrypto _crypto;
    private DtlsClientPeer? _clientPeer;
    private DtlsServerPeer? _serverPeer;

    private DtlsTransportState _state;
    private DtlsFailure? _failure;
    private DtlsFailure? _certificateFailure;
    private DtlsFingerprint? _matchedFingerprint;
    private DtlsCiphertextRule? _ciphertextRule;
    private string? _cipherSuite;
    private bool _closeNotifyReceived;
    private bool _disposed;
    private long _handshakeDeadline;
    private Thread? _worker;
    // After the handshake exactly one of these protects records: ours, or BouncyCastle's for suites ours lacks.
    private DtlsRecordProtection? _protection;
    private BcDtlsTransport? _association;
    private DtlsFinalFlight? _finalFlight;
    private bool _handshakeLeftoversTaken;
    // Where records are decrypted when they do not go to the receive queue (alerts, a full queue, BouncyCastle's reads).
    private byte[]? _plaintext;

    private long _packetsReceived, _packetsDropped, _packetsSent, _messagesReceived, _messagesDiscarded, _messagesSent, _bytesReceived, _bytesSent;
    private long _recordsDropped, _transmitsDropped;
    private readonly long[] _dropCounts = new long[Enum.GetValues<DtlsDropReason>().Length];

    /// <summary>Creates a transport; nothing is sent before <see cref="Start"/>.</summary>
    /// <param name="role">Client or server, from <c>a=setup</c> (RFC 8842 §5).</param>
    /// <param name="localCertificate">Our certificate; its fingerprint is in our SDP.</param>
    /// <param name="remoteFingerprints">The peer's <c>a=fingerprint</c> values; its certificate must match one.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="logger">Optional logger.</param>
    public DtlsTransport(DtlsRole role, RtcCertificate localCertificate, IReadOnlyList<DtlsFingerprint> remoteFingerprints, DtlsTransportOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(localCertificate);
        ArgumentNullException.ThrowIfNull(remoteFingerprints);
        if (role is not (DtlsRole.Client or DtlsRole.Server))
            throw new ArgumentOutOfRangeException(nameof(role), role, "The role must be Client or Server.");
        if (remoteFingerprints.Count == 0)
            throw new ArgumentException("At least one remote fingerprint is needed: WebRTC never accepts a peer without checking its certificate (RFC 8842 §5).", nameof(remoteFingerprints));
        foreach (DtlsFingerprint? fingerprint in remoteFingerprints)
        {
            if (fingerprint is null)
                throw new ArgumentException("A remote fingerprint is null.", nameof(remoteFingerprints));
        }

        options ??= new DtlsTransportOptions();
        options.Validate();
        // A private copy: later changes to the caller's options object do not reach a running handshake.
        _options = new DtlsTransportOptions
        {
            Mtu = options.Mtu,
            HandshakeTimeout = options.HandshakeTimeout,
            InitialRetransmissionTimeout = options.InitialRetransmissionTimeout,
            HelloVerifyRequest = options.HelloVerifyRequest,
            MaxPendingApplicationData = options.MaxPendingApplicationData,
            MaxPendingTransmits = options.MaxPendingTransmits,
            CipherSuites = options.CipherSuites,
            BouncyCastleRecordLayer = options.BouncyCastleRecordLayer,
        };
        Role = role;
        _localCertificate = localCertificate;
        _remoteFingerprints = [.. remoteFingerprints];
        _logger = logger ?? NullLogger.Instance;
        // One generator per transport: SecureRandom draws on the OS generator and is not shared across threads.
        _crypto = new BcTlsCrypto(new SecureRandom());
        _channel = new DtlsDatagramChannel(_gate, _options.Mtu, maxInbound: 64, maxOutbound: _options.MaxPendingTransmits);
        _received = new DtlsRecordQueue(_options.MaxPendingApplicationData);
        _outbound = new DtlsRecordQueue(_options.MaxPendingTransmits);
    }

    /// <summary>Client or server.</summary>
    public DtlsRole Role { get; }

    /// <summary>The current state (W3C <c>RTCDtlsTransport.state</c>).</summary>
    public DtlsTransportState State
    {
        get { lock (_gate) return _state; }
    }

    /// <summary>Why the transport failed, once <see cref="State"/> is <see cref="DtlsTransportState.Failed"/>.</summary>
    public DtlsFailure? Failure
    {
        get { lock (_gate) return _failure; }
    }

    /// <summary>The IANA name of the negotiated cipher suite, once connected.</summary>
    public string? CipherSuite
    {
        get { lock (_gate) return _cipherSuite; }
    }

    /// <summary>The SDP fingerprint the peer's certificate matched, once it did.</summary>
    public DtlsFingerprint? RemoteFingerprint
    {
        get { lock (_gate) return _matchedFingerprint; }
    }

    /// <summary>Whether the handshake thread is still running (for tests: it must end with the handshake).</summary>
    internal bool IsWorkerAlive => _worker?.IsAlive ?? false;

    /// <summary>For tests: whether our own record layer (not BouncyCastle's) protects the records.</summary>
    internal bool UsesOwnRecordLayer
    {
        get { lock (_gate) return _protection is not null; }
    }

    /// <summary>For tests: the sequence number our next own record gets, or null without our record layer.</summary>
    internal ulong? NextWriteSequence
    {
        get { lock (_gate) return _protection?.NextWriteSequence; }
    }

    /// <summary>For tests: how often our final flight was sent again.</summary>
    internal int FinalFlightResends
    {
        get { lock (_gate) return _finalFlight?.Resends ?? 0; }
    }

    /// <summary>For tests: sends an alert through our record layer, as a peer giving up or warning would.</summary>
    internal void SendAlertForTest(DtlsAlertDescription description, bool fatal, long now)
    {
        lock (_gate)
        {
            _channel.UpdateClock(now);
            if (_protection is null || _state != DtlsTransportState.Connected)
                throw new InvalidOperationException("Only our record layer, connected, sends test alerts.");
            SendAlert(fatal ? AlertLevel.fatal : AlertLevel.warning, (short)description, "test");
        }
    }

    /// <summary>For tests: how many datagrams or records were dropped for this reason.</summary>
    internal long DropCount(DtlsDropReason reason)
    {
        lock (_gate)
            return _dropCounts[(int)reason];
    }

    /// <summary>Counters.</summary>
    public DtlsTransportStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                return new DtlsTransportStatistics(_packetsReceived, _packetsDropped, _packetsSent, _channel.TransmitsDropped + _transmitsDropped,
                    _messagesReceived, _messagesDiscarded, _messagesSent, _bytesReceived, _bytesSent, _recordsDropped);
            }
        }
    }

    /// <summary>Starts the handshake; as client, the ClientHello is then ready to <see cref="PollTransmit"/>.</summary>
    /// <exception cref="InvalidOperationException">Already started or closed.</exception>
    public void Start(long now)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_state != DtlsTransportState.New)
                throw new InvalidOperationException($"The DTLS transport was already started (state {_state}).");
            _channel.UpdateClock(now);
            _handshakeDeadline = now + _options.HandshakeTimeout;
            _state = DtlsTransportState.Connecting;
            DtlsLog.HandshakeStarted(_logger, Role);

            if (Role == DtlsRole.Client)
                _clientPeer = new DtlsClientPeer(_crypto, _localCertificate, _options, this);
            else
                _serverPeer = new DtlsServerPeer(_crypto, _localCertificate, _options, this);

            _worker = new Thread(RunHandshake, maxStackSize: 1024 * 1024)
            {
                IsBackground = true,
                Name = $"PeerNet DTLS {Role} handshake",
            };
            _channel.WorkerStarting();
            _worker.Start();
            _channel.WaitUntilIdle(WorkerStepBudget(now));
            AfterWorkerStep();
        }
    }

    /// <summary>
    /// Takes a datagram from the ICE transport (RFC 7983: first byte 20..63). Malformed datagrams are
    /// dropped and counted; they never fail the association.
    /// </summary>
    public void HandleDatagram(ReadOnlySpan<byte> datagram, long now)
    {
        lock (_gate)
        {
            _channel.UpdateClock(now);
            _packetsReceived++;
            if (!DtlsRecordHeader.IsWellFormedDatagram(datagram, out DtlsDropReason reason))
            {
                Drop(datagram.Length, reason);
                return;
            }
            if (_ciphertextRule is DtlsCiphertextRule rule && !DtlsRecordHeader.HasValidCiphertextLengths(datagram, rule))
            {
                Drop(datagram.Length, DtlsDropReason.BadCiphertextLength);
                return;
            }
            switch (_state)
            {
                case DtlsTransportState.New:
                    // The peer may start before we do (its ICE finished first): keep it for the worker.
                    if (!_channel.EnqueueInbound(datagram))
                        Drop(datagram.Length, DtlsDropReason.QueueFull);
                    return;
                case DtlsTransportState.Connecting:
                    if (!_channel.EnqueueInbound(datagram))
                    {
                        Drop(datagram.Length, DtlsDropReason.QueueFull);
                        return;
                    }
                    _channel.WaitUntilIdle(WorkerStepBudget(now));
                    AfterWorkerStep();
                    return;
                case DtlsTransportState.Connected:
                    if (DtlsRecordHeader.HasPlaintextAlertOrData(datagram))
                    {
                        Drop(datagram.Length, DtlsDropReason.Unprotected);
                        return;
                    }
                    if (_protection is not null)
                    {
                        TakeHandshakeLeftovers(now);
                        ReceiveProtected(datagram, now);
                        return;
                    }
                    if (!_channel.EnqueueInbound(datagram))
                    {
                        Drop(datagram.Length, DtlsDropReason.QueueFull);
                        return;
                    }
                    ReceiveRecords();
                    return;
                default:
                    Drop(datagram.Length, DtlsDropReason.NotOpen);
                    return;
            }
        }
    }

    /// <summary>Copies the next datagram to send into <paramref name="destination"/>; returns its length, or 0 when there is none.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is smaller than the datagram (which stays queued).</exception>
    public int PollTransmit(Span<byte> destination)
    {
        lock (_gate)
        {
            // Handshake datagrams (our last flight) go before any record of ours.
            int length = _channel.PollTransmit(destination);
            if (length == 0)
                length = Math.Max(_outbound.Dequeue(destination), 0);
            if (length > 0)
                _packetsSent++;
            return length;
        }
    }

    /// <summary>When <see cref="HandleTimeout"/> should next be called (the caller's clock), or null for never.</summary>
    public long? PollTimeout()
    {
        lock (_gate)
        {
            // A handshake that completed while no driver call waited for it leaves records to read: look at once.
            if (_state == DtlsTransportState.Connected && _protection is not null && !_handshakeLeftoversTaken)
                return _channel.LastNow;
            if (_state != DtlsTransportState.Connecting)
                return null;
            long deadline = _handshakeDeadline;
            switch (_channel.Phase)
            {
                case HandshakeWorkerPhase.Waiting:
                    deadline = Math.Min(deadline, _channel.WaitDeadline);
                    break;
                case HandshakeWorkerPhase.Running:
                    deadline = Math.Min(deadline, _channel.LastNow + BusyPollMillis);
                    break;
            }
            return deadline;
        }
    }

    /// <summary>Runs what is due: handshake retransmissions and the handshake timeout.</summary>
    public void HandleTimeout(long now)
    {
        lock (_gate)
        {
            _channel.UpdateClock(now);
            if (_state == DtlsTransportState.Connected && _protection is not null)
                TakeHandshakeLeftovers(now);
            if (_state != DtlsTransportState.Connecting)
                return;
            if (now >= _handshakeDeadline)
            {
                // Stop the worker first: nothing it would still send matters.
                _channel.Abort();
                Fail(new DtlsFailure(DtlsFailureReason.HandshakeTimeout,
                    $"No DTLS handshake completed within {_options.HandshakeTimeout} ms; the peer never answered, or its answers were lost."));
                return;
            }
            switch (_channel.Phase)
            {
                case HandshakeWorkerPhase.Running:
                    _channel.WaitUntilIdle(WorkerStepBudget(now));
                    AfterWorkerStep();
                    break;
                case HandshakeWorkerPhase.Waiting when now >= _channel.WaitDeadline:
                    // The retransmission timer is due in our clock; let BouncyCastle's own clock agree and retransmit.
                    _channel.WaitForWake(WorkerStepBudget(now));
                    AfterWorkerStep();
                    break;
            }
        }
    }

    /// <summary>Takes the next event, if any.</summary>
    public bool TryPollEvent(out DtlsEvent e)
    {
        lock (_gate)
            return _events.TryDequeue(out e);
    }

    /// <summary>
    /// Copies the next received application data record into <paramref name="destination"/> and returns
    /// its length (which may be 0), or -1 when none is waiting. Records keep their boundaries: one SCTP
    /// packet per record. A buffer of <see cref="MaxApplicationDataSize"/> bytes always suffices.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is smaller than the record (which stays queued).</exception>
    public int ReadApplicationData(Span<byte> destination)
    {
        lock (_gate)
        {
            int length = _received.PeekLength();
            if (length < 0)
                return -1;
            if (destination.Length < length)
                throw new ArgumentException($"The destination holds {destination.Length} bytes; the next record has {length}.", nameof(destination));
            return _received.Dequeue(destination);
        }
    }

    /// <summary>Encrypts one application data record (e.g. an SCTP packet); the datagram is then ready to <see cref="PollTransmit"/>.</summary>
    /// <exception cref="InvalidOperationException">The transport is not <see cref="DtlsTransportState.Connected"/>.</exception>
    /// <exception cref="ArgumentException">More than <see cref="MaxApplicationDataSize"/> bytes.</exception>
    public void Send(ReadOnlySpan<byte> applicationData, long now)
    {
        lock (_gate)
        {
            _channel.UpdateClock(now);
            if (_state != DtlsTransportState.Connected || _closeNotifyReceived)
            {
                string why = _state == DtlsTransportState.Failed && _failure is not null ? $" ({_failure.Message})" : "";
                throw new InvalidOperationException($"Cannot send application data: the DTLS transport is {_state}{why}; it must be Connected.");
            }
            if (applicationData.Length > MaxApplicationDataSize)
                throw new ArgumentException($"A DTLS record carries at most {MaxApplicationDataSize} bytes; got {applicationData.Length}.", nameof(applicationData));
            try
            {
                if (_protection is not null)
                    Protect(DtlsContentType.ApplicationData, applicationData);
                else
                    _association!.Send(applicationData);
            }
            catch (Exception e)
            {
                Fail(new DtlsFailure(DtlsFailureReason.ProtocolError, $"Encrypting a record failed: {e.Message}"));
                throw new InvalidOperationException($"Cannot send application data: {e.Message}", e);
            }
            _messagesSent++;
            _bytesSent += applicationData.Length;
        }
    }

    /// <summary>
    /// Closes the association: when connected, a close_notify alert is queued for <see cref="PollTransmit"/>
    /// (RFC 5246 §7.2.1); a running handshake is stopped. Raises <see cref="DtlsEventKind.Closed"/>.
    /// </summary>
    public void Close(long now)
    {
        lock (_gate)
        {
            _channel.UpdateClock(now);
            CloseCore();
        }
    }

    private void CloseCore()
    {
        switch (_state)
        {
            case DtlsTransportState.New:
            case DtlsTransportState.Connecting:
                _channel.Abort();
                SetClosed(byPeer: false);
                break;
            case DtlsTransportState.Connected:
                try
                {
                    if (_protection is not null)
                        SendAlert(AlertLevel.warning, AlertDescription.close_notify, "closing");
                    else
                        _association!.Close();
                }
                catch (Exception)
                {
                    // Closing is best effort: the peer also learns from ICE or SCTP that we are gone.
                }
                SetClosed(byPeer: false);
                break;
        }
    }

    /// <summary>Stops the handshake thread if it runs and releases buffers. Call <see cref="Close"/> and poll the close_notify first for a graceful close.</summary>
    public void Dispose()
    {
        Thread? worker;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            CloseCore();
            _channel.Abort();
            worker = _worker;
        }
        if (worker is not null && worker != Thread.CurrentThread)
            worker.Join(JoinTimeoutMillis);
        lock (_gate)
        {
            _channel.ClearInbound();
            _channel.ClearOutbound();
            _channel.ReleaseHandshakeRecords();
            _received.Clear();
            _outbound.Clear();
            _finalFlight = null;
            _protection?.Dispose();
        }
    }

    // ---- the handshake worker --------------------------------------------------------------------

    private void RunHandshake()
    {
        BcDtlsTransport? association = null;
        Exception? error = null;
        try
        {
            if (_clientPeer is not null)
            {
                association = new DtlsClientProtocol().Connect(_clientPeer, _channel);
            }
            else
            {
                DtlsRequest? request = _options.HelloVerifyRequest ? AwaitVerifiedClientHello() : null;
                association = new DtlsServerProtocol().Accept(_serverPeer!, _channel, request);
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        lock (_gate)
        {
            try
            {
                HandshakeReturned(association, error);
            }
            finally
            {
                _channel.WorkerFinished();
            }
        }
    }

    /// <summary>
    /// RFC 6347 §4.2.1 cookie exchange: answer ClientHellos with a HelloVerifyRequest until one carries
    /// the cookie, then hand that ClientHello to the handshake.
    /// </summary>
    private DtlsRequest AwaitVerifiedClientHello()
    {
        var verifier = new DtlsVerifier(_crypto);
        // The association is already bound to one ICE candidate pair, so the client identity is constant.
        byte[] clientId = "PeerNet"u8.ToArray();
        byte[] buffer = new byte[DtlsDatagramChannel.MaxDatagramSize];
        long deadline = Environment.TickCount64 + _options.HandshakeTimeout;
        while (true)
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
                throw new TlsTimeoutException("Handshake timed out waiting for a ClientHello with a valid cookie");
            int received = _channel.Receive(buffer, 0, buffer.Length, (int)remaining);
            if (received <= 0)
                continue;
            DtlsRequest? request = verifier.VerifyRequest(clientId, buffer, 0, received, _channel);
            if (request is not null)
                return request;
        }
    }

    private void HandshakeReturned(BcDtlsTransport? association, Exception? error)
    {
        if (_state != DtlsTransportState.Connecting)
        {
            // Timed out, closed or disposed meanwhile: whatever BouncyCastle returned is abandoned (the channel is aborted).
            return;
        }
        if (association is not null)
        {
            if (_matchedFingerprint is null)
            {
                // Cannot happen with ECDSA suites (the certificate is always checked); never connect unchecked.
                Fail(new DtlsFailure(DtlsFailureReason.FingerprintMismatch, "The handshake completed without the peer's certificate being checked against its fingerprint."));
                return;
            }
            _channel.EndHandshake();
            int suite = _clientPeer?.NegotiatedCipherSuite ?? _serverPeer!.NegotiatedCipherSuite;
            TakeRecordLayer(association, suite);
            _state = DtlsTransportState.Connected;
            _cipherSuite = DtlsCipherSuites.Name(suite);
            int? srtp = _clientPeer?.SelectedSrtpProfile ?? _serverPeer?.SelectedSrtpProfile;
            if (srtp is int profile)
                DtlsLog.SrtpProfile(_logger, Role, profile);
            DtlsLog.Connected(_logger, Role, _cipherSuite, _matchedFingerprint);
            _events.Enqueue(new DtlsEvent(DtlsEventKind.Connected, CipherSuite: _cipherSuite, RemoteFingerprint: _matchedFingerprint));
            // Records that came with or after the last handshake message are read on the driver's thread (AfterWorkerStep).
            return;
        }
        if (_closeNotifyReceived)
        {
            SetClosed(byPeer: true);
            return;
        }
        Fail(_certificateFailure ?? DescribeHandshakeError(error));
    }

    private DtlsFailure DescribeHandshakeError(Exception? error) => error switch
    {
        TlsFatalAlertReceived received => new DtlsFailure(DtlsFailureReason.AlertReceived,
            $"The peer aborted the handshake with a fatal {AlertDescription.GetText(received.AlertDescription)} alert"
            + (received.AlertDescription == AlertDescription.bad_certificate ? " (it did not accept our certificate: is our fingerprint in the SDP it received?)." : "."),
            (DtlsAlertDescription)received.AlertDescription),
        TlsTimeoutException => new DtlsFailure(DtlsFailureReason.HandshakeTimeout,
            $"No DTLS handshake completed within {_options.HandshakeTimeout} ms; the peer never answered, or its answers were lost."),
        TlsFatalAlert alert => new DtlsFailure(DtlsFailureReason.ProtocolError,
            $"The handshake failed and we sent a fatal {AlertDescription.GetText(alert.AlertDescription)} alert: {InnermostMessage(alert)}",
            (DtlsAlertDescription)alert.AlertDescription),
        null => new DtlsFailure(DtlsFailureReason.ProtocolError, "The handshake ended without a result."),
        _ => new DtlsFailure(DtlsFailureReason.ProtocolError, $"The handshake failed: {InnermostMessage(error)}"),
    };

    private static string InnermostMessage(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e.Message;
    }

    /// <summary>
    /// Chooses the record layer for after the handshake: ours when the suite is one it implements (the
    /// peer derived the key block for it), continuing the epoch 1 sequence numbers after the highest one
    /// BouncyCastle wrote, so no nonce is ever used twice with one key; otherwise BouncyCastle's.
    /// </summary>
    private void TakeRecordLayer(BcDtlsTransport association, int suite)
    {
        byte[]? keyBlock = _clientPeer?.KeyBlock ?? _serverPeer?.KeyBlock;
        if (_clientPeer is not null)
            _clientPeer.KeyBlock = null;
        if (_serverPeer is not null)
            _serverPeer.KeyBlock = null;
        if (keyBlock is null || _options.BouncyCastleRecordLayer)
        {
            if (keyBlock is not null)
                CryptographicOperations.ZeroMemory(keyBlock);
            _association = association;
            _channel.ReleaseHandshakeRecords();
            return;
        }
        try
        {
            ulong firstSequence = (ulong)(_channel.HighestProtectedSequenceSent + 1);
            _protection = new DtlsRecordProtection(suite, Role == DtlsRole.Server, keyBlock, epoch: 1, firstSequence);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyBlock);
        }
        // RFC 6347 §4.2.4: in a full handshake the server sends the last flight, so it answers the client's retransmissions.
        if (Role == DtlsRole.Server && _channel.LastFlight.Count > 0)
            _finalFlight = new DtlsFinalFlight([.. _channel.LastFlight]);
        _plaintext ??= new byte[MaxApplicationDataSize];
    }

    /// <summary>
    /// After waiting for the worker (which gives up only if a step outlasts the budget; PollTimeout then
    /// asks to look again soon): if the handshake has just completed, read records that came with it.
    /// </summary>
    private void AfterWorkerStep()
    {
        if (_state != DtlsTransportState.Connected)
            return;
        if (_protection is not null)
            TakeHandshakeLeftovers(_channel.LastNow);
        else
            ReceiveRecords();
    }

    private int WorkerStepBudget(long now) =>
        (int)Math.Clamp(_handshakeDeadline - now + 100, 1, WorkerStepBudgetMillis);

    // ---- our record layer after the handshake (driver's thread, lock held) -------------------------

    /// <summary>
    /// Once, right after the handshake: the peer's protected records BouncyCastle read during it (data sent
    /// with or just before its Finished) and the datagrams that arrived while it completed.
    /// </summary>
    private void TakeHandshakeLeftovers(long now)
    {
        if (_handshakeLeftoversTaken)
            return;
        _handshakeLeftoversTaken = true;
        foreach (byte[] record in _channel.EarlyRecords)
        {
            if (IsOpen)
                ReceiveRecord(record, now);
        }
        _channel.ReleaseHandshakeRecords();
        while (_channel.TryDequeueInbound(out PooledDatagram datagram))
        {
            try
            {
                ReceiveProtected(datagram.Span, now);
            }
            finally
            {
                datagram.Return();
            }
        }
        ClosedByPeerIfNotified();
    }

    /// <summary>Every record of a well-formed datagram (RFC 6347 §4.1.1: a datagram may carry several).</summary>
    private void ReceiveProtected(ReadOnlySpan<byte> datagram, long now)
    {
        while (datagram.Length >= DtlsRecordHeader.Length && IsOpen)
        {
            int length = DtlsRecordHeader.Length + DtlsRecordHeader.FragmentLength(datagram);
            if (length > datagram.Length)
                break;
            ReceiveRecord(datagram[..length], now);
            datagram = datagram[length..];
        }
        ClosedByPeerIfNotified();
    }

    private void ReceiveRecord(ReadOnlySpan<byte> record, long now)
    {
        byte type = record[0];
        switch (type)
        {
            case DtlsContentType.Handshake:
                // The peer retransmits its last flight only when ours did not arrive (RFC 6347 §4.2.4): send ours again.
                if (_finalFlight is not null && _finalFlight.ShouldResend(now))
                    ResendFinalFlight();
                return;
            case DtlsContentType.ChangeCipherSpec:
                return; // part of such a retransmission
            case DtlsContentType.Alert or DtlsContentType.ApplicationData when DtlsRecordHeader.Epoch(record) == 0:
                DropRecord(record.Length, DtlsDropReason.Unprotected);
                return;
            case DtlsContentType.Alert or DtlsContentType.ApplicationData:
                break;
            default:
                DropRecord(record.Length, DtlsDropReason.NotDtls);
                return;
        }

        DtlsRecordProtection protection = _protection!;
        int expected = Math.Clamp(record.Length - DtlsRecordHeader.Length - protection.Overhead, 0, DtlsRecordProtection.MaxPlaintextLength);
        bool queued = type == DtlsContentType.ApplicationData && !_received.IsFull;
        Span<byte> plaintext = queued ? _received.GetBuffer(expected) : _plaintext;
        if (!protection.TryUnprotect(record, plaintext, out int length, out DtlsDropReason reason))
        {
            DropRecord(record.Length, reason);
            return;
        }
        if (type == DtlsContentType.Alert)
        {
            HandleAlert(plaintext[..length], record.Length);
            return;
        }
        if (!queued)
        {
            _messagesDiscarded++;
            return;
        }
        _received.Commit(length);
        _messagesReceived++;
        _bytesReceived += length;
    }

    private void HandleAlert(ReadOnlySpan<byte> alert, int recordLength)
    {
        // RFC 5246 §7.2: one alert is a level (1 warning, 2 fatal) and a description.
        if (alert.Length != 2 || (short)alert[0] is not (AlertLevel.warning or AlertLevel.fatal))
        {
            DropRecord(recordLength, DtlsDropReason.BadAlert);
            return;
        }
        byte level = alert[0], description = alert[1];
        if (_logger.IsEnabled(LogLevel.Debug))
            DtlsLog.AlertReceived(_logger, Role, AlertLevel.GetText(level), AlertDescription.GetText(description));
        if (level == AlertLevel.fatal)
        {
            Fail(new DtlsFailure(DtlsFailureReason.AlertReceived,
                $"The peer closed the association with a fatal {AlertDescription.GetText(description)} alert.",
                (DtlsAlertDescription)description));
            return;
        }
        if (description == AlertDescription.close_notify)
        {
            // RFC 5246 §7.2.1: answer with a close_notify of our own and close at once.
            _closeNotifyReceived = true;
            SendAlert(AlertLevel.warning, AlertDescription.close_notify, "answering the peer's close_notify");
        }
        // Other warnings (e.g. no_renegotiation) change nothing.
    }

    private void ClosedByPeerIfNotified()
    {
        if (_closeNotifyReceived && _state == DtlsTransportState.Connected)
            SetClosed(byPeer: true);
    }

    /// <summary>Encrypts one record straight into the send queue (counted and dropped like a full socket buffer when it is full).</summary>
    private void Protect(byte contentType, ReadOnlySpan<byte> plaintext)
    {
        if (_outbound.IsFull)
        {
            _transmitsDropped++;
            return;
        }
        DtlsRecordProtection protection = _protection!;
        Span<byte> buffer = _outbound.GetBuffer(DtlsRecordHeader.Length + protection.Overhead + plaintext.Length);
        _outbound.Commit(protection.Protect(contentType, plaintext, buffer));
    }

    private void SendAlert(short level, short description, string why)
    {
        Protect(DtlsContentType.Alert, [(byte)level, (byte)description]);
        if (_logger.IsEnabled(LogLevel.Debug))
            DtlsLog.AlertRaised(_logger, Role, AlertLevel.GetText(level), AlertDescription.GetText(description), why);
    }

    private void ResendFinalFlight()
    {
        foreach (byte[] datagram in _finalFlight!.Datagrams)
        {
            if (_outbound.IsFull)
            {
                _transmitsDropped++;
                continue;
            }
            datagram.CopyTo(_outbound.GetBuffer(datagram.Length));
            _outbound.Commit(datagram.Length);
        }
    }

    private void DropRecord(int length, DtlsDropReason reason)
    {
        _recordsDropped++;
        _dropCounts[(int)reason]++;
        DtlsLog.RecordDropped(_logger, Role, length, reason);
    }

    // ---- BouncyCastle's record layer after the handshake (suites ours lacks; driver's thread, lock held) ----

    private void ReceiveRecords()
    {
        BcDtlsTransport association = _association!;
        byte[] plaintext = _plaintext ??= new byte[MaxApplicationDataSize];
        try
        {
            ReceivePendingRecords(association, plaintext);
            while (IsOpen && _channel.InboundCount > 0)
            {
                // Never waits: the channel reports "nothing more" as soon as its queue is empty.
                int length = association.Receive(plaintext, 0, plaintext.Length, 1);
                if (length >= 0)
                    Deliver(plaintext.AsSpan(0, length));
                ReceivePendingRecords(association, plaintext);
            }
        }
        catch (TlsFatalAlertReceived received)
        {
            Fail(new DtlsFailure(DtlsFailureReason.AlertReceived,
                $"The peer closed the association with a fatal {AlertDescription.GetText(received.AlertDescription)} alert.",
                (DtlsAlertDescription)received.AlertDescription));
        }
        catch (Exception e)
        {
            short? alert = (e as TlsFatalAlert)?.AlertDescription;
            Fail(new DtlsFailure(DtlsFailureReason.ProtocolError, $"Reading a record failed: {InnermostMessage(e)}", (DtlsAlertDescription?)alert));
        }
        if (_closeNotifyReceived && _state == DtlsTransportState.Connected)
        {
            _channel.ClearInbound();
            SetClosed(byPeer: true);
        }
    }

    // A datagram may hold several records; BouncyCastle returns one per call and keeps the rest.
    private void ReceivePendingRecords(BcDtlsTransport association, byte[] plaintext)
    {
        while (IsOpen)
        {
            int length = association.ReceivePending(plaintext, 0, plaintext.Length);
            if (length < 0)
                return;
            Deliver(plaintext.AsSpan(0, length));
        }
    }

    private bool IsOpen => _state == DtlsTransportState.Connected && !_closeNotifyReceived;

    private void Deliver(ReadOnlySpan<byte> record)
    {
        if (_received.IsFull)
        {
            _messagesDiscarded++;
            return;
        }
        record.CopyTo(_received.GetBuffer(record.Length));
        _received.Commit(record.Length);
        _messagesReceived++;
        _bytesReceived += record.Length;
    }

    // ---- state changes (lock held) -----------------------------------------------------------------

    private void Fail(DtlsFailure failure)
    {
        if (_state is DtlsTransportState.Closed or DtlsTransportState.Failed)
            return;
        _failure = failure;
        _state = DtlsTransportState.Failed;
        DtlsLog.Failed(_logger, Role, failure.Reason, failure.Message);
        _events.Enqueue(new DtlsEvent(DtlsEventKind.Failed, Failure: failure));
    }

    private void SetClosed(bool byPeer)
    {
        if (_state is DtlsTransportState.Closed or DtlsTransportState.Failed)
            return;
        _state = DtlsTransportState.Closed;
        DtlsLog.Closed(_logger, Role, byPeer);
        _events.Enqueue(new DtlsEvent(DtlsEventKind.Closed, ClosedByPeer: byPeer));
    }

    private void Drop(int length, DtlsDropReason reason)
    {
        _packetsDropped++;
        _dropCounts[(int)reason]++;
        DtlsLog.DatagramDropped(_logger, Role, length, reason);
    }

    // ---- callbacks from BouncyCastle (worker thread during the handshake, driver's thread after) ------

    void IDtlsHandshakeObserver.VerifyPeerCertificate(Certificate? chain)
    {
        if (chain is null || chain.IsEmpty)
        {
            var missing = new DtlsFailure(DtlsFailureReason.FingerprintMismatch,
                "The peer presented no certificate, so it cannot match the fingerprint in its SDP.", DtlsAlertDescription.HandshakeFailure);
            lock (_gate)
                _certificateFailure = missing;
            throw new TlsFatalAlert(AlertDescription.handshake_failure, missing.Message);
        }

        byte[] der = chain.GetCertificateAt(0).GetEncoded();
        foreach (DtlsFingerprint expected in _remoteFingerprints)
        {
            if (expected.Matches(der))
            {
                lock (_gate)
                    _matchedFingerprint = expected;
                return;
            }
        }

        DtlsFingerprint actual = DtlsFingerprint.Compute(DtlsFingerprint.Sha256, der);
        string expectedList = string.Join(", ", _remoteFingerprints.Select(f => f.ToString()));
        var mismatch = new DtlsFailure(DtlsFailureReason.FingerprintMismatch,
            $"The peer's certificate ({actual}) does not match the fingerprint in its SDP ({expectedList}); " +
            "the connection was refused. The SDP may be stale, or someone may be intercepting the connection.",
            DtlsAlertDescription.BadCertificate);
        lock (_gate)
            _certificateFailure = mismatch;
        throw new TlsFatalAlert(AlertDescription.bad_certificate, mismatch.Message);
    }

    void IDtlsHandshakeObserver.CipherSuiteSelected(int cipherSuite, bool encryptThenMac)
    {
        lock (_gate)
            _ciphertextRule = DtlsCiphertextRule.For(cipherSuite, encryptThenMac);
    }

    void IDtlsHandshakeObserver.AlertReceived(short level, short description)
    {
        lock (_gate)
        {
            DtlsLog.AlertReceived(_logger, Role, AlertLevel.GetText(level), AlertDescription.GetText(description));
            if (description == AlertDescription.close_notify)
                _closeNotifyReceived = true;
        }
    }

    void IDtlsHandshakeObserver.AlertRaised(short level, short description, string? message, Exception? cause)
    {
        DtlsLog.AlertRaised(_logger, Role, AlertLevel.GetText(level), AlertDescription.GetText(description), message ?? cause?.Message);
    }
}
