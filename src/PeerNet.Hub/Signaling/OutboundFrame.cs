using System.Buffers;

namespace PeerNet.Hub.Signaling;

/// <summary>
/// One text frame waiting to be sent: a buffer rented from <see cref="Pool"/> that the sender
/// returns once written. A frame with a null buffer asks the sender to close.
/// </summary>
internal readonly struct OutboundFrame
{
    /// <summary>
    /// Frames wait in thousands of outboxes at once, far more than the shared pool keeps per
    /// size, which then allocates; this pool keeps what the peak needed instead.
    /// </summary>
    public static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 128 * 1024, maxArraysPerBucket: 16 * 1024);

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
        var buffer = Pool.Rent(utf8.Length);
        utf8.CopyTo(buffer);
        return new OutboundFrame(buffer, utf8.Length);
    }

    /// <summary>A routed signal, assembled without a JSON writer: the sender's prefix, the data verbatim, "}".</summary>
    public static OutboundFrame Signal(byte[] prefix, ReadOnlySpan<byte> data)
    {
        var dataLength = data.IsEmpty ? 4 : data.Length;
        var length = prefix.Length + dataLength + 1;
        var buffer = Pool.Rent(length);
        prefix.CopyTo(buffer, 0);
        if (data.IsEmpty) "null"u8.CopyTo(buffer.AsSpan(prefix.Length));
        else data.CopyTo(buffer.AsSpan(prefix.Length));
        buffer[length - 1] = (byte)'}';
        return new OutboundFrame(buffer, length);
    }

    public void Release()
    {
        if (Buffer is not null) Pool.Return(Buffer);
    }
}
