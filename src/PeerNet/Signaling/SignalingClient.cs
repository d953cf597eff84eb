using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Rtc;

namespace PeerNet.Signaling;

/// <summary>
/// A client of the hub's signaling protocol v1 (docs/signaling.md): connects, joins rooms, sends
/// and receives signals, keeps the connection alive with pings, and on a drop reconnects with its
/// resume token so it keeps its id.
/// </summary>
public sealed class SignalingClient : IAsyncDisposable
{
    private const int MaxIncomingMessageBytes = 1 << 20;

    private readonly SignalingClientOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);
    private ClientWebSocket? _socket;
    private Task? _receiveLoop;
    private Task? _pingLoop;
    private string? _resumeToken;
    private long _nextRef;
    private TaskCompletionSource<bool>? _welcome;

    public SignalingClient(SignalingClientOptions options, ILogger<SignalingClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Url);
        if (options.Url.Scheme is not ("ws" or "wss"))
            throw new ArgumentException($"the signaling URL must be ws:// or wss://, not '{options.Url}'", nameof(options));
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>This peer's id on the hub, once connected.</summary>
    public string? Id { get; private set; }

    /// <summary>The ICE servers the hub handed out in its welcome.</summary>
    public IReadOnlyList<RtcIceServer> IceServers { get; private set; } = [];

    /// <summary>True while a WebSocket to the hub is open.</summary>
    public bool IsConnected => _socket?.State == WebSocketState.Open;

    /// <summary>A signal from another peer.</summary>
    public event EventHandler<SignalReceivedEventArgs>? SignalReceived;

    /// <summary>Another peer joined a room this peer is in.</summary>
    public event EventHandler<RoomPeerEventArgs>? PeerJoined;

    /// <summary>Another peer left a room this peer is in (or its connection ended for good).</summary>
    public event EventHandler<RoomPeerEventArgs>? PeerLeft;

    /// <summary>The server rejected a message that had no pending request waiting for it (e.g. a signal).</summary>
    public event EventHandler<SignalingException>? Error;

    /// <summary>The connection dropped; the client is reconnecting (if enabled).</summary>
    public event EventHandler? Disconnected;

    /// <summary>The client reconnected; <see cref="ReconnectedEventArgs.Resumed"/> says whether it kept its id.</summary>
    public event EventHandler<ReconnectedEventArgs>? Reconnected;

    /// <summary>Connects and waits for the hub's welcome.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (_socket is not null) throw new InvalidOperationException("already connected");
        await OpenAsync(resume: null, cancellationToken).ConfigureAwait(false);
        _pingLoop = PingLoopAsync();
    }

    private async Task OpenAsync(string? resume, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (_options.AcceptAnyCertificate)
        {
            socket.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (_options.CertificateSha256 is { } pin)
        {
            socket.Options.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                errors == SslPolicyErrors.None || cert is not null && MatchesPin(cert, pin);
        }
        var url = resume is null ? _options.Url : new UriBuilder(_options.Url) { Query = "resume=" + Uri.EscapeDataString(resume) }.Uri;
        var welcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _welcome = welcome;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        timeout.CancelAfter(_options.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(url, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException)
        {
            socket.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            throw new SignalingException("connection", $"cannot connect to the hub at {_options.Url}: {e.Message}", inner: e);
        }
        _socket = socket;
        _receiveLoop = ReceiveLoopAsync(socket);
        try
        {
            await welcome.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SignalingException("connection", $"the hub at {_options.Url} sent no welcome within {_options.ConnectTimeout.TotalSeconds:0} s");
        }
    }

    private static bool MatchesPin(X509Certificate cert, string pin)
    {
        var hash = SHA256.HashData(cert.GetRawCertData());
        var normalized = pin.Replace(":", "", StringComparison.Ordinal);
        return string.Equals(Convert.ToHexString(hash), normalized, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Joins a room; returns the ids of the peers already there.</summary>
    public async Task<IReadOnlyList<string>> JoinAsync(string room, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(w => w.WriteString("room", room), "join", cancellationToken).ConfigureAwait(false);
        lock (_rooms) _rooms.Add(room);
        var peers = new List<string>();
        foreach (var p in reply.GetProperty("peers").EnumerateArray()) peers.Add(p.GetString()!);
        return peers;
    }

    /// <summary>Leaves a room.</summary>
    public async Task LeaveAsync(string room, CancellationToken cancellationToken = default)
    {
        await RequestAsync(w => w.WriteString("room", room), "leave", cancellationToken).ConfigureAwait(false);
        lock (_rooms) _rooms.Remove(room);
    }

    /// <summary>Measures the round trip to the hub.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var start = TimeProvider.System.GetTimestamp();
        await RequestAsync(null, "ping", cancellationToken).ConfigureAwait(false);
        return TimeProvider.System.GetElapsedTime(start);
    }

    /// <summary>
    /// Sends <paramref name="data"/> to peer <paramref name="to"/>. Delivery is not acknowledged; a
    /// rejection (e.g. <c>unknown-peer</c>) arrives through <see cref="Error"/>.
    /// </summary>
    public Task SignalAsync(string to, JsonElement data, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(to);
        return SendAsync(w =>
        {
            w.WriteString("type", "signal");
            w.WriteString("to", to);
            w.WritePropertyName("data");
            data.WriteTo(w);
            w.WriteString("ref", "s" + Interlocked.Increment(ref _nextRef));
        }, cancellationToken);
    }

    private async Task<JsonElement> RequestAsync(Action<Utf8JsonWriter>? body, string type, CancellationToken cancellationToken)
    {
        var reference = "r" + Interlocked.Increment(ref _nextRef);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[reference] = reply;
        try
        {
            await SendAsync(w =>
            {
                w.WriteString("type", type);
                body?.Invoke(w);
                w.WriteString("ref", reference);
            }, cancellationToken).ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
            timeout.CancelAfter(_options.RequestTimeout);
            try
            {
                return await reply.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !_disposed.IsCancellationRequested)
            {
                throw new SignalingException("timeout", $"the hub did not answer '{type}' within {_options.RequestTimeout.TotalSeconds:0} s");
            }
        }
        finally
        {
            _pending.TryRemove(reference, out _);
        }
    }

    private async Task SendAsync(Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var socket = _socket ?? throw new InvalidOperationException("not connected: call ConnectAsync first");
            if (socket.State != WebSocketState.Open) throw new SignalingException("connection", "the connection to the hub is down (reconnecting)");
            await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException e)
        {
            throw new SignalingException("connection", $"sending to the hub failed: {e.Message}", inner: e);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer.GetMemory(4096), _disposed.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close) break;
                buffer.Advance(result.Count);
                if (buffer.WrittenCount > MaxIncomingMessageBytes)
                {
                    _logger.LogWarning("The hub sent a message over {Max} bytes; dropping the connection", MaxIncomingMessageBytes);
                    socket.Abort();
                    break;
                }
                if (!result.EndOfMessage) continue;
                try
                {
                    using var doc = JsonDocument.Parse(buffer.WrittenMemory);
                    Dispatch(doc.RootElement);
                }
                catch (JsonException e)
                {
                    _logger.LogWarning("Ignoring a malformed message from the hub: {Error}", e.Message);
                }
                buffer.ResetWrittenCount();
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        if (_disposed.IsCancellationRequested || !ReferenceEquals(socket, _socket)) return;
        _logger.LogInformation("Signaling connection lost (close status {Status})", socket.CloseStatus);
        _welcome?.TrySetException(new SignalingException("connection", $"the hub closed the connection: {socket.CloseStatus} {socket.CloseStatusDescription}"));
        foreach (var (_, pending) in _pending) pending.TrySetException(new SignalingException("connection", "the connection to the hub was lost"));
        Disconnected?.Invoke(this, EventArgs.Empty);
        if (_options.AutoReconnect) _ = ReconnectAsync();
    }

    private async Task ReconnectAsync()
    {
        var delay = TimeSpan.FromMilliseconds(250);
        while (!_disposed.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, _disposed.Token).ConfigureAwait(false);
                var previousId = Id;
                await OpenAsync(_resumeToken, _disposed.Token).ConfigureAwait(false);
                var resumed = previousId == Id;
                if (!resumed)
                {
                    // A new id: the old rooms are gone on the server; join them again.
                    string[] rooms;
                    lock (_rooms) rooms = [.. _rooms];
                    foreach (var room in rooms) await JoinAsync(room, _disposed.Token).ConfigureAwait(false);
                }
                Reconnected?.Invoke(this, new ReconnectedEventArgs(resumed, Id!));
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SignalingException e)
            {
                _logger.LogInformation("Reconnecting to the hub failed: {Error}; retrying in {Delay}", e.Message, delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    private void Dispatch(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("type", out var typeElement)) return;
        var type = typeElement.GetString();
        var reference = message.TryGetProperty("ref", out var r) ? r.ToString() : null;
        switch (type)
        {
            case "welcome":
                Id = message.GetProperty("id").GetString();
                _resumeToken = message.GetProperty("resume").GetString();
                if (message.TryGetProperty("iceServers", out var ice))
                    IceServers = ice.Deserialize<List<RtcIceServer>>() ?? [];
                _welcome?.TrySetResult(true);
                break;
            case "joined" or "left" or "pong":
                if (reference is not null && _pending.TryGetValue(reference, out var waiting)) waiting.TrySetResult(message.Clone());
                break;
            case "peer-joined":
                PeerJoined?.Invoke(this, new RoomPeerEventArgs(message.GetProperty("room").GetString()!, message.GetProperty("id").GetString()!));
                break;
            case "peer-left":
                PeerLeft?.Invoke(this, new RoomPeerEventArgs(message.GetProperty("room").GetString()!, message.GetProperty("id").GetString()!));
                break;
            case "signal":
                var data = message.TryGetProperty("data", out var d) ? d.Clone() : default;
                SignalReceived?.Invoke(this, new SignalReceivedEventArgs(message.GetProperty("from").GetString()!, data));
                break;
            case "error":
                var error = new SignalingException(
                    message.TryGetProperty("code", out var c) ? c.GetString() ?? "error" : "error",
                    message.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "",
                    reference);
                if (reference is not null && _pending.TryGetValue(reference, out var failed)) failed.TrySetException(error);
                else Error?.Invoke(this, error);
                break;
        }
    }

    private async Task PingLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.PingInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_disposed.Token).ConfigureAwait(false))
            {
                if (!IsConnected) continue;
                try
                {
                    await PingAsync(_disposed.Token).ConfigureAwait(false);
                }
                catch (SignalingException e)
                {
                    _logger.LogDebug("Ping failed: {Error}", e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested) return;
        var socket = _socket;
        if (socket?.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }
        _disposed.Cancel();
        if (_receiveLoop is not null) await _receiveLoop.ConfigureAwait(false);
        if (_pingLoop is not null) await _pingLoop.ConfigureAwait(false);
        socket?.Dispose();
        _disposed.Dispose();
        _sendLock.Dispose();
    }
}

/// <summary>Options of a <see cref="SignalingClient"/>.</summary>
public sealed class SignalingClientOptions
{
    /// <summary>The hub's signaling URL, e.g. <c>wss://hub.example.org/signal</c>.</summary>
    public required Uri Url { get; init; }

    /// <summary>How often to ping the hub (it closes connections silent for its idle timeout).</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Reconnect with the resume token after a drop, keeping the peer id.</summary>
    public bool AutoReconnect { get; init; } = true;

    /// <summary>
    /// Accept the hub's certificate if its SHA-256 fingerprint is this (hex, colons optional), as
    /// <c>peernet serve</c> prints for its self-signed certificate.
    /// </summary>
    public string? CertificateSha256 { get; init; }

    /// <summary>
    /// Accept any certificate (<c>--insecure</c>): for a hub with a self-signed certificate whose
    /// fingerprint is not at hand. Signaling is then open to a man in the middle, who could swap
    /// the DTLS fingerprints in offers and answers; prefer <see cref="CertificateSha256"/>.
    /// </summary>
    public bool AcceptAnyCertificate { get; init; }
}

/// <summary>A signal from another peer.</summary>
public sealed class SignalReceivedEventArgs(string from, JsonElement data) : EventArgs
{
    /// <summary>The sender's id, as stamped by the hub.</summary>
    public string From { get; } = from;

    public JsonElement Data { get; } = data;
}

/// <summary>A peer joined or left a room.</summary>
public sealed class RoomPeerEventArgs(string room, string peerId) : EventArgs
{
    public string Room { get; } = room;
    public string PeerId { get; } = peerId;
}

/// <summary>The client reconnected.</summary>
public sealed class ReconnectedEventArgs(bool resumed, string id) : EventArgs
{
    /// <summary>True when the hub restored the same id (within its grace period).</summary>
    public bool Resumed { get; } = resumed;

    public string Id { get; } = id;
}
