using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace PeerNet.Ice;

/// <summary>
/// A UDP socket for a host candidate: one receive loop on the allocation-free
/// <c>Socket.ReceiveFromAsync(Memory&lt;byte&gt;, SocketFlags, SocketAddress)</c> with a pooled buffer
/// (no thread waits on it), and synchronous non-blocking sends.
/// </summary>
public sealed class UdpIceSocket : IIceSocket
{
    /// <summary>The largest datagram received whole.</summary>
    public const int ReceiveBufferSize = 65536;

    private readonly Socket _socket;
    private readonly CancellationTokenSource _closed = new();
    private Task _loop = Task.CompletedTask;
    private bool _segmentationOffload = UdpSegmentationOffload.IsSupported;
    private int _segmentationFailures;

    private UdpIceSocket(Socket socket)
    {
        _socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <inheritdoc/>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Errors other than ICMP-induced ones that ended or interrupted receiving (diagnostics).</summary>
    public long ReceiveErrors { get; private set; }

    /// <summary>
    /// Binds a socket to <paramref name="address"/> on an ephemeral port, or on the first free port of
    /// [<paramref name="minPort"/>, <paramref name="maxPort"/>] when a range is given.
    /// </summary>
    /// <exception cref="SocketException">The address cannot be bound (or no port of the range is free).</exception>
    public static UdpIceSocket Bind(IPAddress address, int minPort = 0, int maxPort = 0)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (minPort <= 0 || maxPort < minPort)
        {
            return new UdpIceSocket(Open(address, 0));
        }

        var count = maxPort - minPort + 1;
        var start = Random.Shared.Next(count);
        SocketException? last = null;
        for (var i = 0; i < count; i++)
        {
            try
            {
                return new UdpIceSocket(Open(address, minPort + ((start + i) % count)));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                last = e;
            }
        }

        throw last ?? new SocketException((int)SocketError.AddressAlreadyInUse);
    }

    /// <inheritdoc/>
    public void Start(IceSocketReceiveHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _loop = ReceiveLoopAsync(handler);
    }

    /// <inheritdoc/>
    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress remote)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, remote);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public int SendSegments(ReadOnlySpan<byte> segments, int segmentSize, SocketAddress remote)
    {
        var count = (segments.Length + segmentSize - 1) / segmentSize;
        if (count > 1 && _segmentationOffload && count <= UdpSegmentationOffload.MaxSegments)
        {
            if (UdpSegmentationOffload.TrySend(_socket, segments, segmentSize, remote))
            {
                _segmentationFailures = 0;
                return count;
            }

            // EAGAIN (a full buffer) passes; a path or kernel that refuses it keeps refusing.
            if (++_segmentationFailures >= 8)
            {
                _segmentationOffload = false;
            }
        }

        return IIceSocket.SendEach(this, segments, segmentSize, remote);
    }

    /// <summary>True while <see cref="SendSegments"/> uses UDP segmentation offload.</summary>
    public bool UsesSegmentationOffload => _segmentationOffload;

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_closed.IsCancellationRequested)
        {
            return;
        }

        await _closed.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _closed.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"udp {LocalEndPoint}";

    private static Socket Open(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            socket.Bind(new IPEndPoint(address, port));
            socket.ReceiveBufferSize = Math.Max(socket.ReceiveBufferSize, 1 << 20);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task ReceiveLoopAsync(IceSocketReceiveHandler handler)
    {
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
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
                    ReceiveErrors++; // ICMP errors of earlier sends and oversized datagrams: keep receiving
                    continue;
                }

                handler(this, buffer.AsSpan(0, received), from);
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
}
