using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using PeerNet.Stun;

namespace PeerNet.Integration.Tests.Turn;

/// <summary>Adds attributes to a request being built.</summary>
internal delegate void StunAttributes(ref StunMessageWriter writer);

/// <summary>A parsed copy of a message from the server.</summary>
internal sealed class StunReply
{
    public StunReply(byte[] bytes) => Bytes = bytes;

    public byte[] Bytes { get; }

    public StunClass Class => Reader().Class;

    public int ErrorCode => Reader().TryGetErrorCode(out var code, out _) ? code : 0;

    public byte[]? Attribute(StunAttributeType type) => Reader().TryGetAttribute(type, out var value) ? value.ToArray() : null;

    public StunAddress XorAddress(StunAttributeType type)
    {
        var reader = Reader();
        Assert.True(reader.TryGetAttribute(type, out var value), $"{type} missing");
        Assert.True(reader.TryDecodeXorAddress(value, out var address));
        return address;
    }

    public StunMessageReader Reader()
    {
        Assert.True(StunMessageReader.TryParse(Bytes, out var reader, out var error), $"invalid message from the server: {error}");
        return reader;
    }

    public override string ToString() => $"{Reader().Method} {Class} {ErrorCode}";
}

/// <summary>
/// A small TURN client over a real UDP socket or TCP connection on loopback, for tests that need
/// to craft exact (or hostile) messages: long-term credentials with the 401/438 dance, requests
/// with retransmission over UDP, and a queue of what the server relays back.
/// </summary>
internal sealed class LoopbackTurnClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream? _stream;
    private readonly IPEndPoint _server;
    private readonly ConcurrentDictionary<StunTransactionId, TaskCompletionSource<byte[]>> _pending = new();
    private readonly Channel<byte[]> _relayed = Channel.CreateUnbounded<byte[]>();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Task _receiveLoop;

    private LoopbackTurnClient(Socket socket, IPEndPoint server, bool tcp)
    {
        _socket = socket;
        _server = server;
        _stream = tcp ? new NetworkStream(socket, ownsSocket: false) : null;
        _receiveLoop = Task.Run(tcp ? StreamLoopAsync : DatagramLoopAsync);
    }

    public string Username { get; set; } = TurnLoopback.User;

    public string Password { get; set; } = TurnLoopback.Password;

    public byte[]? Nonce { get; set; }

    public string? Realm { get; set; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public bool IsStream => _stream is not null;

    public static async Task<LoopbackTurnClient> ConnectAsync(IPEndPoint server, bool tcp)
    {
        var socket = new Socket(server.AddressFamily, tcp ? SocketType.Stream : SocketType.Dgram, tcp ? ProtocolType.Tcp : ProtocolType.Udp);
        if (tcp)
        {
            await socket.ConnectAsync(server);
            socket.NoDelay = true;
        }
        else
        {
            socket.Bind(new IPEndPoint(server.Address, 0));
        }

        return new LoopbackTurnClient(socket, server, tcp);
    }

    public byte[] Key => StunCredentials.ComputeLongTermKey(Username, Realm ?? "", Password);

    /// <summary>A request signed when a nonce is known; on 401/438 with a nonce, retried once signed.</summary>
    public async Task<StunReply> RequestAsync(StunMethod method, StunAttributes? attributes = null, bool sign = true)
    {
        var reply = await TransactAsync(Build(method, attributes, sign && Nonce is not null));
        if (sign && reply.ErrorCode is 401 or 438 && reply.Attribute(StunAttributeType.Nonce) is { } nonce)
        {
            Nonce = nonce;
            if (reply.Attribute(StunAttributeType.Realm) is { } realm)
            {
                Realm = System.Text.Encoding.UTF8.GetString(realm);
            }

            reply = await TransactAsync(Build(method, attributes, signed: true));
        }

        return reply;
    }

    public byte[] Build(StunMethod method, StunAttributes? attributes, bool signed, StunClass messageClass = StunClass.Request)
    {
        var buffer = new byte[70_000];
        var w = new StunMessageWriter(buffer, method, messageClass, StunTransactionId.NewRandom());
        attributes?.Invoke(ref w);
        if (signed)
        {
            w.AddUsername(Username);
            w.AddRealm(Realm!);
            w.AddNonce(Nonce!);
            w.AddMessageIntegrity(Key);
        }

        Assert.True(w.TryGetMessage(out var message));
        return message.ToArray();
    }

    /// <summary>Sends a request and waits for its response (UDP: retransmitted every 500 ms, 4 times).</summary>
    public async Task<StunReply> TransactAsync(byte[] request)
    {
        var reply = await TryTransactAsync(request, TimeSpan.FromSeconds(2));
        Assert.True(reply is not null, "no response from the server");
        return reply;
    }

    public async Task<StunReply?> TryTransactAsync(byte[] request, TimeSpan timeout)
    {
        var id = StunTransactionId.FromBytes(request.AsSpan(8));
        var completion = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = completion;
        try
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                await SendRawAsync(request);
                var wait = IsStream ? timeout : TimeSpan.FromMilliseconds(500);
                var finished = await Task.WhenAny(completion.Task, Task.Delay(wait));
                if (finished == completion.Task)
                {
                    return new StunReply(await completion.Task);
                }

                if (IsStream)
                {
                    break;
                }
            }

            return null;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public async Task SendRawAsync(byte[] bytes)
    {
        if (_stream is not null)
        {
            await _writeLock.WaitAsync();
            try
            {
                await _stream.WriteAsync(bytes);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        else
        {
            await _socket.SendToAsync(bytes, SocketFlags.None, _server);
        }
    }

    /// <summary>The next ChannelData or Data indication from the server, or null after the timeout.</summary>
    public async Task<byte[]?> ReceiveRelayedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _relayed.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async Task<StunAddress> AllocateAsync(StunAttributes? extra = null)
    {
        var reply = await RequestAsync(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(StunTransportProtocol.Udp);
            extra?.Invoke(ref w);
        });
        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        return reply.XorAddress(StunAttributeType.XorRelayedAddress);
    }

    public async Task<StunReply> CreatePermissionAsync(params StunAddress[] peers) =>
        await RequestAsync(StunMethod.CreatePermission, (ref StunMessageWriter w) =>
        {
            foreach (var peer in peers)
            {
                w.AddXorPeerAddress(peer);
            }
        });

    public async Task<StunReply> ChannelBindAsync(ushort number, StunAddress peer) =>
        await RequestAsync(StunMethod.ChannelBind, (ref StunMessageWriter w) =>
        {
            w.AddChannelNumber(number);
            w.AddXorPeerAddress(peer);
        });

    public Task SendIndicationAsync(StunAddress peer, byte[] data) =>
        SendRawAsync(Build(StunMethod.Send, (ref StunMessageWriter w) =>
        {
            w.AddXorPeerAddress(peer);
            w.AddData(data);
        }, signed: false, StunClass.Indication));

    public Task SendChannelDataAsync(ushort number, byte[] data)
    {
        var message = new byte[ChannelData.GetMessageLength(data.Length, IsStream)];
        ChannelData.TryWrite(message, number, data, IsStream, out _);
        return SendRawAsync(message);
    }

    /// <summary>The payload of a relayed ChannelData message or Data indication.</summary>
    public static byte[] Payload(byte[] relayed)
    {
        if (relayed[0] >> 6 == 1)
        {
            Assert.True(ChannelData.TryParse(relayed, out _, out var data, out _));
            return data.ToArray();
        }

        Assert.True(StunMessageReader.TryParse(relayed, out var reader, out _));
        Assert.True(reader.TryGetData(out var payload));
        return payload.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _receiveLoop;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
        }

        _stream?.Dispose();
        _stop.Dispose();
        _writeLock.Dispose();
    }

    private void Dispatch(byte[] message)
    {
        if (message.Length >= 20 && message[0] >> 6 == 0 && StunMessageReader.TryParse(message, out var reader, out _))
        {
            if (reader.Class is StunClass.SuccessResponse or StunClass.ErrorResponse)
            {
                if (_pending.TryGetValue(reader.TransactionId, out var completion))
                {
                    completion.TrySetResult(message);
                }

                return;
            }
        }

        _relayed.Writer.TryWrite(message);
    }

    private async Task DatagramLoopAsync()
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                var any = new IPEndPoint(_server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
                result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                continue;
            }

            Dispatch(buffer.AsSpan(0, result.ReceivedBytes).ToArray());
        }
    }

    private async Task StreamLoopAsync()
    {
        var buffer = new byte[200_000];
        var filled = 0;
        while (!_stop.IsCancellationRequested)
        {
            var read = await _stream!.ReadAsync(buffer.AsMemory(filled), _stop.Token);
            if (read == 0)
            {
                _relayed.Writer.TryComplete();
                return;
            }

            filled += read;
            while (true)
            {
                var kind = StunStreamFraming.TryGetFrameLength(buffer.AsSpan(0, filled), out var length);
                if (kind == StunFrameKind.NeedMoreData || (kind != StunFrameKind.Invalid && filled < length))
                {
                    break;
                }

                Assert.NotEqual(StunFrameKind.Invalid, kind);
                Dispatch(buffer.AsSpan(0, length).ToArray());
                buffer.AsSpan(length, filled - length).CopyTo(buffer);
                filled -= length;
            }
        }
    }

    /// <summary>Whether the server closed the TCP connection (a read returns 0 within the timeout).</summary>
    public async Task<bool> WaitClosedAsync(TimeSpan timeout)
    {
        var finished = await Task.WhenAny(_receiveLoop, Task.Delay(timeout));
        return finished == _receiveLoop;
    }

    public static ushort ReadChannel(byte[] message) => BinaryPrimitives.ReadUInt16BigEndian(message);
}
