using System.Globalization;
using System.Runtime.InteropServices;

namespace PeerNet.Bench.Turn;

/// <summary>
/// The few libc calls the load generator's hot loop makes directly: non-blocking recv/send
/// (MSG_DONTWAIT: an empty queue is a return value, not an exception) and epoll, so one thread
/// serves hundreds of UDP sockets with one system call per datagram and no allocation. Linux x86-64
/// only (the epoll_event layout below is its packed one).
/// </summary>
internal static unsafe partial class Native
{
    public const int MSG_DONTWAIT = 0x40;
    public const int EPOLL_CTL_ADD = 1;
    public const uint EPOLLIN = 0x001;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc")]
    public static partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport("libc")]
    public static partial nint recv(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc")]
    public static partial nint send(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc")]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sched_setaffinity(int pid, nint cpusetsize, ulong* mask);

    public static void CheckPlatform()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            throw new PlatformNotSupportedException("the TURN benchmark needs Linux on x86-64 (epoll, /proc, taskset)");
        if (sizeof(EpollEvent) != 12) throw new InvalidOperationException("unexpected epoll_event layout");
    }

    /// <summary>Pins every thread of this process to <paramref name="cpu"/> (threads created later
    /// inherit it from their creator). Setting Process.ProcessorAffinity would pin the main thread only.</summary>
    public static void PinThisProcess(int cpu)
    {
        ulong mask = 1UL << cpu;
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            int tid = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
            if (sched_setaffinity(tid, sizeof(ulong), &mask) != 0 && tid == Environment.ProcessId)
                throw new InvalidOperationException($"sched_setaffinity failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>An epoll instance watching sockets for input, each tagged with a number.</summary>
    public sealed class Epoll : IDisposable
    {
        private readonly EpollEvent[] _events;

        public Epoll(int maxEvents)
        {
            Fd = epoll_create1(0);
            if (Fd < 0) throw new InvalidOperationException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
            _events = GC.AllocateArray<EpollEvent>(maxEvents, pinned: true);
        }

        public int Fd { get; }

        public void Add(int fd, ulong tag)
        {
            var ev = new EpollEvent { Events = EPOLLIN, Data = tag };
            if (epoll_ctl(Fd, EPOLL_CTL_ADD, fd, &ev) != 0)
                throw new InvalidOperationException($"epoll_ctl failed: errno {Marshal.GetLastPInvokeError()}");
        }

        /// <summary>Waits up to <paramref name="timeoutMs"/> for ready sockets; their tags are in <see cref="Tag"/>.</summary>
        public int Wait(int timeoutMs)
        {
            fixed (EpollEvent* e = _events) return epoll_wait(Fd, e, _events.Length, timeoutMs);
        }

        public ulong Tag(int i) => _events[i].Data;

        public void Dispose() => close(Fd);
    }
}
