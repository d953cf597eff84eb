using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Dtls;
using PeerNet.Ice;
using PeerNet.Sdp;

namespace PeerNet.Rtc;

/// <summary>
/// A WebRTC peer connection for data channels (W3C <c>RTCPeerConnection</c>): JSEP offers and
/// answers (RFC 8829), ICE (RFC 8445), DTLS (RFC 6347/8842) and SCTP data channels (RFC 8831).
/// </summary>
/// <remarks>
/// Operations (create/set descriptions, add candidates) run one at a time in call order, as the
/// W3C operations chain does. Events are raised in order on the connection's own event loop.
/// </remarks>
public sealed class RtcPeerConnection : IAsyncDisposable
{
    private readonly RtcConfiguration _configuration;
    private readonly ILogger _logger;
    private readonly RtcCertificate _certificate;
    private readonly RtcEventLoop _events;
    private readonly SemaphoreSlim _operations = new(1, 1);
    private readonly object _gate = new();
    private readonly List<RtcDataChannel> _localChannels = [];
    private readonly List<byte[]> _earlyDatagrams = [];
    private readonly RtcDataChannelHostProxy _channelHost;
    private readonly RtcIceLink _ice;
    private readonly ulong _sessionId = Jsep.NewSessionId();
    private ulong _sessionVersion;
    private SessionDescription? _remoteSdp;
    private DataChannelSection? _remoteSection;
    private IReadOnlyList<DtlsFingerprint> _remoteFingerprints = [];
    private volatile RtcDataTransport? _transport;
    private bool _gatheringStarted;
    private bool? _controlling;
    private bool _iceRestartRequested;
    private string? _localUfragOfLastRemote; // our ufrag when the last remote description was applied
    private (string Ufrag, string Password)? _pendingIceCredentials;
    private bool _closed;
    private RtcConnectionException? _failure;

    /// <summary>Creates a connection; nothing touches the network until a local description is set.</summary>
    public RtcPeerConnection(RtcConfiguration? configuration = null, ILoggerFactory? loggerFactory = null)
    {
        _configuration = configuration ?? new RtcConfiguration();
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<RtcPeerConnection>();
        _certificate = _configuration.Certificates.Count > 0 ? _configuration.Certificates[0] : RtcCertificate.Generate();
        // W3C webrtc §4.4.1.1: an expired certificate is refused up front, not at the handshake.
        if (_certificate.Expires <= DateTimeOffset.UtcNow)
            throw new ArgumentException($"the DTLS certificate expired at {_certificate.Expires:u}; generate a new one", nameof(configuration));
        _events = new RtcEventLoop(_logger);
        _channelHost = new RtcDataChannelHostProxy(this);
        _ice = new RtcIceLink(_configuration, loggerFactory.CreateLogger("PeerNet.Ice"));
        _ice.LocalCandidate += OnLocalCandidate;
        _ice.GatheringStateChanged += state => SetGatheringState(state);
        _ice.StateChanged += OnIceStateChanged;
        _ice.DtlsReceived = OnDtlsDatagram;
    }

    /// <summary>W3C <c>localDescription</c>: the last local description, with the candidates gathered since.</summary>
    public RtcSessionDescriptionInit? LocalDescription { get; private set; }

    /// <summary>W3C <c>remoteDescription</c>.</summary>
    public RtcSessionDescriptionInit? RemoteDescription { get; private set; }

    /// <summary>W3C <c>signalingState</c>.</summary>
    public RtcSignalingState SignalingState { get; private set; } = RtcSignalingState.Stable;

    /// <summary>W3C <c>iceConnectionState</c>.</summary>
    public RtcIceConnectionState IceConnectionState { get; private set; } = RtcIceConnectionState.New;

    /// <summary>W3C <c>iceGatheringState</c>.</summary>
    public RtcIceGatheringState IceGatheringState { get; private set; } = RtcIceGatheringState.New;

    /// <summary>W3C <c>connectionState</c>: ICE and DTLS together.</summary>
    public RtcPeerConnectionState ConnectionState { get; private set; } = RtcPeerConnectionState.New;

    /// <summary>Why the connection failed, naming the layer, once <see cref="ConnectionState"/> is failed.</summary>
    public RtcConnectionException? Failure => _failure;

    /// <summary>The remote's a=max-message-size (W3C <c>sctp.maxMessageSize</c>), once known; 0 = no limit.</summary>
    public long? RemoteMaxMessageSize => _remoteSection?.MaxMessageSize;

