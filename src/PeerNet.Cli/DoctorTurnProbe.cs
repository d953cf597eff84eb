using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using PeerNet.Ice;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Cli;

/// <summary>
/// One TURN allocation for the doctor: a thin driver (a lock, a timer, one receive loop) around the
/// sans-I/O <see cref="TurnClient"/>, over UDP, TCP or TLS. Unlike the ICE relay socket it surfaces what
/// the doctor has to explain: the server's answer to each CreatePermission (403 is a peer policy, not a
/// failure of TURN) and the data that comes back through the relay.
/// </summary>
internal sealed class DoctorTurnProbe : IAsyncDisposable
{
    private readonly TurnClient _client;
    private readonly Lock _lock = new();
    private readonly Socket _socket;
    private readonly Stream? _stream;
    private readonly IPEndPoint _server;
    private readonly Timer _timer;
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _allocated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<StunAddress, TaskCompletionSource> _permissions = [];
    private readonly Channel<(StunAddress Peer, byte[] Data)> _received = Channel.CreateBounded<(StunAddress, byte[])>(
        new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly byte[] _sendBuffer = new byte[ChannelData.MaxDataLength + TurnClient.MaxSendOverhead];
    private Task _loop = Task.CompletedTask;
    private bool _disposed;

    private DoctorTurnProbe(TurnClient client, Socket socket, Stream? stream, IPEndPoint server)
    {
        _client = client;
        _socket = socket;
        _stream = stream;
        _server = server;
        _timer = new Timer(_ => OnTimer());
    }

    /// <summary>The relayed transport address, once allocated.</summary>
    public StunAddress RelayedAddress { get; private set; }

    /// <summary>Our address as the server saw it, once allocated.</summary>
    public StunAddress MappedAddress { get; private set; }

    /// <summary>The lifetime the server granted, in seconds.</summary>
    public uint LifetimeSeconds
    {
        get
        {
            lock (_lock) return _client.LifetimeSeconds;
        }
    }

    /// <summary>The local end of the connection to the server.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>What peers sent through the relay (peer address, payload).</summary>
    public ChannelReader<(StunAddress Peer, byte[] Data)> Received => _received.Reader;

    /// <summary>
    /// Connects to <paramref name="server"/> (TCP/TLS) or opens a UDP socket, then allocates. Returns once
    /// allocated.
    /// </summary>
    /// <exception cref="TurnClientException">The server refused (with its code and reason) or did not answer.</exception>
    /// <exception cref="SocketException">A TCP connection could not be made.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The TLS handshake failed (e.g. an untrusted certificate).</exception>
    public static async Task<DoctorTurnProbe> AllocateAsync(IPEndPoint server, IceServerTransport transport, string username, string password,
        string? tlsHostName, RemoteCertificateValidationCallback? certificateValidation, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var options = new TurnClientOptions
        {
            Server = StunAddress.FromIPEndPoint(server),
            Transport = transport switch
            {
                IceServerTransport.Tcp => TurnTransport.Tcp,
                IceServerTransport.Tls => TurnTransport.Tls,
                _ => TurnTransport.Udp,
            },
            Username = username,
            Password = password,
            RequestedAddressFamily = server.AddressFamily == AddressFamily.InterNetworkV6 ? StunAddressFamily.IPv6 : StunAddressFamily.None,
            RequestedLifetime = TimeSpan.FromMinutes(2),
            TransactionTimeout = timeout,
            Software = "PeerNet doctor",
        };

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        Socket socket;
        Stream? stream = null;
        if (transport == IceServerTransport.Udp)
        {
            socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
        }
        else
        {
            socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(server, deadline.Token).ConfigureAwait(false);
                stream = new NetworkStream(socket, ownsSocket: false);
                if (transport == IceServerTransport.Tls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = ssl;
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = tlsHostName ?? server.Address.ToString(),
                        RemoteCertificateValidationCallback = certificateValidation,
                    }, deadline.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
                socket.Dispose();
                throw new TurnClientException(new TurnClientFailure(TurnClientOperation.Allocate, 0, $"no {transport} connection to {server} within {timeout.TotalSeconds:0.#} s"));
            }
            catch
            {
                if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
                socket.Dispose();
                throw;
            }
        }

        var probe = new DoctorTurnProbe(new TurnClient(options), socket, stream, server);
        try
        {
            probe._loop = stream is null ? probe.ReceiveDatagramsAsync() : probe.ReceiveStreamAsync(stream);
            lock (probe._lock)
            {
                probe._client.Allocate(Environment.TickCount64);
                probe.Flush();
            }

            await probe._allocated.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
            return probe;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await probe.DisposeAsync().ConfigureAwait(false);
            throw new TurnClientException(new TurnClientFailure(TurnClientOperation.Allocate, 0, $"no answer from {server} within {timeout.TotalSeconds:0.#} s"));
        }
        catch
        {
            await probe.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Installs a permission for <paramref name="peer"/>'s IP; completes when the server confirms.</summary>
    /// <exception cref="TurnClientException">The server refused it (403: its peer policy) or did not answer.</exception>
    public Task CreatePermissionAsync(StunAddress peer)
    {
        var key = peer.WithPort(0);
        lock (_lock)
        {
            if (!_permissions.TryGetValue(key, out var pending))
            {
                pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _permissions.Add(key, pending);
                _client.CreatePermission(peer, Environment.TickCount64);
                Flush();
            }

            return pending.Task;
        }
    }

    /// <summary>Sends <paramref name="data"/> to <paramref name="peer"/> through the relay (a Send indication).</summary>
    public bool Send(StunAddress peer, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (_disposed) return false;
            var length = _client.WrapData(peer, data, _sendBuffer);
            return length > 0 && SendToServer(_sendBuffer.AsSpan(0, length));
        }
    }

    /// <summary>Releases the allocation (Refresh with lifetime 0, waited for briefly) and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        bool closing;
        lock (_lock)
        {
            if (_disposed) return;
            _client.Close(Environment.TickCount64);
            Flush();
            closing = _client.State == TurnClientState.Closing;
        }

        if (closing) await Task.WhenAny(_released.Task, Task.Delay(500)).ConfigureAwait(false);
        lock (_lock) _disposed = true;
        await _closed.CancelAsync().ConfigureAwait(false);
        await _timer.DisposeAsync().ConfigureAwait(false);
        if (_stream is not null)
        {
            try
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
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
        _received.Writer.TryComplete();
    }

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
                    RelayedAddress = e.Address;
                    MappedAddress = e.Mapped;
                    _allocated.TrySetResult();
                    break;
                case TurnClientEventKind.PermissionCreated:
                    if (_permissions.TryGetValue(e.Address.WithPort(0), out var created)) created.TrySetResult();
                    break;
                case TurnClientEventKind.Failed when e.Failure is { } failure:
                    var error = new TurnClientException(failure);
                    if (failure.Operation == TurnClientOperation.Allocate)
                    {
                        _allocated.TrySetException(error);
                    }
                    else if (failure.Operation == TurnClientOperation.CreatePermission && _permissions.TryGetValue(e.Address.WithPort(0), out var refused))
                    {
                        refused.TrySetException(error);
                    }
                    else if (failure.Operation == TurnClientOperation.Refresh)
                    {
                        foreach (var permission in _permissions.Values) permission.TrySetException(error);
                    }

                    break;
                case TurnClientEventKind.Closed:
                    _released.TrySetResult();
                    break;
            }
        }

        if (_disposed) return;
        var deadline = _client.PollTimeout();
        _timer.Change(deadline is { } d ? Math.Clamp(d - Environment.TickCount64, 1, int.MaxValue) : Timeout.Infinite, Timeout.Infinite);
    }

    private bool SendToServer(ReadOnlySpan<byte> message)
    {
        try
        {
            if (_stream is null) _socket.SendTo(message, SocketFlags.None, _server);
            else _stream.Write(message);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or NotSupportedException)
        {
            return false;
        }
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _client.HandleTimeout(Environment.TickCount64);
            Flush();
        }
    }

    private void OnMessage(ReadOnlySpan<byte> message)
    {
        lock (_lock)
        {
            if (_disposed) return;
            var result = _client.HandleReceived(message, Environment.TickCount64, out var peer, out var data);
            Flush();
            if (result == TurnReceiveResult.Data)
            {
                _received.Writer.TryWrite((peer, data.ToArray()));
            }
        }
    }

    private async Task ReceiveDatagramsAsync()
    {
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        var server = _server.Serialize();
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

                if (from.Equals(server)) OnMessage(buffer.AsSpan(0, received));
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
                if (read == 0) break;
                reader.Advance(read);
                while (reader.TryReadFrame(out var frame)) OnMessage(frame);
                if (reader.IsBroken) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
        }

        var closed = new TurnClientException($"TURN server {_server} closed the connection");
        _allocated.TrySetException(closed);
        lock (_lock)
        {
            foreach (var permission in _permissions.Values) permission.TrySetException(closed);
        }

        _released.TrySetResult();
    }
}
