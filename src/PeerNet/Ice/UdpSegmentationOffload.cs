using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using PeerNet.Turn;

namespace PeerNet.Ice;

/// <summary>
/// Linux UDP generic segmentation offload (UDP_SEGMENT, kernel 4.18+): one <c>sendmsg</c> carries a
/// run of equal-sized datagrams (the last may be shorter) and the kernel, or the NIC, cuts them
/// apart. A data channel sends runs of full-MTU records, so this replaces dozens of system calls
/// and route lookups with one. Anything it cannot do (another OS, a kernel or device without the
/// feature, a full socket buffer) returns false and the caller sends the datagrams one by one.
/// </summary>
internal static unsafe class UdpSegmentationOffload
{
    /// <summary>The most datagrams one call carries (the kernel's UDP_MAX_SEGMENTS is 64 on older kernels).</summary>
    public const int MaxSegments = TurnUdpNative.MaxSegments;

    /// <summary>The most bytes one call carries: a UDP datagram's payload limit over IPv4.</summary>
    public const int MaxBytes = 65507;

    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && (RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64);

    /// <summary>
    /// Sends <paramref name="segments"/> as datagrams of <paramref name="segmentSize"/> bytes each
    /// (the last may be shorter) to <paramref name="remote"/> in one call; false when the kernel
    /// refused (nothing was sent).
    /// </summary>
    public static bool TrySend(Socket socket, ReadOnlySpan<byte> segments, int segmentSize, SocketAddress remote)
    {
        if (!IsSupported || segments.Length == 0 || segmentSize <= 0 || segmentSize > ushort.MaxValue || segments.Length > MaxBytes)
        {
            return false;
        }

        var handle = socket.SafeHandle;
        var addRef = false;
        try
        {
            handle.DangerousAddRef(ref addRef);
            var address = remote.Buffer.Span[..remote.Size];
            TurnUdpNative.SegmentControl control;
            control.Length = TurnUdpNative.SegmentControlLength;
            control.Level = TurnUdpNative.SolUdp;
            control.Type = TurnUdpNative.UdpSegment;
            control.SegmentSize = (ushort)segmentSize;
            fixed (byte* data = segments)
            fixed (byte* name = address)
            {
                TurnUdpNative.IoVector vector;
                vector.Base = data;
                vector.Length = (nuint)segments.Length;
                TurnUdpNative.MultiMessageHeader message = default; // a struct msghdr with room after it
                message.Name = name;
                message.NameLength = (uint)address.Length;
                message.Vectors = &vector;
                message.VectorCount = 1;
                message.Control = &control;
                message.ControlLength = TurnUdpNative.SegmentControlSpace;
                var sent = SendMessage((int)handle.DangerousGetHandle(), &message, TurnUdpNative.MsgDontWait | MsgNoSignal);
                return sent == segments.Length;
            }
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (addRef)
            {
                handle.DangerousRelease();
            }
        }
    }

    private const int MsgNoSignal = 0x4000;

    [DllImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static extern nint SendMessage(int socket, TurnUdpNative.MultiMessageHeader* message, int flags);
}
