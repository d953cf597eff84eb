using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Signaling;

namespace PeerNet.Rtc;

/// <summary>A peer that offered to us through a <see cref="PeerRoom"/>.</summary>
public sealed class PeerAcceptedEventArgs(string remoteId, Peer peer) : EventArgs
{
    /// <summary>The remote's hub id.</summary>
    public string RemoteId { get; } = remoteId;

    /// <summary>The link to it (not yet connected).</summary>
    public Peer Peer { get; } = peer;
}

/// <summary>
/// <see cref="Peer"/>s over the hub, following docs/signaling.md's room convention: a peer that
/// joins a room offers to the peers already there, and the others answer. Signals are routed by the
/// hub's server-stamped <c>from</c>, one ordered queue per remote.
/// </summary>
public sealed class PeerRoom : IAsyncDisposable
{
    private readonly SignalingClient _signaling;
    private readonly Func<bool, PeerOptions> _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Link> _links = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    /// <param name="signaling">A connected signaling client.</param>
    /// <param name="room">The room to meet in.</param>
    /// <param name="options">Options for each new peer; the argument says whether it is the initiator.</param>
    /// <param name="loggerFactory">Logging.</param>
    public PeerRoom(SignalingClient signaling, string room, Func<bool, PeerOptions>? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(signaling);
        ArgumentException.ThrowIfNullOrEmpty(room);
        _signaling = signaling;
        Room = room;
        _options = options ?? (initiator => new PeerOptions { Initiator = initiator });
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<PeerRoom>();
        _signaling.SignalReceived += OnSignal;
        _signaling.PeerLeft += OnPeerLeft;
    }

    /// <summary>The room's name.</summary>
    public string Room { get; }

    /// <summary>
    /// Peers whose <see cref="RtcConfiguration.IceServers"/> are empty take the hub's STUN/TURN entries
    /// (<see cref="SignalingClient.IceServers"/>, from its <c>welcome</c>); explicit servers always win.
    /// On by default.
    /// </summary>
    public bool UseHubIceServers { get; init; } = true;

    /// <summary>A remote offered to us; its <see cref="Peer"/> is being set up.</summary>
    public event EventHandler<PeerAcceptedEventArgs>? PeerAccepted;

    /// <summary>The peers, by remote hub id.</summary>
    public IReadOnlyDictionary<string, Peer> Peers => _links.ToDictionary(l => l.Key, l => l.Value.Peer);

    /// <summary>Joins the room; returns the ids of the peers already there (to <see cref="Connect"/> to).</summary>
    public Task<IReadOnlyList<string>> JoinAsync(CancellationToken cancellationToken = default) =>
        _signaling.JoinAsync(Room, cancellationToken);

    /// <summary>Offers to <paramref name="remoteId"/> (this side is the initiator).</summary>
    public Peer Connect(string remoteId)
    {
        ArgumentException.ThrowIfNullOrEmpty(remoteId);
        var link = CreateLink(remoteId, initiator: true);
        if (!_links.TryAdd(remoteId, link))
        {
            _ = link.Peer.DisposeAsync();
            throw new InvalidOperationException($"already connected or connecting to {remoteId}");
        }
        return link.Peer;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _signaling.SignalReceived -= OnSignal;
        _signaling.PeerLeft -= OnPeerLeft;
        _stopping.Cancel();
        foreach (var link in _links.Values) await link.DisposeAsync().ConfigureAwait(false);
        _links.Clear();
        _stopping.Dispose();
    }

    private Link CreateLink(string remoteId, bool initiator)
    {
        var peer = new Peer(WithHubIceServers(_options(initiator)), _loggerFactory);
        var link = new Link(remoteId, peer, this);
        peer.Closed += (_, _) =>
        {
            if (_links.TryGetValue(remoteId, out var current) && ReferenceEquals(current, link)) _links.TryRemove(remoteId, out _);
        };
        return link;
    }

    /// <summary>The options, with the hub's ICE servers when none are configured (and that is wanted).</summary>
    internal PeerOptions WithHubIceServers(PeerOptions options)
    {
        if (!UseHubIceServers || options.Configuration.IceServers.Count > 0) return options;
        var hub = _signaling.IceServers;
        if (hub.Count == 0) return options;
        return options with { Configuration = options.Configuration with { IceServers = hub } };
    }

    private void OnSignal(object? sender, SignalReceivedEventArgs e)
    {
        PeerSignal signal;
        try
        {
            signal = PeerSignal.Parse(e.Data);
        }
        catch (FormatException error)
        {
            _logger.LogWarning("ignored a signal from {Peer}: {Reason}", e.From, error.Message);
            return;
        }
        if (!_links.TryGetValue(e.From, out var link))
        {
            if (signal is not PeerSignal.Description { Value.Type: RtcSdpType.Offer })
            {
                _logger.LogDebug("ignored a {Signal} from {Peer}, which has not offered", signal.GetType().Name, e.From);
                return;
            }
            link = CreateLink(e.From, initiator: false);
            if (!_links.TryAdd(e.From, link))
            {
                _ = link.DisposeAsync();
                link = _links[e.From];
            }
            else
            {
                PeerAccepted?.Invoke(this, new PeerAcceptedEventArgs(e.From, link.Peer));
            }
        }
        link.Incoming.Writer.TryWrite(signal);
    }

    private void OnPeerLeft(object? sender, RoomPeerEventArgs e)
    {
        if (e.Room != Room || !_links.TryRemove(e.PeerId, out var link)) return;
        _ = link.DisposeAsync();
    }

    /// <summary>One remote: the peer, and its signals in order each way.</summary>
    private sealed class Link : IAsyncDisposable
    {
        private readonly Channel<PeerSignal> _outgoing = Channel.CreateUnbounded<PeerSignal>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Task _sender;
        private readonly Task _receiver;
        private readonly CancellationTokenSource _stop;

        public Link(string remoteId, Peer peer, PeerRoom room)
        {
            Peer = peer;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(room._stopping.Token);
            peer.Signal += (_, signal) => _outgoing.Writer.TryWrite(signal);
            _sender = Task.Run(async () =>
            {
                await foreach (var signal in _outgoing.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                {
                    try
                    {
                        await room._signaling.SignalAsync(remoteId, signal.ToJson(), _stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        room._logger.LogWarning("could not signal {Peer}: {Reason}", remoteId, e.Message);
                    }
                }
            });
            _receiver = Task.Run(async () =>
            {
                await foreach (var signal in Incoming.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                {
                    try
                    {
                        await peer.SignalAsync(signal, _stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // A signal the peer could not use must not stop the ones after it.
                        room._logger.LogWarning("a signal from {Peer} failed: {Reason}", remoteId, e.Message);
                    }
                }
            });
        }

        public Peer Peer { get; }

        public Channel<PeerSignal> Incoming { get; } = Channel.CreateUnbounded<PeerSignal>(new UnboundedChannelOptions { SingleReader = true });

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await Peer.DisposeAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(_sender, _receiver).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
            _stop.Dispose();
        }
    }
}
