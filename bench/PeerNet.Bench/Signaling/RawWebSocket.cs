using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace PeerNet.Bench.Signaling;

/// <summary>
/// A lean WebSocket client connection: a socket bound to a chosen loopback source address (so one
/// machine can open more connections than one address has ephemeral ports), the HTTP/1.1 upgrade
/// done by hand, and the BCL's <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>
/// over a minimal stream: no HttpClient, no per-connection handler, no keep-alive timer.
/// </summary>
public static class RawWebSocket
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    public static async Task<WebSocket> ConnectAsync(IPAddress source, IPEndPoint server, string pathAndQuery,
        CancellationToken ct)
    {
        if (!IPAddress.IsLoopback(server.Address) || !IPAddress.IsLoopback(source))
            throw new ArgumentException("the signaling benchmark only talks to loopback addresses");

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            socket.NoDelay = true;
            // Close with RST: no TIME_WAIT left on the source ports for the next run.
            socket.LingerState = new LingerOption(true, 0);
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(server, ct).ConfigureAwait(false);

            Span<byte> nonce = stackalloc byte[16];
            RandomNumberGenerator.Fill(nonce);
            string key = Convert.ToBase64String(nonce);
            string request =
                $"GET {pathAndQuery} HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
            int len = Encoding.ASCII.GetBytes(request, buffer);
            for (int sent = 0; sent < len;)
                sent += await socket.SendAsync(buffer.AsMemory(sent, len - sent), SocketFlags.None, ct).ConfigureAwait(false);

            int n = 0, end;
            while ((end = buffer.AsSpan(0, n).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (n == buffer.Length) throw new IOException("upgrade response headers too large");
                int r = await socket.ReceiveAsync(buffer.AsMemory(n), SocketFlags.None, ct).ConfigureAwait(false);
                if (r == 0) throw new IOException("connection closed during the WebSocket upgrade");
                n += r;
            }
            string head = Encoding.ASCII.GetString(buffer, 0, end);
            if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
                throw new IOException($"upgrade refused: {head.Split("\r\n")[0]}");
            string expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
            if (!head.Contains("Sec-WebSocket-Accept: " + expected, StringComparison.OrdinalIgnoreCase))
                throw new IOException("bad Sec-WebSocket-Accept");

            // Bytes after the headers already belong to the first WebSocket frame(s).
            byte[]? leftover = n > end + 4 ? buffer.AsSpan(end + 4, n - end - 4).ToArray() : null;
            var stream = new SocketStream(socket, leftover);
            return WebSocket.CreateFromStream(stream,
                new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A socket as a stream, first replaying bytes read past the upgrade response.</summary>
    private sealed class SocketStream(Socket socket, byte[]? prefix) : Stream
    {
        private byte[]? _prefix = prefix;
        private int _prefixOffset;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            if (_prefix is { } p)
            {
                int count = Math.Min(destination.Length, p.Length - _prefixOffset);
                p.AsSpan(_prefixOffset, count).CopyTo(destination.Span);
                _prefixOffset += count;
                if (_prefixOffset == p.Length) _prefix = null;
                return ValueTask.FromResult(count);
            }
            return socket.ReceiveAsync(destination, SocketFlags.None, cancellationToken);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            while (!source.IsEmpty)
            {
                int sent = await socket.SendAsync(source, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                source = source[sent..];
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) socket.Dispose();
            base.Dispose(disposing);
        }
    }
}
