using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace PeerNet.Integration.Tests;

/// <summary>
/// A bare WebSocket client of the signaling protocol that sends whatever bytes a test wants:
/// used to play hostile or broken clients against a real hub.
/// </summary>
public sealed class RawSignalingClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<JsonElement> _inbox = Channel.CreateUnbounded<JsonElement>();
    private readonly List<JsonElement> _unmatched = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _receiving = Task.CompletedTask;

    public string Id { get; private set; } = "";

    public JsonElement Welcome { get; private set; }

    public static async Task<RawSignalingClient> ConnectAsync(Uri url, CancellationToken cancellationToken)
    {
        var client = new RawSignalingClient();
        await client._socket.ConnectAsync(url, cancellationToken);
        client._receiving = client.ReceiveLoopAsync();
        client.Welcome = await client.ReceiveAsync(m => Type(m) == "welcome", TimeSpan.FromSeconds(10));
        client.Id = client.Welcome.GetProperty("id").GetString()!;
        return client;
    }

    public static string? Type(JsonElement message) =>
        message.ValueKind == JsonValueKind.Object && message.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    public static bool IsError(JsonElement message, string code) =>
        Type(message) == "error" && message.TryGetProperty("code", out var c) && c.GetString() == code;

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, _stop.Token);

    public Task SendJsonAsync(object message) => SendTextAsync(JsonSerializer.Serialize(message));

    public Task SendBinaryAsync(byte[] bytes) => _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, _stop.Token);

    /// <summary>
    /// Returns the first message (already received or arriving within <paramref name="timeout"/>)
    /// that matches; messages that do not match are kept for later calls.
    /// </summary>
    public async Task<JsonElement> ReceiveAsync(Func<JsonElement, bool> match, TimeSpan timeout)
    {
        var index = _unmatched.FindIndex(m => match(m));
        if (index >= 0)
        {
            var found = _unmatched[index];
            _unmatched.RemoveAt(index);
            return found;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        cts.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var message = await _inbox.Reader.ReadAsync(cts.Token);
                if (match(message)) return message;
                _unmatched.Add(message);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no matching message within {timeout.TotalSeconds} s; received meanwhile: {string.Join(" | ", _unmatched.Select(m => m.GetRawText()).TakeLast(5))}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"the hub closed the connection ({_socket.CloseStatus} {_socket.CloseStatusDescription}) before a matching message arrived");
        }
    }

    public bool IsOpen => _socket.State == WebSocketState.Open;

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[16 * 1024];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                using (var doc = JsonDocument.Parse(message.ToArray())) _inbox.Writer.TryWrite(doc.RootElement.Clone());
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            _inbox.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        _stop.Cancel();
        await _receiving;
        _socket.Dispose();
        _stop.Dispose();
    }
}
