using System.Buffers;

namespace PeerNet.Hub.Signaling;

/// <summary>
/// One text frame waiting to be sent: a buffer rented from <see cref="ArrayPool{T}.Shared"/> that
/// the sender returns once written. A frame with a null buffer asks the sender to close.
/// </summary>
internal readonly struct OutboundFrame
{
    public OutboundFrame(byte[] buffer, int length)
    {
        Buffer = buffer;
        Length = length;
    }

    public byte[]? Buffer { get; }
    public int Length { get; }
    public ReadOnlyMemory<byte> Memory => Buffer is null ? default : Buffer.AsMemory(0, Length);

    public static OutboundFrame Copy(ReadOnlySpan<byte> utf8)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(utf8.Length);
        utf8.CopyTo(buffer);
        return new OutboundFrame(buffer, utf8.Length);
    }

    public void Release()
    {
        if (Buffer is not null) ArrayPool<byte>.Shared.Return(Buffer);
    }
}