    /// <summary>Whether SCTP interleaves messages (I-DATA, RFC 8260): both sides asked for it (<see cref="RtcConfiguration.SctpMessageInterleaving"/>).</summary>
    public bool SctpMessageInterleaving => _transport?.MessageInterleaving ?? false;

    /// <summary>The negotiated DTLS cipher suite, once connected.</summary>
    public string? DtlsCipherSuite => _transport?.CipherSuite;

    /// <summary>Our DTLS certificate.</summary>
    public RtcCertificate Certificate => _certificate;

    /// <summary>W3C <c>icecandidate</c>: a local candidate to send to the remote; <c>null</c> when gathering completed.</summary>
    public event EventHandler<RtcIceCandidateInit?>? IceCandidate;

    /// <summary>W3C <c>datachannel</c>: the remote opened a channel.</summary>
    public event EventHandler<RtcDataChannel>? DataChannel;

    /// <summary>W3C <c>connectionstatechange</c>.</summary>
    public event EventHandler<RtcPeerConnectionState>? ConnectionStateChange;

    /// <summary>W3C <c>iceconnectionstatechange</c>.</summary>
    public event EventHandler<RtcIceConnectionState>? IceConnectionStateChange;

    /// <summary>W3C <c>icegatheringstatechange</c>.</summary>
    public event EventHandler<RtcIceGatheringState>? IceGatheringStateChange;

    /// <summary>W3C <c>signalingstatechange</c>.</summary>
    public event EventHandler<RtcSignalingState>? SignalingStateChange;

    /// <summary>W3C <c>negotiationneeded</c>: raised by <see cref="RestartIce"/> (data channels after the first need no renegotiation).</summary>
    public event EventHandler? NegotiationNeeded;

    /// <summary>
    /// W3C <c>restartIce</c>: the next offer carries new ICE credentials (an ICE restart, RFC 8445 §9), and
    /// <see cref="NegotiationNeeded"/> is raised. Data keeps flowing on the current path until ICE has
    /// selected a pair with the new credentials; after a failure, the restart is how to reconnect.
    /// </summary>
    public void RestartIce()
    {
        lock (_gate)
        {
            if (_closed) return;
            _iceRestartRequested = true;
        }
        _events.Post(() => NegotiationNeeded?.Invoke(this, EventArgs.Empty));
    }

    /// <summary>The candidate pair ICE selected, or null before there is one.</summary>
    public RtcIceCandidatePairInfo? GetSelectedCandidatePair() => _ice.SelectedPair;

