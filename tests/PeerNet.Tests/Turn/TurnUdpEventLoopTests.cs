using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>
/// The batched UDP loop on real loopback sockets: datagrams arrive with their senders, answers leave
/// from the right socket, oversized and empty datagrams are told apart, failures are reported
/// without stopping the batch, handler bugs do not stop the thread, and stopping is prompt. On
/// systems without the loop (not Linux x64/arm64) the tests have nothing to check.
/// </summary>
public class TurnUdpEventLoopTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Datagrams_arrive_with_their_sources_and_owner()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        var handler = new RecordingHandler();
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 2048);
        using var server = Bind(IPAddress.Loopback);
        var owner = new object();
        loop.Add(server, owner, 16, 1500);
        loop.Start();

        var clients = Enumerable.Range(0, 3).Select(_ => Bind(IPAddress.Loopback)).ToArray();
        try
        {
            for (var i = 0; i < clients.Length; i++)
            {
                clients[i].SendTo(new byte[] { (byte)i, 1, 2, 3 }, server.LocalEndPoint!);
            }

            var received = await handler.WaitForAsync(3);
            foreach (var datagram in received)
            {
                Assert.Same(owner, datagram.Owner);
                Assert.Equal(16, datagram.DataOffset);
                Assert.False(datagram.Truncated);
                var sender = clients[datagram.Bytes[0]];
                Assert.Equal(StunAddress.FromIPEndPoint((IPEndPoint)sender.LocalEndPoint!), datagram.Source);
                Assert.Equal(new byte[] { datagram.Bytes[0], 1, 2, 3 }, datagram.Bytes);
            }
        }
        finally
        {
            Array.ForEach(clients, c => c.Dispose());
        }
    }

    [Fact]
    public async Task Ipv6_sources_are_read_and_answered()
    {
        if (!TurnUdpEventLoop.IsSupported || !Socket.OSSupportsIPv6 || !TryBind(IPAddress.IPv6Loopback, out var server))
        {
            return;
        }

        using var _ = server;
        var handler = new RecordingHandler { Echo = true };
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 2048);
        loop.Add(server, server, 0, 2048);
        loop.Start();
        using var client = Bind(IPAddress.IPv6Loopback);
        client.SendTo(new byte[] { 9, 8, 7 }, server.LocalEndPoint!);

        var received = await handler.WaitForAsync(1);
        Assert.Equal(StunAddress.FromIPEndPoint((IPEndPoint)client.LocalEndPoint!), received[0].Source);
        Assert.Equal(StunAddressFamily.IPv6, received[0].Source.Family);
        var echo = await ReceiveAsync(client);
        Assert.Equal(new byte[] { 9, 8, 7 }, echo.Bytes);
        Assert.Equal(server.LocalEndPoint, echo.From);
    }

    [Fact]
    public async Task A_burst_is_answered_in_order_from_the_receiving_socket()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        const int Count = 1000;
        var handler = new RecordingHandler { Echo = true, Keep = false };
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 2048, batchCapacity: 16);
        using var server = Bind(IPAddress.Loopback);
        server.ReceiveBufferSize = 1 << 20;
        loop.Add(server, server, 0, 2048);
        using var client = Bind(IPAddress.Loopback);
        client.ReceiveBufferSize = 1 << 20;

        // Queue the whole burst before the loop runs, so receives come back full and flushes happen
        // mid-round (capacity 16 < the burst).
        for (var i = 0; i < Count; i++)
        {
            client.SendTo(BitConverter.GetBytes(i), server.LocalEndPoint!);
        }

        loop.Start();
        for (var i = 0; i < Count; i++)
        {
            var echo = await ReceiveAsync(client);
            Assert.Equal(i, BitConverter.ToInt32(echo.Bytes));
            Assert.Equal(server.LocalEndPoint, echo.From);
        }

        Assert.True(handler.LargestBurst > 1, "recvmmsg should have taken several datagrams at once");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Flows_of_mixed_sizes_keep_their_order_and_bytes_with_or_without_segmentation(bool segmentation)
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        // Two clients, each a flow of runs of equal sizes (segmented sends when allowed), shorter
        // tails, empty datagrams and a large one, queued before the loop starts so bursts are deep.
        var handler = new RecordingHandler { Echo = true, Keep = false };
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 9000, batchCapacity: 64, segmentation: segmentation);
        using var server = Bind(IPAddress.Loopback);
        server.ReceiveBufferSize = 4 << 20;
        loop.Add(server, server, 0, 9000);
        var clients = new[] { Bind(IPAddress.Loopback), Bind(IPAddress.Loopback) };
        var random = new Random(99);
        var expected = new List<byte[]>[] { [], [] };
        try
        {
            foreach (var client in clients)
            {
                client.ReceiveBufferSize = 4 << 20;
            }

            for (var i = 0; i < 600; i++)
            {
                var which = random.Next(2);
                var length = random.Next(10) switch
                {
                    0 => 0,
                    1 => 8000,
                    2 or 3 => 37,
                    _ => 1204,
                };
                var bytes = new byte[length];
                random.NextBytes(bytes);
                clients[which].SendTo(bytes, server.LocalEndPoint!);
                expected[which].Add(bytes);
            }

            loop.Start();
            for (var c = 0; c < clients.Length; c++)
            {
                foreach (var bytes in expected[c])
                {
                    var echo = await ReceiveAsync(clients[c], 9000);
                    Assert.Equal(bytes, echo.Bytes);
                }
            }
        }
        finally
        {
            Array.ForEach(clients, c => c.Dispose());
        }
    }

    [Fact]
    public async Task Oversized_and_empty_datagrams_are_told_apart_and_the_next_ones_still_arrive()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        var handler = new RecordingHandler();
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 2048);
        using var server = Bind(IPAddress.Loopback);
        loop.Add(server, server, 40, 101);
        loop.Start();
        using var client = Bind(IPAddress.Loopback);
        client.SendTo(new byte[5000], server.LocalEndPoint!);
        client.SendTo([], server.LocalEndPoint!);
        client.SendTo(new byte[101], server.LocalEndPoint!);
        client.SendTo(new byte[] { 1, 2 }, server.LocalEndPoint!);

        var received = await handler.WaitForAsync(4);
        Assert.True(received[0].Truncated);
        Assert.Equal(101, received[0].Bytes.Length);
        Assert.False(received[1].Truncated);
        Assert.Empty(received[1].Bytes);
        Assert.False(received[2].Truncated);
        Assert.Equal(101, received[2].Bytes.Length);
        Assert.Equal(new byte[] { 1, 2 }, received[3].Bytes);
    }

    [Fact]
    public async Task Random_datagrams_from_many_senders_arrive_intact()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        var random = new Random(1234);
        var handler = new RecordingHandler();
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 4096, batchCapacity: 8);
        using var server = Bind(IPAddress.Loopback);
        server.ReceiveBufferSize = 1 << 20;
        loop.Add(server, server, 0, 4096);
        loop.Start();
        var clients = Enumerable.Range(0, 8).Select(_ => Bind(IPAddress.Loopback)).ToArray();
        var sent = new Dictionary<(StunAddress, int), byte[]>();
        try
        {
            for (var i = 0; i < 400; i++)
            {
                var client = clients[random.Next(clients.Length)];
                var bytes = new byte[4 + random.Next(0, 3000)];
                random.NextBytes(bytes);
                BitConverter.TryWriteBytes(bytes, i);
                client.SendTo(bytes, server.LocalEndPoint!);
                sent[(StunAddress.FromIPEndPoint((IPEndPoint)client.LocalEndPoint!), i)] = bytes;
            }

            var received = await handler.WaitForAsync(400);
            foreach (var datagram in received)
            {
                Assert.Equal(sent[(datagram.Source, BitConverter.ToInt32(datagram.Bytes))], datagram.Bytes);
            }
        }
        finally
        {
            Array.ForEach(clients, c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_refused_send_is_reported_and_the_rest_of_the_run_still_goes()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        // Each datagram is answered three times from the same socket: to the broadcast address
        // (EACCES without SO_BROADCAST, nothing leaves), to the sender, and to the sender again.
        var handler = new RecordingHandler { Echo = true, AlsoSendTo = StunAddress.FromIPEndPoint(IPEndPoint.Parse("255.255.255.255:9")) };
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 2048);
        using var server = Bind(IPAddress.Loopback);
        loop.Add(server, server, 0, 2048);
        loop.Start();
        using var client = Bind(IPAddress.Loopback);
        client.SendTo(new byte[] { 42 }, server.LocalEndPoint!);

        Assert.Equal(new byte[] { 42 }, (await ReceiveAsync(client)).Bytes);
        Assert.Equal(new byte[] { 42 }, (await ReceiveAsync(client)).Bytes);
        var failure = await handler.Failures.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("context", failure.Context);
        Assert.Equal(handler.AlsoSendTo, failure.Destination);
        Assert.NotEqual(0, failure.Error);
    }

    [Fact]
    public async Task A_handler_that_throws_does_not_stop_the_loop()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        var handler = new RecordingHandler { ThrowOnFirst = true };
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 2048);
        using var server = Bind(IPAddress.Loopback);
        loop.Add(server, server, 0, 2048);
        loop.Start();
        using var client = Bind(IPAddress.Loopback);
        client.SendTo(new byte[] { 1 }, server.LocalEndPoint!);
        await handler.Errors.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        client.SendTo(new byte[] { 2 }, server.LocalEndPoint!);
        var received = await handler.WaitForAsync(1);
        Assert.Equal(new byte[] { 2 }, received[0].Bytes);
    }

    [Fact]
    public async Task Removed_and_closed_sockets_fall_silent_while_the_others_keep_working()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        var handler = new RecordingHandler();
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 2048);
        using var kept = Bind(IPAddress.Loopback);
        using var removed = Bind(IPAddress.Loopback);
        var closed = Bind(IPAddress.Loopback);
        loop.Add(kept, kept, 0, 2048);
        var registration = loop.Add(removed, removed, 0, 2048);
        loop.Add(closed, closed, 0, 2048);
        loop.Start();
        Assert.Equal(3, loop.Count);

        loop.Remove(registration);
        loop.Remove(registration); // twice: no-op
        var closedEndPoint = closed.LocalEndPoint!;
        closed.Dispose(); // without Remove: closing takes it out of the epoll set
        Assert.Equal(2, loop.Count);

        using var client = Bind(IPAddress.Loopback);
        client.SendTo(new byte[] { 1 }, removed.LocalEndPoint!);
        client.SendTo(new byte[] { 2 }, closedEndPoint);
        client.SendTo(new byte[] { 3 }, kept.LocalEndPoint!);
        var received = await handler.WaitForAsync(1);
        Assert.Same(kept, received[0].Owner);
        Assert.Equal(new byte[] { 3 }, received[0].Bytes);

        // The freed slot is reused by a new socket, under a new tag.
        using var added = Bind(IPAddress.Loopback);
        loop.Add(added, added, 0, 2048);
        client.SendTo(new byte[] { 4 }, added.LocalEndPoint!);
        received = await handler.WaitForAsync(2);
        Assert.Same(added, received[1].Owner);
        Assert.Equal(1, removed.Available); // still waiting there: nobody read it
    }

    [Fact]
    public async Task Many_sockets_grow_the_table()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        var handler = new RecordingHandler();
        using var loop = new TurnUdpEventLoop(handler, "test-udp", 2048);
        loop.Start();
        var sockets = Enumerable.Range(0, 100).Select(_ => Bind(IPAddress.Loopback)).ToArray();
        try
        {
            foreach (var socket in sockets)
            {
                loop.Add(socket, socket, 0, 2048);
            }

            using var client = Bind(IPAddress.Loopback);
            foreach (var socket in sockets)
            {
                client.SendTo(new byte[] { 7 }, socket.LocalEndPoint!);
            }

            var received = await handler.WaitForAsync(100);
            Assert.Equal(100, received.Select(r => r.Owner).Distinct().Count());
        }
        finally
        {
            Array.ForEach(sockets, s => s.Dispose());
        }
    }

    [Fact]
    public async Task Stopping_ends_the_thread_promptly_idle_or_busy_and_closes_for_good()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        // Idle: the thread sleeps in epoll_wait until woken.
        var idle = new TurnUdpEventLoop(new RecordingHandler(), "test-udp", 2048);
        idle.Start();
        await Task.Delay(50);
        var started = DateTime.UtcNow;
        idle.Stop();
        await idle.Completion.WaitAsync(Timeout);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2));
        idle.Dispose();
        idle.Dispose();
        using var late = Bind(IPAddress.Loopback);
        Assert.Throws<ObjectDisposedException>(() => idle.Add(late, late, 0, 2048));

        // Busy: a sender floods the socket while the loop stops and the socket is closed.
        var handler = new RecordingHandler { Echo = true, Keep = false };
        var busy = new TurnUdpEventLoop(handler, "test-udp", 2048);
        var server = Bind(IPAddress.Loopback);
        busy.Add(server, server, 0, 2048);
        busy.Start();
        using var client = Bind(IPAddress.Loopback);
        using var flood = new CancellationTokenSource();
        var target = server.LocalEndPoint!;
        var sender = Task.Run(() =>
        {
            var payload = new byte[200];
            while (!flood.IsCancellationRequested)
            {
                try
                {
                    client.SendTo(payload, target);
                }
                catch (SocketException)
                {
                }
            }
        });
        await Task.Delay(200);
        busy.Dispose();
        Assert.True(busy.Completion.IsCompleted);
        server.Dispose();
        await flood.CancelAsync();
        await sender.WaitAsync(Timeout);
        Assert.True(handler.Total > 0);

        // Never started: stopping completes at once.
        var never = new TurnUdpEventLoop(new RecordingHandler(), "test-udp", 2048);
        never.Dispose();
        Assert.True(never.Completion.IsCompleted);
    }

    [Fact]
    public void Socket_addresses_round_trip_and_mapped_ipv4_becomes_ipv4()
    {
        Span<byte> buffer = stackalloc byte[TurnUdpNative.SocketAddressLength];
        foreach (var text in new[] { "192.0.2.1:3478", "[2001:db8::7]:65535", "0.0.0.0:0" })
        {
            var address = StunAddress.FromIPEndPoint(IPEndPoint.Parse(text));
            var length = TurnUdpNative.WriteSocketAddress(address, buffer);
            Assert.Equal(address.Family == StunAddressFamily.IPv4 ? 16 : 28, length);
            Assert.True(TurnUdpNative.TryReadSocketAddress(buffer[..length], out var back));
            Assert.Equal(address, back);
        }

        Assert.Equal(0, TurnUdpNative.WriteSocketAddress(default, buffer));
        Assert.False(TurnUdpNative.TryReadSocketAddress(buffer[..4], out _));
        buffer.Clear();
        buffer[0] = 1; // AF_UNIX
        Assert.False(TurnUdpNative.TryReadSocketAddress(buffer, out _));

        var mapped = StunAddress.IPv6(IPAddress.Parse("::ffff:198.51.100.2").GetAddressBytes(), 80);
        TurnUdpNative.WriteSocketAddress(mapped, buffer);
        Assert.True(TurnUdpNative.TryReadSocketAddress(buffer, out var read));
        Assert.Equal(StunAddress.FromIPEndPoint(IPEndPoint.Parse("198.51.100.2:80")), read);
    }

    [Fact]
    public void The_batch_refuses_to_send_memory_it_does_not_own()
    {
        if (!TurnUdpEventLoop.IsSupported)
        {
            return;
        }

        using var batch = new TurnDatagramBatch(4, 256);
        using var socket = Bind(IPAddress.Loopback);
        var to = StunAddress.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!);
        Assert.Throws<ArgumentException>(() => batch.QueueSend(socket.SafeHandle, new byte[10], to, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.GetSlot(0)); // nothing received yet
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Receive(socket.SafeHandle, 200, 100, 4));
        Assert.Equal(0, batch.Receive(socket.SafeHandle, 0, 256, 4)); // nothing waiting
    }

    private static Socket Bind(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return socket;
    }

    private static bool TryBind(IPAddress address, out Socket socket)
    {
        try
        {
            socket = Bind(address);
            return true;
        }
        catch (SocketException)
        {
            socket = null!;
            return false;
        }
    }

    private static async Task<(byte[] Bytes, EndPoint From)> ReceiveAsync(Socket socket, int size = 4096)
    {
        var buffer = new byte[size];
        var any = socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any).WaitAsync(Timeout);
        return (buffer.AsSpan(0, result.ReceivedBytes).ToArray(), result.RemoteEndPoint);
    }

    private sealed record Datagram(object Owner, StunAddress Source, byte[] Bytes, int DataOffset, bool Truncated);

    private sealed record Failure(object? Context, StunAddress Destination, int Error);

    /// <summary>Records what arrives; optionally answers each datagram with its own bytes.</summary>
    private sealed class RecordingHandler : ITurnUdpHandler
    {
        private readonly ConcurrentQueue<Datagram> _received = new();
        private int _total;
        private int _largestBurst;
        private int _thrown;

        public bool Echo { get; init; }

        public bool Keep { get; init; } = true;

        public bool ThrowOnFirst { get; init; }

        public StunAddress AlsoSendTo { get; init; }

        public int Total => Volatile.Read(ref _total);

        public int LargestBurst => Volatile.Read(ref _largestBurst);

        public System.Threading.Channels.Channel<Failure> Failures { get; } = System.Threading.Channels.Channel.CreateUnbounded<Failure>();

        public System.Threading.Channels.Channel<Exception> Errors { get; } = System.Threading.Channels.Channel.CreateUnbounded<Exception>();

        public void HandleDatagrams(TurnUdpRegistration source, TurnDatagramBatch batch, int first, int count)
        {
            if (ThrowOnFirst && Interlocked.Exchange(ref _thrown, 1) == 0)
            {
                throw new InvalidOperationException("a handler bug");
            }

            if (count > _largestBurst)
            {
                Volatile.Write(ref _largestBurst, count);
            }

            for (var i = first; i < first + count; i++)
            {
                Assert.True(batch.TryGetSource(i, out var from));
                var bytes = batch.GetDatagram(i);
                if (Keep)
                {
                    _received.Enqueue(new Datagram(source.Owner, from, bytes.ToArray(), batch.DataOffset(i), batch.IsTruncated(i)));
                }

                if (AlsoSendTo.Family != StunAddressFamily.None)
                {
                    Assert.True(batch.QueueSend(source.Handle, bytes, AlsoSendTo, "context"));
                }

                if (Echo)
                {
                    Assert.True(batch.QueueSend(source.Handle, bytes, from, null));
                }

                if (AlsoSendTo.Family != StunAddressFamily.None)
                {
                    Assert.True(batch.QueueSend(source.Handle, bytes, from, null));
                }
            }

            Interlocked.Add(ref _total, count);
        }

        public void HandleSendFailure(object? context, in StunAddress destination, int error) =>
            Failures.Writer.TryWrite(new Failure(context, destination, error));

        public void HandleLoopError(Exception exception, string where) => Errors.Writer.TryWrite(exception);

        public async Task<Datagram[]> WaitForAsync(int count)
        {
            var deadline = DateTime.UtcNow + Timeout;
            while (_received.Count < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{_received.Count} of {count} datagrams arrived");
                await Task.Delay(5);
            }

            await Task.Delay(20); // nothing more should come
            Assert.Equal(count, _received.Count);
            return [.. _received];
        }
    }
}
