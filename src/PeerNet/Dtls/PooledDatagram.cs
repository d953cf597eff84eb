using System.Buffers;

namespace PeerNet.Dtls;

/// <summary>A datagram in a buffer rented from <see cref="ArrayPool{T}.Shared"/>.</summary>
internal readonly record struct PooledDatagram(byte[] Buffer, int Length)
{
    public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);

    public static PooledDatagram Copy(ReadOnlySpan<byte> data)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(data.Length, 1));
        data.CopyTo(buffer);
        return new PooledDatagram(buffer, data.Length);
    }

    public void Return() => ArrayPool<byte>.Shared.Return(Buffer);
}