    /// <summary>W3C <c>createDataChannel</c>. The channel opens once the connection is up.</summary>
    public RtcDataChannel CreateDataChannel(string label, RtcDataChannelInit? init = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        init ??= new RtcDataChannelInit();
        if (System.Text.Encoding.UTF8.GetByteCount(label) > ushort.MaxValue) throw new ArgumentException("a data channel label is at most 65535 UTF-8 bytes", nameof(label));
        if (init.MaxRetransmits is not null && init.MaxPacketLifeTime is not null)
            throw new ArgumentException("maxRetransmits and maxPacketLifeTime cannot both be set (W3C createDataChannel)");
        if (init.Negotiated && init.Id is null) throw new ArgumentException("a negotiated data channel needs an id");
        if (init.Id is 65535) throw new ArgumentOutOfRangeException(nameof(init), "stream id 65535 is reserved");
        RtcDataTransport? transport;
        RtcDataChannel channel;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            channel = new RtcDataChannel(_channelHost, label, init, init.Id);
            transport = _transport;
            if (transport is null) _localChannels.Add(channel);
        }
        transport?.AddLocalChannel(channel);
        return channel;
    }

    /// <summary>W3C <c>createOffer</c>: one data section (m=application ... webrtc-datachannel).</summary>
    public Task<RtcSessionDescriptionInit> CreateOfferAsync(CancellationToken cancellationToken = default) =>
        CreateOfferAsync(null, cancellationToken);

    /// <summary>W3C <c>createOffer</c> with options: <see cref="RtcOfferOptions.IceRestart"/> offers new ICE credentials.</summary>
    public Task<RtcSessionDescriptionInit> CreateOfferAsync(RtcOfferOptions? options, CancellationToken cancellationToken = default) =>
        RunOperationAsync(() =>
        {
            // JSEP §5.2.1: new credentials only once there were old ones (after a remote description);
            // offers made before setLocalDescription applies them repeat the same new ones.
            if ((options?.IceRestart == true || _iceRestartRequested) && RemoteDescription is not null)
                _pendingIceCredentials ??= (IceCredentials.GenerateUfrag(), IceCredentials.GeneratePassword());
            var parameters = LocalParameters(SdpSetupRole.ActPass);
            if (_pendingIceCredentials is { } fresh)
                parameters = parameters with { IceUfrag = fresh.Ufrag, IcePwd = fresh.Password, Candidates = WithUfrag(parameters.Candidates, fresh.Ufrag) };
            var offer = Jsep.CreateOffer(parameters);
            return Task.FromResult(new RtcSessionDescriptionInit(RtcSdpType.Offer, offer.ToString()));
        }, cancellationToken);

    /// <summary>W3C <c>createAnswer</c> to the remote offer: its data section accepted, anything else rejected (port 0).</summary>
    public Task<RtcSessionDescriptionInit> CreateAnswerAsync(CancellationToken cancellationToken = default) =>
        RunOperationAsync(() =>
        {
            if (SignalingState != RtcSignalingState.HaveRemoteOffer || _remoteSdp is null || _remoteSection is null)
                throw new InvalidOperationException($"createAnswer needs a remote offer (signaling state is {SignalingState})");
            // JSEP §5.3.1 / RFC 8842 §5.3: answer actpass with active, so the answerer starts DTLS; once
            // the association exists, a renegotiation keeps its role (RFC 8842 §5.5).
            var setup = _transport is { } running
                ? running.IsDtlsClient ? SdpSetupRole.Active : SdpSetupRole.Passive
                : Jsep.AnswerSetup(_remoteSection);
            var answer = Jsep.CreateAnswer(_remoteSdp, LocalParameters(setup));
            return Task.FromResult(new RtcSessionDescriptionInit(RtcSdpType.Answer, answer.ToString()));
        }, cancellationToken);

    /// <summary>W3C <c>setLocalDescription</c>; starts gathering candidates.</summary>
    public Task SetLocalDescriptionAsync(RtcSessionDescriptionInit description, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(description);
        return RunOperationAsync(() =>
        {
            var sdp = SessionDescription.Parse(description.Sdp);
            switch (description.Type)
            {
                case RtcSdpType.Offer when SignalingState is RtcSignalingState.Stable or RtcSignalingState.HaveLocalOffer:
                    var offered = DataChannelSection.Read(sdp, SdpType.Offer);
                    if (offered.IceUfrag != _ice.LocalUfrag)
                    {
                        // Our offer carries new ICE credentials: the restart starts now (RFC 8839 §4.4.1.1.2).
                        if (!IceCredentials.IsValidUfrag(offered.IceUfrag) || !IceCredentials.IsValidPassword(offered.IcePwd))
                            throw new SdpNegotiationException("the offer's a=ice-ufrag/a=ice-pwd are not valid ICE credentials (RFC 8839 §5.4)", offered.Mid);
                        _ice.Restart(offered.IceUfrag, offered.IcePwd);
                    }
                    _pendingIceCredentials = null;
                    _iceRestartRequested = false;
                    _controlling ??= true;
                    SetSignalingState(RtcSignalingState.HaveLocalOffer);
                    break;
                case RtcSdpType.Answer when SignalingState is RtcSignalingState.HaveRemoteOffer:
                    var local = DataChannelSection.Read(sdp, SdpType.Answer);
                    if (_transport is null) StartDataTransport(local.Setup == SdpSetupRole.Active ? DtlsRole.Client : DtlsRole.Server);
                    SetSignalingState(RtcSignalingState.Stable);
                    break;
                default:
                    throw new InvalidOperationException($"cannot set a local {description.TypeName} in signaling state {SignalingState}");
            }
            LocalDescription = description;
            if (!_gatheringStarted)
            {
                _gatheringStarted = true;
                _ice.StartGathering(_controlling ?? false);
            }
            return Task.FromResult(true);
        }, cancellationToken);
    }

    /// <summary>
    /// W3C <c>setRemoteDescription</c>. Malformed SDP is an <see cref="SdpParseException"/> naming the
    /// line; an offer without a usable data section is an <see cref="SdpNegotiationException"/>.
    /// </summary>
    public Task SetRemoteDescriptionAsync(RtcSessionDescriptionInit description, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(description);
        return RunOperationAsync(async () =>
        {
            var sdp = SessionDescription.Parse(description.Sdp);
            var isOffer = description.Type switch
            {
                RtcSdpType.Offer when SignalingState is RtcSignalingState.Stable or RtcSignalingState.HaveRemoteOffer => true,
                RtcSdpType.Answer when SignalingState is RtcSignalingState.HaveLocalOffer => false,
                _ => throw new InvalidOperationException($"cannot set a remote {description.TypeName} in signaling state {SignalingState}"),
            };
            var section = DataChannelSection.Read(sdp, isOffer ? SdpType.Offer : SdpType.Answer);
            var fingerprints = ParseFingerprints(section);
            if (_transport is not null && !fingerprints.Select(f => f.ToString()).Order().SequenceEqual(_remoteFingerprints.Select(f => f.ToString()).Order()))
                throw new SdpNegotiationException("the remote DTLS fingerprint changed: a new DTLS association needs a new connection", section.Mid);
            var remoteRestart = _ice.RemoteUfrag is { } currentUfrag && currentUfrag != section.IceUfrag;
            if (remoteRestart && !isOffer && _ice.LocalUfrag == _localUfragOfLastRemote)
                throw new SdpNegotiationException("the answer changes the ICE credentials although the offer did not restart ICE", section.Mid);
            _remoteFingerprints = fingerprints;
            _remoteSdp = sdp;
            _remoteSection = section;
            if (isOffer)
            {
                // RFC 8445 §6.1.1: the offerer controls, unless it is ice-lite.
                _controlling ??= section.IceLite;
                SetSignalingState(RtcSignalingState.HaveRemoteOffer);
            }
            else
            {
                // RFC 8842 §5.3: the answerer's active makes us the DTLS server, its passive the client.
                if (_transport is null) StartDataTransport(section.Setup == SdpSetupRole.Active ? DtlsRole.Server : DtlsRole.Client);
                SetSignalingState(RtcSignalingState.Stable);
            }
            RemoteDescription = description;
            if (remoteRestart && isOffer)
            {
                // The peer restarted ICE: so do we, with new credentials for the answer (RFC 8445 §9).
                _ice.Restart(IceCredentials.GenerateUfrag(), IceCredentials.GeneratePassword());
            }
            _ice.SetRemoteCredentials(section.IceUfrag, section.IcePwd, _controlling ?? false);
            _localUfragOfLastRemote = _ice.LocalUfrag;
            foreach (var candidate in section.Candidates)
            {
                try
                {
                    await AddRemoteCandidateCoreAsync(candidate, cancellationToken).ConfigureAwait(false);
                }
                catch (FormatException e)
                {
                    // One bad a=candidate line must not cost the whole description (the others may work).
                    _logger.LogWarning("ignored a remote candidate that does not parse ({Reason}): {Candidate}", e.Message, candidate);
                }
            }
            if (section.EndOfCandidates) _ice.AddRemoteEndOfCandidates();
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// W3C <c>addIceCandidate</c>; an empty candidate means the end of candidates. A candidate that
    /// does not parse is a <see cref="FormatException"/>; ".local" names are resolved with mDNS.
    /// </summary>
    public Task AddIceCandidateAsync(RtcIceCandidateInit candidate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return RunOperationAsync(async () =>
        {
            if (RemoteDescription is null) throw new InvalidOperationException("addIceCandidate before setRemoteDescription");
            if (candidate.UsernameFragment is { } ufrag && _ice.RemoteUfrag is { } current && ufrag != current)
            {
                // Trickled before an ICE restart and delivered after it: of no use any more (W3C addIceCandidate).
                _logger.LogDebug("ignored a remote candidate of an earlier ICE generation (ufrag {Ufrag}): {Candidate}", ufrag, candidate.Candidate);
                return true;
            }
            if (candidate.IsEndOfCandidates) _ice.AddRemoteEndOfCandidates();
            else await AddRemoteCandidateCoreAsync(candidate.Candidate, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>The W3C operations chain: one operation at a time, in call order, none once closed.</summary>
    private async Task<T> RunOperationAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            return await operation().ConfigureAwait(false);
        }
        finally
        {
            _operations.Release();
        }
    }

    /// <summary>W3C <c>close</c>: closes every channel and the transports at once.</summary>
    public void Close()
    {
        RtcDataTransport? transport;
        lock (_gate)
        {
            if (_closed) return;
            _closed = true;
            transport = _transport;
        }
        transport?.Shutdown();
        transport?.Dispose();
        _ice.Close();
        SignalingState = RtcSignalingState.Closed;
        IceConnectionState = RtcIceConnectionState.Closed;
        ConnectionState = RtcPeerConnectionState.Closed;
        foreach (var channel in _localChannels)
        {
            if (channel.TryMarkClosed()) _events.Post(() => channel.RaiseClosed(null));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Close();
        await _ice.DisposeAsync().ConfigureAwait(false);
        _events.Complete();
        await _events.Completion.ConfigureAwait(false);
    }

    private JsepParameters LocalParameters(SdpSetupRole setup)
    {
        var candidates = _ice.LocalCandidates;
        return new JsepParameters
        {
            IceUfrag = _ice.LocalUfrag,
            IcePwd = _ice.LocalPassword,
            Fingerprints = [.. _certificate.GetFingerprints().Select(f => f.ToString())],
            Setup = setup,
            MaxMessageSize = _configuration.MaxMessageSize,
            Candidates = candidates,
            EndOfCandidates = IceGatheringState == RtcIceGatheringState.Complete,
            SessionId = _sessionId,
            SessionVersion = _sessionVersion++,
        };
    }

    private static IReadOnlyList<string> WithUfrag(IReadOnlyList<string> candidates, string ufrag) =>
        [.. candidates.Select(c => PeerNet.Ice.IceCandidate.Parse(c) is { UsernameFragment: not null } parsed ? parsed.WithUsernameFragment(ufrag).ToString() : c)];

    private static IReadOnlyList<DtlsFingerprint> ParseFingerprints(DataChannelSection section)
    {
        var fingerprints = new List<DtlsFingerprint>();
        foreach (var text in section.Fingerprints)
        {
            // An unknown hash algorithm is skipped (RFC 8122 §5); a malformed value is an error.
            if (DtlsFingerprint.TryParse(text, out var fingerprint)) fingerprints.Add(fingerprint);
            else if (text.StartsWith("sha-", StringComparison.OrdinalIgnoreCase))
                throw new SdpNegotiationException($"a=fingerprint '{text}' is not a valid fingerprint", section.Mid);
        }
        if (fingerprints.Count == 0) throw new SdpNegotiationException("no usable a=fingerprint in the remote description", section.Mid);
        return fingerprints;
    }

    private Task AddRemoteCandidateCoreAsync(string candidate, CancellationToken cancellationToken) =>
        _ice.AddRemoteCandidateAsync(candidate, _controlling ?? false, cancellationToken);

    private void StartDataTransport(DtlsRole role)
    {
        var section = _remoteSection!;
        var transport = new RtcDataTransport(
            role,
            _certificate,
            _remoteFingerprints,
            _configuration.MaxMessageSize,
            section.MaxMessageSize,
            _configuration.SctpMessageInterleaving,
            (ushort)DataChannelSection.DefaultSctpPort,
            (ushort)section.SctpPort,
            _ice,
            _events,
            _logger);
        transport.Failed += error => Fail(error);
        transport.RemoteChannelOpened += channel => DataChannel?.Invoke(this, channel);
        transport.DtlsConnected += () => UpdateConnectionState();
        RtcDataChannel[] pending;
        byte[][] early;
        lock (_gate)
        {
            _transport = transport;
            pending = [.. _localChannels];
            _localChannels.Clear();
            early = [.. _earlyDatagrams];
            _earlyDatagrams.Clear();
        }
        foreach (var channel in pending)
        {
            if (channel.ReadyState == RtcDataChannelState.Connecting) transport.AddLocalChannel(channel);
        }
        // DTLS starts once ICE has a pair (its handshake timeout runs from then), or when the
        // remote's ClientHello arrives first.
        if (_ice.SelectedPair is not null) transport.Start();
        foreach (var datagram in early) transport.HandleDatagram(datagram);
    }

    private void OnDtlsDatagram(ReadOnlySpan<byte> datagram)
    {
        var transport = _transport;
        if (transport is not null)
        {
            transport.HandleDatagram(datagram);
            return;
        }
        lock (_gate)
        {
            // The answerer's ClientHello can beat its answer here; keep a few for when it lands.
            if (_transport is null && _earlyDatagrams.Count < 8) _earlyDatagrams.Add(datagram.ToArray());
        }
    }

    private void OnLocalCandidate(string? candidate)
    {
        _events.Post(() =>
        {
            if (candidate is not null && LocalDescription is { } local)
            {
                // W3C: localDescription reflects the candidates gathered so far.
                var sdp = SessionDescription.Parse(local.Sdp);
                Jsep.AddCandidate(sdp, candidate);
                LocalDescription = local with { Sdp = sdp.ToString() };
            }
            IceCandidate?.Invoke(this, candidate is null ? null : new RtcIceCandidateInit(candidate, "0", 0, _ice.LocalUfrag));
        });
    }

    private void OnIceStateChanged(RtcIceConnectionState state)
    {
        if (state is RtcIceConnectionState.Connected or RtcIceConnectionState.Completed)
        {
            var transport = _transport;
            if (transport is not null && transport.DtlsState == DtlsTransportState.New) transport.Start();
        }
        if (state == RtcIceConnectionState.Failed) Fail(new RtcConnectionException(RtcFailureLayer.Ice, _ice.DescribeFailure()));
        _events.Post(() =>
        {
            if (IceConnectionState == state || _closed) return;
            IceConnectionState = state;
            IceConnectionStateChange?.Invoke(this, state);
            UpdateConnectionState();
        });
    }

    private void SetGatheringState(RtcIceGatheringState state) => _events.Post(() =>
    {
        if (IceGatheringState == state) return;
        IceGatheringState = state;
        IceGatheringStateChange?.Invoke(this, state);
    });

    private void SetSignalingState(RtcSignalingState state)
    {
        if (SignalingState == state) return;
        SignalingState = state;
        _events.Post(() => SignalingStateChange?.Invoke(this, state));
    }

    private void Fail(RtcConnectionException error)
    {
        lock (_gate)
        {
            if (_failure is not null || _closed) return;
            _failure = error;
        }
        _logger.LogWarning("connection failed at {Layer}: {Message}", error.Layer, error.Message);
        _events.Post(UpdateConnectionState);
    }

    /// <summary>W3C §4.3.3 connection state, from ICE and DTLS. Runs on the event loop.</summary>
    private void UpdateConnectionState()
    {
        if (_closed) return;
        var dtls = _transport?.DtlsState ?? DtlsTransportState.New;
        // The transport's failure (with its reason) is posted right behind its state change: wait for it,
        // so "failed" is never raised without the layer and the reason (Peer reports Failure).
        if (dtls == DtlsTransportState.Failed && _failure is null) return;
        var state = _failure is not null || IceConnectionState == RtcIceConnectionState.Failed || dtls == DtlsTransportState.Failed
            ? RtcPeerConnectionState.Failed
            : IceConnectionState == RtcIceConnectionState.Disconnected ? RtcPeerConnectionState.Disconnected
            : IceConnectionState is RtcIceConnectionState.Connected or RtcIceConnectionState.Completed && dtls == DtlsTransportState.Connected
                ? RtcPeerConnectionState.Connected
            : IceConnectionState == RtcIceConnectionState.New && dtls == DtlsTransportState.New ? RtcPeerConnectionState.New
            : RtcPeerConnectionState.Connecting;
        if (state == ConnectionState) return;
        ConnectionState = state;
        ConnectionStateChange?.Invoke(this, state);
    }

    private void ThrowIfClosed()
    {
        if (_closed) throw new InvalidOperationException("the peer connection is closed");
    }

    private void ChannelSend(RtcDataChannel channel, ReadOnlySpan<byte> payload, bool isText)
    {
        var transport = _transport ?? throw new InvalidOperationException($"data channel '{channel.Label}' is not open");
        transport.Send(channel, payload, isText);
    }

    private void ChannelClose(RtcDataChannel channel)
    {
        var transport = _transport;
        if (transport is not null)
        {
            transport.Close(channel);
            return;
        }
        lock (_gate) _localChannels.Remove(channel);
        if (channel.TryMarkClosed()) _events.Post(() => channel.RaiseClosed(null));
    }

    /// <summary>Channels are created before the transport exists; this routes them to it once it does.</summary>
    private sealed class RtcDataChannelHostProxy(RtcPeerConnection connection) : IRtcDataChannelHost
    {
        public void Send(RtcDataChannel channel, ReadOnlySpan<byte> payload, bool isText) => connection.ChannelSend(channel, payload, isText);

        public void Close(RtcDataChannel channel) => connection.ChannelClose(channel);
    }
}
