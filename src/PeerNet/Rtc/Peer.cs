using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PeerNet.Rtc;

/// <summary>Options of a <see cref="Peer"/>.</summary>
public sealed record PeerOptions
{
    /// <summary>This side makes the offer and opens the data channel (simple-peer's <c>initiator</c>).</summary>
    public bool Initiator { get; init; }

    /// <summary>ICE servers, certificate and the rest.</summary>
    public RtcConfiguration Configuration { get; init; } = new();

    /// <summary>The label of the channel the initiator opens.</summary>
    public string ChannelLabel { get; init; } = "peernet";

    /// <summary>Ordering and reliability of that channel (reliable and ordered by default).</summary>
    public RtcDataChannelInit ChannelInit { get; init; } = new();
}

/// <summary>
/// One peer-to-peer link in simple-peer's shape: forward every <see cref="Signal"/> to the other
/// side and hand what it sends you to <see cref="SignalAsync(PeerSignal, CancellationToken)"/>;
/// <see cref="Connected"/> follows, then <see cref="Data"/> and <see cref="Send(byte[])"/>.
/// </summary>
public sealed class Peer : IAsyncDisposable
{
    private readonly PeerOptions _options;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _signalGate = new();
    private readonly List<PeerSignal> _held = [];
    private readonly List<RtcIceCandidateInit> _pendingCandidates = [];
    private bool _descriptionSignaled;
    private EventHandler<PeerSignal>? _signal;
    private RtcDataChannel? _channel;
    private int _closed;

    public Peer(PeerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options ?? new PeerOptions();
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<Peer>();
        Connection = new RtcPeerConnection(_options.Configuration, loggerFactory);
        Connection.IceCandidate += (_, candidate) =>
            RaiseSignal(new PeerSignal.Candidate(candidate ?? new RtcIceCandidateInit("", "0", 0)));
        Connection.ConnectionStateChange += (_, state) =>
        {
            if (state == RtcPeerConnectionState.Failed)
                Fail(Connection.Failure ?? new RtcConnectionException(RtcFailureLayer.Ice, "the connection failed"));
            else if (state == RtcPeerConnectionState.Closed) Finish();
        };
        Connection.DataChannel += (_, channel) =>
        {
            if (_channel is null) Attach(channel);
        };
        if (_options.Initiator)
        {
            Attach(Connection.CreateDataChannel(_options.ChannelLabel, _options.ChannelInit));
            _ = OfferAsync();
        }
    }

    /// <summary>The underlying connection (W3C API), for stats and extra channels.</summary>
    public RtcPeerConnection Connection { get; }

    /// <summary>The data channel, once there is one.</summary>
    public RtcDataChannel? Channel => _channel;

    /// <summary>Whether the data channel is open.</summary>
    public bool IsConnected => _channel?.ReadyState == RtcDataChannelState.Open;

    /// <summary>
    /// Send this to the other peer (offer, answer or candidate), through any channel you like.
    /// Signals raised before anyone subscribed are held and delivered to the first subscriber.
    /// </summary>
    public event EventHandler<PeerSignal>? Signal
    {
        add
        {
            lock (_signalGate)
            {
                _signal += value;
                if (_descriptionSignaled) FlushHeld();
            }
        }
        remove
        {
            lock (_signalGate) _signal -= value;
        }
    }

    /// <summary>The data channel is open.</summary>
    public event EventHandler? Connected;

    /// <summary>A message arrived.</summary>
    public event EventHandler<RtcDataChannelMessageEventArgs>? Data;

    /// <summary>Something failed; an <see cref="RtcConnectionException"/> names the layer. <see cref="Closed"/> follows.</summary>
    public event EventHandler<Exception>? Error;

    /// <summary>The peer is closed.</summary>
    public event EventHandler? Closed;

