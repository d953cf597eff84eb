using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace PeerNet.Hub.Signaling;

/// <summary>
/// The thin I/O driver of one signaling WebSocket: a receive loop that hands whole frames to the
/// <see cref="SignalingServer"/> and a send loop that drains the peer's outbox. Both are async,
/// so an idle connection holds no thread.
/// </summary>
internal sealed class WebSocketSignalingConnection : ISignalingTransport
{
    private const int InitialReceiveBuffer = 1024;
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    private readonly SignalingServer _server;
    private readonly WebSocket _socket;
    private readonly ILogger _logger;
    private Channel<OutboundFrame>? _outbox;
    private int _closeCode;
    private string _closeReason = "";

    public WebSocketSignalingConnection(SignalingServer server, WebSocket socket, ILogger logger)
    {
        _server = server;
        _socket = socket;
        _logger = logger;
    }

    public void Close(int closeCode, string reason) => Close(closeCode, reason, abortIfStuck: true);

    private void Close(int closeCode, string reason, bool abortIfStuck)
    {
        if (Interlocked.CompareExchange(ref _closeCode, closeCode, 0) != 0) return;
        _closeReason = reason;
        // A frame with no buffer tells this connection's send loop to close. (Waiting on the
        // channel without a cancellation token keeps each wait free of allocation.)
        Volatile.Read(ref _outbox)?.Writer.TryWrite(default);
        // A client that stops reading could hold the close handshake for ever: give it a while, then cut.
        if (abortIfStuck) _ = AbortLaterAsync();
    }

    private async Task AbortLaterAsync()
    {
        await Task.Delay(CloseHandshakeTimeout).ConfigureAwait(false);
        _socket.Abort();
    }

    public async Task RunAsync(string? resumeToken, string? requestHost, CancellationToken aborted)
    {
        var session = _server.Attach(resumeToken, this, out var welcome, requestHost);
        Volatile.Write(ref _outbox, session.Outbox);
        // A close requested before the outbox was known (a resume racing with housekeeping).
        if (Volatile.Read(ref _closeCode) != 0) _outbox.Writer.TryWrite(default);
        var sending = SendLoopAsync(session, _outbox, welcome);
        try
        {
            await ReceiveLoopAsync(session, aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            _logger.LogDebug("Signaling connection of {PeerId} ended: {Reason}", session.Id, e.Message);
        }
        finally
        {
            // 1000 is a deliberate goodbye; anything else (1001 on page unload, a dropped
            // TCP connection) may be followed by a resume.
            _server.Detach(session, this, leaving: _socket.CloseStatus == WebSocketCloseStatus.NormalClosure);
            Close((int)WebSocketCloseStatus.NormalClosure, "", abortIfStuck: false);
            await sending.ConfigureAwait(false);
        }
    }

    private async Task ReceiveLoopAsync(PeerSession session, CancellationToken aborted)
    {
        var max = _server.Options.MaxMessageBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBuffer);
        var count = 0;
        var tooLarge = false;
        try
        {
            while (true)
            {
                if (count == buffer.Length)
                {
                    if (buffer.Length > max)
                    {
                        // Over the limit: keep reading to the end of this message, discarding it.
                        tooLarge = true;
                        count = 0;
                    }
                    else
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max + 1));
                        buffer.AsSpan(0, count).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                }
                var result = await _socket.ReceiveAsync(buffer.AsMemory(count), aborted).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close) return;
                _server.Touch(session);
                count += result.Count;
                if (count > max)
                {
                    tooLarge = true;
                    count = 0;
                }
                if (!result.EndOfMessage) continue;

                if (tooLarge) _server.RejectTooLarge(session, this);
                else if (result.MessageType == WebSocketMessageType.Binary) _server.RejectBinary(session, this);
                else _server.Receive(session, this, buffer.AsSpan(0, count));
                count = 0;
                tooLarge = false;
                if (buffer.Length > 4 * InitialReceiveBuffer)
                {
                    // Do not keep a large buffer for an idle connection after one big message.
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBuffer);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sends a frame; if the connection breaks under it, keeps it for a resume instead of losing it.</summary>
    private async Task SendOrKeepAsync(PeerSession session, OutboundFrame frame)
    {
        try
        {
            await _socket.SendAsync(frame.Memory, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            lock (session.Gate)
            {
                if (session.Unsent is null && !session.Removed)
                {
                    session.Unsent = frame;
                    throw;
                }
            }
            frame.Release();
            throw;
        }
        frame.Release();
    }

    private async Task SendLoopAsync(PeerSession session, Channel<OutboundFrame> outbox, OutboundFrame welcome)
    {
        var reader = outbox.Reader;
        try
        {
            try
            {
                await _socket.SendAsync(welcome.Memory, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                welcome.Release();
            }
            OutboundFrame? unsent;
            lock (session.Gate)
            {
                unsent = session.Unsent;
                session.Unsent = null;
            }
            if (unsent is { } first) await SendOrKeepAsync(session, first).ConfigureAwait(false);

            // Never cancel a send: cancelling a WebSocket send aborts the socket. A close request
            // arrives as an empty frame instead; frames behind it stay for a resume.
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    if (frame.Buffer is null) goto Closing;
                    await SendOrKeepAsync(session, frame).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }

    Closing:
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                var code = _closeCode == 0 ? (int)WebSocketCloseStatus.NormalClosure : _closeCode;
                await _socket.CloseOutputAsync((WebSocketCloseStatus)code, _closeReason, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException or OperationCanceledException)
            {
            }
        }
    }
}
