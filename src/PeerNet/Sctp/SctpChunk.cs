using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// One chunk as found in a packet (RFC 9260 §3.2): type, flags, and the value (the bytes after the
/// 4-byte header, up to the chunk length, without padding). A view over the packet; no copy.
/// </summary>
public readonly ref struct SctpChunk
{
    /// <summary>Size of the chunk header.</summary>
    public const int HeaderLength = 4;

    /// <summary>Wraps the bytes of one chunk (header included, padding excluded).</summary>
    public SctpChunk(ReadOnlySpan<byte> raw)
    {
        Raw = raw;
    }

    /// <summary>The chunk including its header, excluding padding.</summary>
    public ReadOnlySpan<byte> Raw { get; }

    /// <summary>The chunk type byte.</summary>
    public byte TypeValue => Raw[0];

    /// <summary>The chunk type.</summary>
    public SctpChunkType Type => (SctpChunkType)Raw[0];

    /// <summary>The chunk flags byte.</summary>
    public byte Flags => Raw[1];

    /// <summary>The bytes after the chunk header.</summary>
    public ReadOnlySpan<byte> Value => Raw[HeaderLength..];

    /// <summary>Rounds a length up to a multiple of 4 (chunks and parameters are padded, §3.2).</summary>
    public static int Pad(int length) => (length + 3) & ~3;

    /// <summary>
    /// Writes a chunk header for a chunk of <paramref name="length"/> bytes (header included) and
    /// zeroes its padding. Returns the padded length.
    /// </summary>
    public static int WriteHeader(Span<byte> destination, SctpChunkType type, byte flags, int length)
    {
        destination[0] = (byte)type;
        destination[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], checked((ushort)length));
        var padded = Pad(length);
        destination[length..padded].Clear();
        return padded;
    }
}

/// <summary>
/// Walks the chunks of a packet. Stops with <see cref="Error"/> set when a chunk header is cut off,
/// declares a length below 4, or runs past the packet. The last chunk's padding may be missing.
/// </summary>
public ref struct SctpChunkEnumerator
{
    private ReadOnlySpan<byte> _remaining;

    /// <summary>Starts at the first chunk of <paramref name="chunks"/>.</summary>
    public SctpChunkEnumerator(ReadOnlySpan<byte> chunks)
    {
        _remaining = chunks;
        Current = default;
        Error = SctpDropReason.None;
    }

    /// <summary>The chunk found by the last successful <see cref="MoveNext"/>.</summary>
    public SctpChunk Current { get; private set; }

    /// <summary>Why enumeration stopped early, or None.</summary>
    public SctpDropReason Error { get; private set; }

    /// <summary>Allows foreach.</summary>
    public readonly SctpChunkEnumerator GetEnumerator() => this;

    /// <summary>Advances to the next chunk; false at the end or on a malformed chunk.</summary>
    public bool MoveNext()
    {
        if (_remaining.IsEmpty || Error != SctpDropReason.None)
        {
            return false;
        }

        if (_remaining.Length < SctpChunk.HeaderLength)
        {
            Error = SctpDropReason.BadChunkLength;
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(_remaining[2..]);
        if (length < SctpChunk.HeaderLength || length > _remaining.Length)
        {
            Error = SctpDropReason.BadChunkLength;
            return false;
        }

        Current = new SctpChunk(_remaining[..length]);
        var padded = SctpChunk.Pad(length);
        _remaining = padded >= _remaining.Length ? default : _remaining[padded..];
        return true;
    }
}