    /// <summary>Completes when connected; throws what <see cref="Error"/> reports if it fails first.</summary>
    public Task WaitConnectedAsync(CancellationToken cancellationToken = default) => _connected.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Applies a signal from the other peer. Candidates that arrive before its offer or answer are
    /// held until it does; a candidate that does not parse is logged and ignored (the connection
    /// can still succeed with the others); a description that cannot be used fails the peer.
    /// </summary>
    public async Task SignalAsync(PeerSignal signal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signal);
        try
        {
            switch (signal)
            {
                case PeerSignal.Description { Value.Type: RtcSdpType.Offer } offer:
                    await Connection.SetRemoteDescriptionAsync(offer.Value, cancellationToken).ConfigureAwait(false);
                    await FlushPendingCandidatesAsync(cancellationToken).ConfigureAwait(false);
                    var answer = await Connection.CreateAnswerAsync(cancellationToken).ConfigureAwait(false);
                    await Connection.SetLocalDescriptionAsync(answer, cancellationToken).ConfigureAwait(false);
                    RaiseSignal(new PeerSignal.Description(Connection.LocalDescription ?? answer));
                    break;
                case PeerSignal.Description description:
                    await Connection.SetRemoteDescriptionAsync(description.Value, cancellationToken).ConfigureAwait(false);
                    await FlushPendingCandidatesAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case PeerSignal.Candidate candidate:
                    lock (_pendingCandidates)
                    {
                        if (Connection.RemoteDescription is null)
                        {
                            _pendingCandidates.Add(candidate.Value);
                            break;
                        }
                    }
                    await AddCandidateAsync(candidate.Value, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or Sdp.SdpNegotiationException)
        {
            Fail(new RtcConnectionException(RtcFailureLayer.Signaling, e.Message, e));
        }
    }

    private async Task FlushPendingCandidatesAsync(CancellationToken cancellationToken)
    {
        RtcIceCandidateInit[] pending;
        lock (_pendingCandidates)
        {
            pending = [.. _pendingCandidates];
            _pendingCandidates.Clear();
        }
        foreach (var candidate in pending) await AddCandidateAsync(candidate, cancellationToken).ConfigureAwait(false);
    }

    private async Task AddCandidateAsync(RtcIceCandidateInit candidate, CancellationToken cancellationToken)
    {
        try
        {
            await Connection.AddIceCandidateAsync(candidate, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException e)
        {
            _logger.LogWarning("ignored a remote candidate that does not parse ({Reason}): {Candidate}", e.Message, candidate.Candidate);
        }
    }

    /// <summary>Sends a binary message (throws unless connected).</summary>
    public void Send(byte[] data) => RequireChannel().Send(data);

    /// <summary>Sends a binary message (throws unless connected).</summary>
    public void Send(ReadOnlySpan<byte> data) => RequireChannel().Send(data);

    /// <summary>Sends a text message (throws unless connected).</summary>
    public void Send(string text) => RequireChannel().Send(text);

    /// <summary>Sends once the channel's buffer has room: backpressure for bulk transfers.</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        RequireChannel().SendAsync(data, cancellationToken);

    /// <summary>Closes the peer.</summary>
    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync().ConfigureAwait(false);
        Finish();
    }

    private RtcDataChannel RequireChannel() =>
        _channel is { ReadyState: RtcDataChannelState.Open } channel ? channel : throw new InvalidOperationException("the peer is not connected");

    /// <summary>
    /// Restarts ICE (RFC 8445 §9): a new offer with new ICE credentials goes out through <see cref="Signal"/>;
    /// the other peer answers as it would any offer. The channel stays open and data keeps flowing on the
    /// current path until ICE selects a new one; use it when the network changed or the connection failed.
    /// </summary>
    /// <exception cref="InvalidOperationException">An offer is already outstanding, or the peer is closed.</exception>
    public async Task RestartIceAsync(CancellationToken cancellationToken = default)
    {
        if (Connection.SignalingState != RtcSignalingState.Stable)
            throw new InvalidOperationException($"cannot restart ICE while an offer is outstanding (signaling state {Connection.SignalingState})");
        Connection.RestartIce();
        var offer = await Connection.CreateOfferAsync(cancellationToken).ConfigureAwait(false);
        await Connection.SetLocalDescriptionAsync(offer, cancellationToken).ConfigureAwait(false);
        RaiseSignal(new PeerSignal.Description(offer));
    }

    private async Task OfferAsync()
    {
        try
        {
            var offer = await Connection.CreateOfferAsync().ConfigureAwait(false);
            await Connection.SetLocalDescriptionAsync(offer).ConfigureAwait(false);
            RaiseSignal(new PeerSignal.Description(offer));
        }
        catch (Exception e)
        {
            Fail(new RtcConnectionException(RtcFailureLayer.Signaling, "could not make an offer: " + e.Message, e));
        }
    }

    private void Attach(RtcDataChannel channel)
    {
        _channel = channel;
        channel.Open += (_, _) =>
        {
            _connected.TrySetResult();
            Connected?.Invoke(this, EventArgs.Empty);
        };
        channel.Message += (_, e) => Data?.Invoke(this, e);
        channel.Error += (_, e) => Fail(e);
        channel.Closed += (_, _) => Finish();
        if (channel.ReadyState == RtcDataChannelState.Open)
        {
            _connected.TrySetResult();
            Connected?.Invoke(this, EventArgs.Empty);
        }
    }

    private void RaiseSignal(PeerSignal signal)
    {
        // Hold signals until there is a subscriber, and candidates until the offer or answer has
        // gone out (they are gathered from setLocalDescription on, before it is handed out here),
        // so the other side never gets a candidate first and nothing is lost.
        lock (_signalGate)
        {
            if (signal is PeerSignal.Description)
            {
                _descriptionSignaled = true;
                _held.Insert(0, signal);
            }
            else
            {
                _held.Add(signal);
            }
            if (_descriptionSignaled) FlushHeld();
        }
    }

    private void FlushHeld()
    {
        if (_signal is null) return;
        var ready = _held.ToArray();
        _held.Clear();
        foreach (var s in ready) InvokeSignal(s);
    }

    private void InvokeSignal(PeerSignal signal)
    {
        try
        {
            _signal?.Invoke(this, signal);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "a Signal handler threw");
        }
    }

    private void Fail(Exception error)
    {
        if (Volatile.Read(ref _closed) != 0) return;
        _connected.TrySetException(error);
        Error?.Invoke(this, error);
        Finish();
    }

    private void Finish()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _connected.TrySetException(new RtcConnectionException(RtcFailureLayer.Signaling, "the peer closed before it connected"));
        Closed?.Invoke(this, EventArgs.Empty);
    }
}
