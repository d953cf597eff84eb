using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// The libc calls and structures behind <see cref="TurnUdpEventLoop"/>: epoll, eventfd, and the
/// batched datagram calls recvmmsg/sendmmsg (plus sendto for a lone datagram, which skips the
/// msghdr import). Linux on 64-bit x86 and ARM only (the struct layouts below are LP64 Linux's;
/// errno values are the generic ones both use).
/// </summary>
internal static unsafe partial class TurnUdpNative
{
    public const int EAGAIN = 11;
    public const int EINTR = 4;
    public const int EAFNOSUPPORT = 97;
    public const int EIO = 5;
    public const int EINVAL = 22;
    public const int EMSGSIZE = 90;
    public const int ENOPROTOOPT = 92;
    public const int EOPNOTSUPP = 95;

    /// <summary>setsockopt/cmsg level of UDP, and its UDP_SEGMENT option (Linux 4.18+).</summary>
    public const int SolUdp = 17;
    public const int UdpSegment = 103;

    /// <summary>The most segments one segmented send may carry (UDP_MAX_SEGMENTS on older kernels).</summary>
    public const int MaxSegments = 64;

    /// <summary>The most payload bytes one segmented send may carry (one IPv4 datagram's limit, with room).</summary>
    public const int MaxSegmentedBytes = 65000;

    /// <summary>CMSG_LEN(2) and CMSG_SPACE(2) on LP64 Linux: a cmsghdr carrying the u16 segment size.</summary>
    public const int SegmentControlLength = 18;
    public const int SegmentControlSpace = 24;

    public const int MsgDontWait = 0x40;
    public const int MsgTrunc = 0x20;

    public const uint EpollIn = 0x001;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCloexec = 0x80000;

    public const int EventFdNonBlock = 0x800;
    public const int EventFdCloexec = 0x80000;

    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    /// <summary>sizeof(struct sockaddr_in6), room for either family.</summary>
    public const int SocketAddressLength = 28;

    /// <summary>Whether this process can use these calls.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64
        && sizeof(nint) == 8;

    /// <summary>struct epoll_event is packed (12 bytes) on x86-64 only; 16 bytes elsewhere.</summary>
    public static int EpollEventSize { get; } = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVector
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct mmsghdr: a struct msghdr and the byte count the kernel fills in.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MultiMessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
        private readonly int _padding;
        public uint Length;
        private readonly uint _trailingPadding;
    }

    /// <summary>A cmsghdr with UDP_SEGMENT's u16 segment size, padded to CMSG_SPACE(2).</summary>
    [StructLayout(LayoutKind.Sequential, Size = SegmentControlSpace)]
    public struct SegmentControl
    {
        public nuint Length;
        public int Level;
        public int Type;
        public ushort SegmentSize;
    }

    /// <summary>Writes <paramref name="events"/> and <paramref name="data"/> into the epoll_event at <paramref name="destination"/>.</summary>
    public static void WriteEpollEvent(byte* destination, uint events, ulong data)
    {
        *(uint*)destination = events;
        Unsafe.WriteUnaligned(destination + (EpollEventSize - 8), data);
    }

    /// <summary>The data word of the <paramref name="index"/>th epoll_event of an array.</summary>
    public static ulong ReadEpollData(byte* events, int index) => Unsafe.ReadUnaligned<ulong>(events + (index * EpollEventSize) + (EpollEventSize - 8));

    /// <summary>Reads a sockaddr_in or sockaddr_in6 the kernel filled in; IPv4-mapped IPv6 becomes IPv4.</summary>
    public static bool TryReadSocketAddress(ReadOnlySpan<byte> name, out StunAddress address)
    {
        address = default;
        if (name.Length < 8)
        {
            return false;
        }

        var family = MemoryMarshal.Read<ushort>(name);
        var port = BinaryPrimitives.ReadUInt16BigEndian(name[2..]);
        if (family == AfInet)
        {
            address = StunAddress.IPv4(BinaryPrimitives.ReadUInt32BigEndian(name[4..]), port);
            return true;
        }

        if (family == AfInet6 && name.Length >= 24)
        {
            var bytes = name.Slice(8, 16);
            address = BinaryPrimitives.ReadUInt64BigEndian(bytes) == 0 && BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]) == 0x0000FFFF
                ? StunAddress.IPv4(BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]), port)
                : StunAddress.IPv6(bytes, port);
            return true;
        }

        return false;
    }

    /// <summary>Writes <paramref name="address"/> as a sockaddr_in or sockaddr_in6; returns its length (0 for no address).</summary>
    public static int WriteSocketAddress(in StunAddress address, Span<byte> destination)
    {
        destination[..SocketAddressLength].Clear();
        switch (address.Family)
        {
            case StunAddressFamily.IPv4:
                MemoryMarshal.Write(destination, AfInet);
                BinaryPrimitives.WriteUInt16BigEndian(destination[2..], address.Port);
                address.WriteAddressBytes(destination[4..]);
                return 16;
            case StunAddressFamily.IPv6:
                MemoryMarshal.Write(destination, AfInet6);
                BinaryPrimitives.WriteUInt16BigEndian(destination[2..], address.Port);
                address.WriteAddressBytes(destination[8..]);
                return SocketAddressLength;
            default:
                return 0;
        }
    }

    /// <summary>
    /// Sends one datagram without blocking; returns 0 or the errno the kernel refused it with (a
    /// socket closed meanwhile counts as sent: its allocation is gone).
    /// </summary>
    public static int SendOne(SafeSocketHandle handle, ReadOnlySpan<byte> data, in StunAddress to)
    {
        Span<byte> name = stackalloc byte[SocketAddressLength];
        var nameLength = WriteSocketAddress(to, name);
        if (nameLength == 0)
        {
            return EAFNOSUPPORT;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            fixed (byte* bytes = data)
            fixed (byte* address = name)
            {
                while (true)
                {
                    if (SendTo(fd, bytes, (nuint)data.Length, MsgDontWait, address, (uint)nameLength) >= 0)
                    {
                        return 0;
                    }

                    var error = Marshal.GetLastPInvokeError();
                    if (error != EINTR)
                    {
                        return error;
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollControl(int epoll, int operation, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epoll, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int ReceiveMessages(int fd, MultiMessageHeader* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMessages(int fd, MultiMessageHeader* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int fd, void* buffer, nuint length, int flags, void* address, uint addressLength);
}
