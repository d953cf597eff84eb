using Microsoft.Extensions.Logging;
using PeerNet.Ice;

namespace PeerNet.Rtc;

/// <summary>A handler for one datagram, without copying it.</summary>
internal delegate void RtcDatagramHandler(ReadOnlySpan<byte> datagram);

/// <summary>
/// The peer connection's view of ICE: credentials known from the start (they go in the first
/// offer), the transport made once the role is known (JSEP: the offerer controls), W3C states.
/// </summary>
internal sealed class RtcIceLink : IRtcIcePath, IAsyncDisposable
{
    private readonly RtcConfiguration _configuration;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly IReadOnlyList<IceServer> _iceServers;
    private IceTransport? _transport;
    private bool _closed;

    public RtcIceLink(RtcConfiguration configuration, ILogger logger)
    {
        _configuration = configuration;
        _logger = logger;
        _iceServers = ParseIceServers(configuration.IceServers);
        LocalUfrag = IceCredentials.GenerateUfrag();
        LocalPassword = IceCredentials.GeneratePassword();
    }

    /// <summary>The local ice-ufrag of the current ICE generation (an ICE restart replaces it).</summary>
    public string LocalUfrag { get; private set; }

    public string LocalPassword { get; private set; }

    /// <summary>The remote ice-ufrag of the current ICE generation, once known.</summary>
    public string? RemoteUfrag => _transport?.RemoteUfrag;

    /// <summary>Local candidates in W3C form ("candidate:..."); null once gathering is complete.</summary>
    public event Action<string?>? LocalCandidate;

    public event Action<RtcIceGatheringState>? GatheringStateChanged;

    public event Action<RtcIceConnectionState>? StateChanged;

    /// <summary>DTLS datagrams (first byte 20..63, RFC 7983) from the remote.</summary>
    public RtcDatagramHandler? DtlsReceived { get; set; }

    public IReadOnlyList<string> LocalCandidates => _transport is { } t ? [.. t.LocalCandidates.Select(c => c.ToString())] : [];

    public RtcIceCandidatePairInfo? SelectedPair => _transport?.SelectedCandidatePair is { } pair ? new RtcIceCandidatePairInfo(Info(pair.Local), Info(pair.Remote)) : null;

    /// <summary>Why ICE failed, in words (what each side offered, and whether TURN is needed).</summary>
    public string DescribeFailure() => _transport?.DescribeFailure() ?? "no candidate pair worked: ICE never started";

    /// <summary>Starts gathering host candidates (once).</summary>
    public void StartGathering(bool controlling)
    {
        var transport = Ensure(controlling);
        if (transport is null || transport.GatheringState != IceGatheringState.New) return;
        _ = GatherAsync(transport);
    }

    public void SetRemoteCredentials(string ufrag, string password, bool controlling) => Ensure(controlling)?.Start(ufrag, password);

    /// <summary>An ICE restart with these new local credentials (RFC 8445 §9); before ICE started, they simply replace the old ones.</summary>
    public void Restart(string ufrag, string password)
    {
        IceTransport? transport;
        lock (_gate)
        {
            if (_closed) return;
            transport = _transport;
            LocalUfrag = ufrag;
            LocalPassword = password;
        }
        transport?.Restart(ufrag, password);
    }

    public async Task AddRemoteCandidateAsync(string candidate, bool controlling, CancellationToken cancellationToken)
    {
        var parsed = IceCandidate.Parse(candidate);
        var transport = Ensure(controlling);
        if (transport is null) return;
        if (!await transport.AddRemoteCandidateAsync(parsed, cancellationToken).ConfigureAwait(false))
            _logger.LogDebug("remote candidate not used: {Candidate}", candidate);
    }

    public void AddRemoteEndOfCandidates() => _transport?.AddRemoteEndOfCandidates();

    public void Send(ReadOnlySpan<byte> datagram) => _transport?.Send(datagram);

    public void SendSegments(ReadOnlySpan<byte> segments, int segmentSize) => _transport?.SendSegments(segments, segmentSize);

    public void Close()
    {
        IceTransport? transport;
        lock (_gate)
        {
            _closed = true;
            transport = _transport;
        }
        _ = transport?.DisposeAsync().AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        IceTransport? transport;
        lock (_gate)
        {
            _closed = true;
            transport = _transport;
        }
        if (transport is not null) await transport.DisposeAsync().ConfigureAwait(false);
    }

    private IceTransport? Ensure(bool controlling)
    {
        lock (_gate)
        {
            if (_closed) return null;
            if (_transport is not null) return _transport;
            var options = new IceTransportOptions
            {
                Agent = new IceAgentOptions
                {
                    Role = controlling ? IceRole.Controlling : IceRole.Controlled,
                    LocalUfrag = LocalUfrag,
                    LocalPassword = LocalPassword,
                    Logger = _logger,
                },
                Gathering = new IceGatherOptions
                {
                    IncludeLoopback = _configuration.IncludeLoopbackCandidates,
                    Addresses = _configuration.AllowedLocalAddresses.Count > 0 ? [.. _configuration.AllowedLocalAddresses] : null,
                },
                IceServers = [.. _iceServers],
                TransportPolicy = _configuration.IceTransportPolicy,
                UdpMux = _configuration.IceUdpMux,
            };
            var transport = new IceTransport(options, _logger);
            transport.CandidateGathered += candidate => LocalCandidate?.Invoke(candidate.ToString());
            transport.GatheringStateChanged += state =>
            {
                GatheringStateChanged?.Invoke(state switch
                {
                    IceGatheringState.New => RtcIceGatheringState.New,
                    IceGatheringState.Gathering => RtcIceGatheringState.Gathering,
                    _ => RtcIceGatheringState.Complete,
                });
                if (state == IceGatheringState.Complete) LocalCandidate?.Invoke(null);
            };
            transport.ConnectionStateChanged += state => StateChanged?.Invoke(state switch
            {
                IceConnectionState.New => RtcIceConnectionState.New,
                IceConnectionState.Checking => RtcIceConnectionState.Checking,
                IceConnectionState.Connected => RtcIceConnectionState.Connected,
                IceConnectionState.Completed => RtcIceConnectionState.Completed,
                IceConnectionState.Failed => RtcIceConnectionState.Failed,
                IceConnectionState.Disconnected => RtcIceConnectionState.Disconnected,
                _ => RtcIceConnectionState.Closed,
            });
            transport.DatagramReceived = datagram => DtlsReceived?.Invoke(datagram);
            _transport = transport;
            return transport;
        }
    }

    private async Task GatherAsync(IceTransport transport)
    {
        try
        {
            await transport.GatherAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            _logger.LogDebug("gathering stopped: {Reason}", e.Message);
        }
    }

    /// <summary>W3C RTCIceServer entries to parsed URLs (each URL of an entry shares its credentials).</summary>
    /// <exception cref="FormatException">A URL is invalid, or a TURN URL lacks credentials.</exception>
    internal static IReadOnlyList<IceServer> ParseIceServers(IReadOnlyList<RtcIceServer> servers)
    {
        var parsed = new List<IceServer>();
        foreach (var server in servers)
        {
            parsed.AddRange(IceServer.ParseAll(server.Urls, server.Username, server.Credential));
        }

        return parsed;
    }

    private static RtcIceCandidateInfo Info(IceCandidate candidate) =>
        new(candidate.Type.ToToken(), candidate.Address, candidate.Port, candidate.Protocol == IceProtocol.Udp ? "udp" : "tcp", candidate.ToString());
}
