using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>
/// A userspace delay line on a TUN device, for a kernel without the netem qdisc: the lab routes
/// the packets to impair into the TUN device, this reads each one, holds it for a delay (plus
/// random jitter, which reorders) and writes it back, so the kernel receives it again from the
/// TUN device and routes it on. Two threads: a reader (poll + read) and a writer that releases
/// packets when due. Also compiled into bench/PeerNet.Bench (the throughput benchmark's 50 ms path).
/// </summary>
/// <remarks>
/// Due times come from <see cref="Stopwatch"/>, not <see cref="Environment.TickCount64"/> (a 4 ms
/// clock on this kernel), and the writer sleeps on a high-resolution timer, so packets leave spaced
/// as they arrived to within about a millisecond, as netem would release them. The coarse clock
/// released 4 ms of traffic at once, which overflowed small receive buffers (Chromium's) and so
/// measured the emulator's bursts rather than the peers.
/// </remarks>
internal sealed class TunDelayLine : IDisposable
{
    private const int ORdWr = 2;
    private const int ONonBlock = 0x800;
    private const uint TunSetIff = 0x400454CA;
    private const short IffTun = 0x0001;
    private const short IffNoPi = 0x1000;
    private const short PollIn = 0x0001;
    private const int MaxPacket = 65536;

    private readonly int _fd;
    private readonly long _delay;
    private readonly int _jitter;
    private readonly Random _random;
    private readonly PriorityQueue<(byte[] Packet, int Length), (long Due, long Sequence)> _queue = new();
    private readonly object _lock = new();
    private readonly Thread _reader;
    private readonly Thread _writer;
    private long _sequence;
    private volatile bool _stopped;
    private long _forwarded;

    private TunDelayLine(int fd, string name, int delayMilliseconds, int jitterMilliseconds, int seed)
    {
        _fd = fd;
        Name = name;
        _delay = delayMilliseconds * Stopwatch.Frequency / 1000;
        _jitter = jitterMilliseconds;
        _random = new Random(seed);
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"tun {name} reader" };
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = $"tun {name} writer" };
        _reader.Start();
        _writer.Start();
    }

    /// <summary>The TUN device's name.</summary>
    public string Name { get; }

    /// <summary>Packets released (written back) so far.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Creates TUN device <paramref name="name"/> in namespace <paramref name="netns"/>, or in this thread's when null (down, no address: the caller routes into it).</summary>
    public static TunDelayLine Create(string? netns, string name, int delayMilliseconds, int jitterMilliseconds = 0, int seed = 1)
    {
        int OpenDevice()
        {
            var fd = Open("/dev/net/tun"u8.ToArray().Append((byte)0).ToArray(), ORdWr | ONonBlock);
            if (fd < 0) throw new IOException($"open /dev/net/tun failed: errno {Marshal.GetLastPInvokeError()}");
            var ifr = new byte[40];
            System.Text.Encoding.ASCII.GetBytes(name, ifr);
            BitConverter.TryWriteBytes(ifr.AsSpan(16), (short)(IffTun | IffNoPi));
            if (Ioctl(fd, TunSetIff, ifr) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                Close(fd);
                throw new IOException($"TUNSETIFF {name} failed: errno {errno}");
            }

            return fd;
        }

        var fd = netns is null ? OpenDevice() : NetnsThread.Run(netns, OpenDevice);
        return new TunDelayLine(fd, name, delayMilliseconds, jitterMilliseconds, seed);
    }

    private void ReadLoop()
    {
        var polls = new PollFd[] { new() { Fd = _fd, Events = PollIn } };
        while (!_stopped)
        {
            if (Poll(polls, 1, 100) <= 0) continue;
            while (true)
            {
                var packet = ArrayPool<byte>.Shared.Rent(MaxPacket); // pooled: the throughput benchmark pushes 100+ MB/s through
                var n = Read(_fd, packet, MaxPacket);
                if (n <= 0)
                {
                    ArrayPool<byte>.Shared.Return(packet);
                    break; // EAGAIN: drained
                }

                var due = Stopwatch.GetTimestamp() + _delay;
                lock (_lock)
                {
                    if (_jitter > 0) due += _random.Next(_jitter + 1) * Stopwatch.Frequency / 1000;
                    _queue.Enqueue((packet, (int)n), (due, _sequence++));
                    Monitor.PulseAll(_lock);
                }
            }
        }
    }

    private void WriteLoop()
    {
        while (true)
        {
            (byte[] Packet, int Length) packet;
            lock (_lock)
            {
                while (true)
                {
                    if (_stopped) return;
                    if (_queue.TryPeek(out _, out var key))
                    {
                        var wait = key.Due - Stopwatch.GetTimestamp();
                        if (wait <= 0) break;
                        // A timed wait sleeps on a high-resolution timer: ~1 ms at the least, no spinning.
                        Monitor.Wait(_lock, (int)Math.Clamp(wait * 1000 / Stopwatch.Frequency, 1, 100));
                    }
                    else
                    {
                        Monitor.Wait(_lock, 100);
                    }
                }

                packet = _queue.Dequeue();
            }

            // Counted before the write, so whoever receives the packet sees it counted. A full
            // TUN queue (EAGAIN) drops the packet, as a congested link would.
            Interlocked.Increment(ref _forwarded);
            Write(_fd, packet.Packet, packet.Length);
            ArrayPool<byte>.Shared.Return(packet.Packet);
        }
    }

    public void Dispose()
    {
        if (_stopped) return;
        _stopped = true;
        lock (_lock) Monitor.PulseAll(_lock);
        _reader.Join();
        _writer.Join();
        Close(_fd);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(byte[] path, int flags);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, nuint request, byte[] argument);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint Read(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "write", SetLastError = true)]
    private static extern nint Write(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll([In, Out] PollFd[] fds, nuint count, int timeout);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
