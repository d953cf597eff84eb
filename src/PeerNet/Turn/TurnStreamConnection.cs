using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// One TCP or TLS client connection: a read loop that cuts STUN and ChannelData frames from the
/// stream (RFC 8656 §12.5) and hands them to the server, and a writer that drains a bounded queue
/// of outgoing frames (responses and relayed data), dropping relayed data when the client does not
/// keep up rather than blocking anyone.
/// </summary>
internal sealed class TurnStreamConnection
{
    private const int InitialBufferLength = 8192;
    private const int MaxFrameLength = StunMessage.MaxLength;

    private readonly TurnServerHost _host;
    private readonly Socket _socket;
    private readonly bool _tls;
    private readonly Channel<(byte[] Buffer, int Length)> _queue;
    private readonly CancellationTokenSource _closed = new();
    private Stream? _stream;
    private long _lastActivity;
    private int _closing;

    public TurnStreamConnection(TurnServerHost host, long id, Socket socket, bool tls)
    {
        _host = host;
        _socket = socket;
        _tls = tls;
        Id = id;
        var local = StunAddress.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!);
        var remote = StunAddress.FromIPEndPoint((IPEndPoint)socket.RemoteEndPoint!);
        Endpoint = new TurnClientEndpoint(tls ? TurnTransport.Tls : TurnTransport.Tcp, id, local, remote, this);
        _queue = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(Math.Max(1, host.Options.StreamSendQueueLength))
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of waiting: the frame is dropped
        });
        _lastActivity = host.Now;
    }

    public long Id { get; }

    public TurnClientEndpoint Endpoint { get; }

    public long LastActivity => Interlocked.Read(ref _lastActivity);

    public Task? Loop { get; private set; }

    public void Start() => Loop = Task.Run(RunAsync);

    /// <summary>Queues a copy of <paramref name="frame"/>; false (dropped) when the queue is full or the connection closing.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> frame)
    {
        if (Volatile.Read(ref _closing) != 0)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(frame.Length);
        frame.CopyTo(buffer);
        if (_queue.Writer.TryWrite((buffer, frame.Length)))
        {
            return true;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    /// <summary>Closes the connection (idle, server stopping, protocol error).</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closing, 1) == 0)
        {
            _queue.Writer.TryComplete();
            _closed.Cancel();
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }

            _socket.Dispose();
        }
    }

    private async Task RunAsync()
    {
        var reason = "closed by the client";
        Task? writer = null;
        try
        {
            Stream stream = new NetworkStream(_socket, ownsSocket: false);
            if (_tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
                timeout.CancelAfter(_host.Options.TlsHandshakeTimeout);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = _host.Options.TlsCertificate,
                    ClientCertificateRequired = false,
                }, timeout.Token).ConfigureAwait(false);
            }

            _stream = stream;
            writer = Task.Run(WriteLoopAsync);
            reason = await ReadLoopAsync(stream).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            reason = _host.Stopping ? "server stopping" : "closed";
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            reason = e.Message;
        }
        catch (Exception e)
        {
            reason = "unexpected error";
            _host.LogUnexpected(e, "stream connection");
        }
        finally
        {
            lock (_host.Gate)
            {
                _host.Server.ClientClosed(Endpoint);
            }

            Close();
            if (writer is not null)
            {
                await writer.ConfigureAwait(false);
            }

            while (_queue.Reader.TryRead(out var item))
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }

            if (_stream is not null)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }

            _closed.Dispose();
            _host.ConnectionClosed(this, reason);
        }
    }

    private async Task<string> ReadLoopAsync(Stream stream)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBufferLength);
        var response = new byte[TurnServer.ResponseBufferLength];
        var to = new TurnSocketAddresses();
        var filled = 0;
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(filled), _closed.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return "closed by the client";
                }

                filled += read;
                Interlocked.Exchange(ref _lastActivity, _host.Now);
                var start = 0;
                while (true)
                {
                    var kind = GetFrameLength(buffer.AsSpan(start, filled - start), out var frameLength);
                    if (kind == StunFrameKind.NeedMoreData)
                    {
                        break;
                    }

                    if (kind == StunFrameKind.Invalid || frameLength > MaxFrameLength)
                    {
                        lock (_host.Gate)
                        {
                            _host.Server.ReportBadFraming(Endpoint); // counted and logged once; the stream cannot be resynchronized
                        }

                        return "not STUN or ChannelData framing";
                    }

                    if (filled - start < frameLength)
                    {
                        if (frameLength > buffer.Length)
                        {
                            var bigger = ArrayPool<byte>.Shared.Rent(frameLength);
                            buffer.AsSpan(start, filled - start).CopyTo(bigger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = bigger;
                            filled -= start;
                            start = 0;
                        }

                        break;
                    }

                    await HandleFrameAsync(buffer.AsMemory(start, frameLength), response, to).ConfigureAwait(false);
                    start += frameLength;
                }

                if (start > 0)
                {
                    buffer.AsSpan(start, filled - start).CopyTo(buffer);
                    filled -= start;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // STUN frames as StunStreamFraming cuts them; ChannelData frames by the first two bits 01 alone
    // (channel numbers are checked by the server, which may accept RFC 5766's 0x5000–0x7FFF).
    private static StunFrameKind GetFrameLength(ReadOnlySpan<byte> buffered, out int frameLength)
    {
        if (buffered.Length >= ChannelData.HeaderLength && buffered[0] >> 6 == 1)
        {
            frameLength = StunMessage.Pad(ChannelData.HeaderLength + System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(buffered[2..]));
            return StunFrameKind.ChannelData;
        }

        return StunStreamFraming.TryGetFrameLength(buffered, out frameLength);
    }

    private ValueTask HandleFrameAsync(ReadOnlyMemory<byte> frame, byte[] response, TurnSocketAddresses to)
    {
        TurnOutput output;
        lock (_host.Gate)
        {
            output = _host.Server.HandleClientMessage(Endpoint, frame.Span, response, _host.Now);
        }

        switch (output.Kind)
        {
            case TurnOutputKind.ToClient:
                TryEnqueue(response.AsSpan(output.Offset, output.Length));
                break;
            case TurnOutputKind.ToPeer:
                return _host.SendToPeerAsync(output, frame.Slice(output.Offset, output.Length), to);
        }

        return default;
    }

    private async Task WriteLoopAsync()
    {
        var stream = _stream!;
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    try
                    {
                        await stream.WriteAsync(item.Buffer.AsMemory(0, item.Length), _closed.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(item.Buffer);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Close();
        }
        catch (Exception e)
        {
            _host.LogUnexpected(e, "stream write");
            Close();
        }
    }
}
