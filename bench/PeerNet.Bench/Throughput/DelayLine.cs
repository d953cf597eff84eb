using System.Buffers;
using System.Runtime.InteropServices;

namespace PeerNet.Bench.Throughput;

/// <summary>
/// A fixed delay on a TUN device, for a kernel without the netem qdisc (the idea of the integration
/// tests' NatLab TunDelayLine, without jitter): packets the kernel routes into the device are read,
/// held for the delay, and written back, so the kernel receives them from the device and delivers
/// them. The delay is constant, so a FIFO keeps them in order. Two threads: reader and writer.
/// </summary>
internal sealed class DelayLine : IDisposable
{
    private const int ORdWr = 2;
    private const int ONonBlock = 0x800;
    private const uint TunSetIff = 0x400454CA;
    private const short IffTun = 0x0001;
    private const short IffNoPi = 0x1000;
    private const short PollIn = 0x0001;
    private const int MaxPacket = 65536;

    private readonly int _fd;
    private readonly int _delayMs;
    private readonly Queue<(long Due, byte[] Packet, int Length)> _queue = new();
    private readonly object _lock = new();
    private readonly Thread _reader;
    private readonly Thread _writer;
    private volatile bool _stopped;
    private long _forwarded;

    private DelayLine(int fd, string name, int delayMs)
    {
        _fd = fd;
        Name = name;
        _delayMs = delayMs;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"tun {name} reader" };
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = $"tun {name} writer" };
        _reader.Start();
        _writer.Start();
    }

    /// <summary>The TUN device's name.</summary>
    public string Name { get; }

    /// <summary>Packets written back so far.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Creates TUN device <paramref name="name"/> in this process's network namespace (down, no address).</summary>
    public static DelayLine Create(string name, int delayMs)
    {
        var fd = Open("/dev/net/tun\0"u8.ToArray(), ORdWr | ONonBlock);
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
        return new DelayLine(fd, name, delayMs);
    }

    private void ReadLoop()
    {
        var polls = new PollFd[] { new() { Fd = _fd, Events = PollIn } };
        while (!_stopped)
        {
            if (Poll(polls, 1, 100) <= 0) continue;
            while (true)
            {
                var packet = ArrayPool<byte>.Shared.Rent(MaxPacket);
                var n = Read(_fd, packet, MaxPacket);
                if (n <= 0)
                {
                    ArrayPool<byte>.Shared.Return(packet);
                    break; // EAGAIN: drained
                }
                lock (_lock)
                {
                    _queue.Enqueue((Environment.TickCount64 + _delayMs, packet, (int)n));
                    if (_queue.Count == 1) Monitor.Pulse(_lock);
                }
            }
        }
    }

    private void WriteLoop()
    {
        while (true)
        {
            byte[] packet;
            int length;
            lock (_lock)
            {
                while (true)
                {
                    if (_stopped) return;
                    if (_queue.TryPeek(out var head))
                    {
                        var wait = head.Due - Environment.TickCount64;
                        if (wait <= 0) break;
                        Monitor.Wait(_lock, (int)Math.Min(wait, 100));
                    }
                    else
                    {
                        Monitor.Wait(_lock, 100);
                    }
                }
                (_, packet, length) = _queue.Dequeue();
            }
            Interlocked.Increment(ref _forwarded);
            // A full device queue (EAGAIN) drops the packet, as a congested link would.
            Write(_fd, packet, length);
            ArrayPool<byte>.Shared.Return(packet);
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
