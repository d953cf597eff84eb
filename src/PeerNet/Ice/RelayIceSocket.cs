using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Ice;

/// <summary>
/// The socket of a relayed candidate: a TURN allocation (<see cref="TurnClient"/>) on a server reached
/// over UDP, TCP or TLS. What ICE sends to a peer goes out as a Send indication, or as ChannelData
/// once the peer's channel is bound; what the relay receives from a peer comes back as if the peer
/// had sent it to this socket. It owns its socket to the server, one lock and one timer.
/// </summary>
/// <remarks>
/// Lock order: the ICE driver may call <see cref="Send"/>, <see cref="CreatePermission"/> and
/// <see cref="BindChannel"/> under its own lock; this socket never calls out (the receive handler) while
/// holding its lock.
/// </remarks>
public sealed class RelayIceSocket : IIceSocket
{
    private readonly TurnClient _client;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Timer _timer;
    private readonly Socket _socket;
    private readonly Stream? _stream;
    private readonly SocketAddress _server;
    private readonly SocketAddress _peerScratch;
    private readonly byte[] _sendBuffer = new byte[ChannelData.MaxDataLength + TurnClient.MaxSendOverhead];
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _allocated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<StunAddress, TaskCompletionSource> _permissionWaiters = []; // by peer IP (port 0)
    private IceSocketReceiveHandler? _handler;
    private Task _loop = Task.CompletedTask;
    private long _timerDeadline = long.MaxValue;
    private bool _disposed;

    private RelayIceSocket(TurnClient client, Socket socket, Stream? stream, IPEndPoint server, ILogger logger)
    {
        _client = client;
        _socket = socket;
        _stream = stream;
        _logger = logger;
        ServerEndPoint = server;
        _server = server.Serialize();
        _peerScratch = new SocketAddress(server.AddressFamily);
        _timer = new Timer(_ => OnTimer());
    }

    /// <summary>The relayed transport address (the candidate's address and base).</summary>
    public IPEndPoint LocalEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>Our address as the TURN server saw it (the relayed candidate's raddr/rport).</summary>
    public IPEndPoint MappedEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>The TURN server.</summary>
    public IPEndPoint ServerEndPoint { get; }

    /// <summary>The local end of the connection to the server.</summary>
    public IPEndPoint ClientEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>How the server is reached.</summary>
    public TurnTransport Transport => _stream is null ? TurnTransport.Udp : _stream is SslStream ? TurnTransport.Tls : TurnTransport.Tcp;

    /// <summary>Datagrams from peers delivered to ICE.</summary>
    public long DatagramsReceived { get; private set; }

    /// <summary>The allocation's state.</summary>
    public TurnClientState State
    {
        get
        {
            lock (_lock)
            {
                return _client.State;
            }
        }
    }

    /// <summary>
    /// Connects to <paramref name="server"/> from <paramref name="localAddress"/> and allocates a relay
    /// of the same family as the server address; returns once the allocation exists.
    /// </summary>
    /// <exception cref="TurnClientException">The server refused (with its error code and reason) or did not answer in time.</exception>
    /// <exception cref="SocketException">The server cannot be reached over TCP.</exception>
    /// <exception cref="NotSupportedException">A transport that is not UDP, TCP or TLS.</exception>
    public static async Task<RelayIceSocket> AllocateAsync(IPEndPoint server, IPAddress localAddress, IceServerTransport transport,
        string username, string password, TimeSpan timeout, string? tlsHostName = null, ILogger? logger = null,
        RemoteCertificateValidationCallback? certificateValidation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(localAddress);
        logger ??= NullLogger.Instance;
        var options = new TurnClientOptions
        {
            Server = StunAddress.FromIPEndPoint(server),
            Transport = transport switch
            {
                IceServerTransport.Udp => TurnTransport.Udp,
                IceServerTransport.Tcp => TurnTransport.Tcp,
                IceServerTransport.Tls => TurnTransport.Tls,
                _ => throw new NotSupportedException($"TURN transport {transport}"),
            },
            Username = username,
            Password = password,
            RequestedAddressFamily = server.AddressFamily == AddressFamily.InterNetworkV6 ? StunAddressFamily.IPv6 : StunAddressFamily.None,
            TransactionTimeout = timeout,
        };

        Socket socket;
        Stream? stream = null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        if (transport == IceServerTransport.Udp)
        {
            socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        else
        {
            socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
                await socket.ConnectAsync(server, deadline.Token).ConfigureAwait(false);
                stream = new NetworkStream(socket, ownsSocket: false);
                if (transport == IceServerTransport.Tls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = tlsHostName ?? server.Address.ToString(),
                        RemoteCertificateValidationCallback = certificateValidation,
                    }, deadline.Token).ConfigureAwait(false);
                    stream = ssl;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new TurnClientException($"TURN server {server} did not accept a connection in time");
            }
            catch
            {
                if (stream is not null)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }

                socket.Dispose();
                throw;
            }
        }

        var relay = new RelayIceSocket(new TurnClient(options), socket, stream, server, logger);
        try
        {
            relay._loop = stream is null ? relay.ReceiveDatagramsAsync() : relay.ReceiveStreamAsync(stream);
            lock (relay._lock)
            {
                relay._client.Allocate(Environment.TickCount64);
                relay.Flush();
            }

            await relay._allocated.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
            return relay;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await relay.DisposeAsync().ConfigureAwait(false);
            throw new TurnClientException(new TurnClientFailure(TurnClientOperation.Allocate, 0, $"no answer from {server} in {timeout.TotalSeconds:0.#} s"));
        }
        catch
        {
            await relay.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    public void Start(IceSocketReceiveHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
    }

    /// <summary>Installs (and keeps) a permission for the IP of <paramref name="peer"/> (RFC 8656 §9), so its checks get through.</summary>
    public void CreatePermission(StunAddress peer)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _client.CreatePermission(peer, Environment.TickCount64);
            Flush();
        }
    }

    /// <summary>
    /// Installs a permission for the IP of <paramref name="peer"/> and completes when the server confirms it;
    /// faults with <see cref="TurnClientException"/> when the server refuses (403: its peer policy) or the
    /// allocation fails. For diagnostics (<c>peernet doctor</c>); ICE uses <see cref="CreatePermission"/>.
    /// </summary>
    public Task CreatePermissionAsync(StunAddress peer)
    {
        var key = peer.WithPort(0);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_permissionWaiters.TryGetValue(key, out var waiter))
            {
                waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _permissionWaiters.Add(key, waiter);
                _client.CreatePermission(peer, Environment.TickCount64);
                Flush();
            }

            return waiter.Task;
        }
    }

    /// <summary>The lifetime the server granted the allocation, in seconds.</summary>
    public uint LifetimeSeconds
    {
        get
        {
            lock (_lock)
            {
                return _client.LifetimeSeconds;
            }
        }
    }

    /// <summary>Binds a channel to <paramref name="peer"/> (for the selected pair): data then travels as ChannelData.</summary>
    public void BindChannel(StunAddress peer)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _client.BindChannel(peer, Environment.TickCount64);
            Flush();
        }
    }

    /// <summary>Whether the channel to <paramref name="peer"/> is bound.</summary>
    public bool HasChannel(StunAddress peer)
    {
        lock (_lock)
        {
            return _client.TryGetChannel(peer, out _);
        }
    }

    /// <inheritdoc/>
    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress remote)
    {
        if (!StunAddress.TryFromSocketAddress(remote, out var peer))
        {
            return false;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            var length = _client.WrapData(peer, datagram, _sendBuffer);
            return length > 0 && SendToServer(_sendBuffer.AsSpan(0, length));
        }
    }

    /// <summary>Releases the allocation (Refresh with lifetime 0, waited for briefly) and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        bool closing;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _client.Close(Environment.TickCount64);
            Flush();
            closing = _client.State == TurnClientState.Closing;
        }

        if (closing)
        {
            await Task.WhenAny(_released.Task, Task.Delay(500)).ConfigureAwait(false);
        }

        lock (_lock)
        {
            _disposed = true;
            foreach (var waiter in _permissionWaiters.Values)
            {
                waiter.TrySetCanceled();
            }

            _permissionWaiters.Clear();
        }

        await _closed.CancelAsync().ConfigureAwait(false);
        await _timer.DisposeAsync().ConfigureAwait(false);
        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }

        _socket.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
        }

        _closed.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"relay {LocalEndPoint} via {Transport} {ServerEndPoint}";

    // ---- The core's outputs (under the lock) ----

    private void Flush()
    {
        Span<byte> buffer = stackalloc byte[TurnClient.MaxRequestLength];
        int length;
        while ((length = _client.PollTransmit(buffer)) > 0)
        {
            SendToServer(buffer[..length]);
        }

        while (_client.TryPollEvent(out var e))
        {
            switch (e.Kind)
            {
                case TurnClientEventKind.Allocated:
                    LocalEndPoint = e.Address.ToIPEndPoint();
                    MappedEndPoint = e.Mapped.Family == StunAddressFamily.None ? new IPEndPoint(IPAddress.None, 0) : e.Mapped.ToIPEndPoint();
                    _allocated.TrySetResult();
                    break;
                case TurnClientEventKind.PermissionCreated:
                    if (_permissionWaiters.Remove(e.Address.WithPort(0), out var created))
                    {
                        created.TrySetResult();
                    }

                    break;
                case TurnClientEventKind.Failed when e.Failure is { } failure:
                    if (failure.Operation is TurnClientOperation.Allocate or TurnClientOperation.Refresh)
                    {
                        var error = new TurnClientException(failure);
                        _allocated.TrySetException(error);
                        foreach (var waiter in _permissionWaiters.Values)
                        {
                            waiter.TrySetException(error);
                        }

                        _permissionWaiters.Clear();
                    }
                    else if (failure.Operation == TurnClientOperation.CreatePermission && _permissionWaiters.Remove(e.Address.WithPort(0), out var refused))
                    {
                        refused.TrySetException(new TurnClientException(failure));
                    }

                    if (failure is { Operation: TurnClientOperation.CreatePermission, Code: 403 })
                    {
                        // The server refuses this peer address (RFC 8656 §9.1, e.g. a private or loopback
                        // candidate of the remote): routine, and that pair simply fails.
                        _logger.LogDebug("TURN {Server}: {Failure}", ServerEndPoint, failure.ToString());
                    }
                    else
                    {
                        _logger.LogWarning("TURN {Server}: {Failure}", ServerEndPoint, failure.ToString());
                    }

                    break;
                case TurnClientEventKind.Closed:
                    _released.TrySetResult();
                    break;
            }
        }

        if (_disposed)
        {
            return;
        }

        var deadline = _client.PollTimeout() ?? long.MaxValue;
        if (deadline != _timerDeadline)
        {
            _timerDeadline = deadline;
            if (deadline == long.MaxValue)
            {
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
            }
            else
            {
                _timer.Change(Math.Clamp(deadline - Environment.TickCount64, 1, int.MaxValue), Timeout.Infinite);
            }
        }
    }

    private bool SendToServer(ReadOnlySpan<byte> message)
    {
        try
        {
            if (_stream is null)
            {
                _socket.SendTo(message, SocketFlags.None, _server);
            }
            else
            {
                _stream.Write(message);
            }

            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            return false;
        }
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            _timerDeadline = long.MaxValue;
            if (_disposed)
            {
                return;
            }

            _client.HandleTimeout(Environment.TickCount64);
            Flush();
        }
    }

    // ---- Receiving (one loop) ----

    private void OnMessage(ReadOnlySpan<byte> message)
    {
        TurnReceiveResult result;
        StunAddress peer;
        ReadOnlySpan<byte> data;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            result = _client.HandleReceived(message, Environment.TickCount64, out peer, out data);
            Flush();
        }

        // Outside the lock: the handler takes the ICE driver's lock, which may be held while calling Send.
        if (result == TurnReceiveResult.Data && _handler is { } handler && peer.Family != StunAddressFamily.None)
        {
            var address = peer.Family == StunAddressFamily.IPv4 == (_peerScratch.Family == AddressFamily.InterNetwork)
                ? _peerScratch
                : new SocketAddress(peer.Family == StunAddressFamily.IPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6);
            if (peer.TryWriteTo(address))
            {
                DatagramsReceived++;
                handler(this, data, address);
            }
        }
    }

    private async Task ReceiveDatagramsAsync()
    {
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(UdpIceSocket.ReceiveBufferSize);
        var from = new SocketAddress(_socket.AddressFamily);
        var token = _closed.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = await _socket.ReceiveFromAsync(buffer.AsMemory(), SocketFlags.None, from, token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused
                    or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize)
                {
                    continue;
                }

                if (!from.Equals(_server))
                {
                    continue; // only the server speaks to this socket
                }

                OnMessage(buffer.AsSpan(0, received));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task ReceiveStreamAsync(Stream stream)
    {
        await Task.Yield();
        var reader = new TurnStreamReader();
        var token = _closed.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var read = await stream.ReadAsync(reader.GetWriteMemory(), token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                reader.Advance(read);
                while (reader.TryReadFrame(out var frame))
                {
                    OnMessage(frame);
                }

                if (reader.IsBroken)
                {
                    _logger.LogWarning("TURN {Server}: the stream lost its framing; closing", ServerEndPoint);
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
        }

        lock (_lock)
        {
            if (!_disposed && _client.State is TurnClientState.Allocating or TurnClientState.Allocated)
            {
                _allocated.TrySetException(new TurnClientException($"TURN server {ServerEndPoint} closed the connection"));
            }

            _released.TrySetResult();
        }
    }
}
