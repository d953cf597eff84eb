using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// Cuts a TCP/TLS byte stream from a TURN server into STUN and ChannelData frames (RFC 8656 §12.5,
/// <see cref="StunStreamFraming"/>): append what was read, then take whole frames. A frame the
/// framing rejects makes <see cref="TryReadFrame"/> report <see cref="IsBroken"/>: close the connection.
/// </summary>
public sealed class TurnStreamReader
{
    private byte[] _buffer;
    private int _start;
    private int _end;

    /// <summary>Creates a reader with room for the largest frame (64 KiB + header).</summary>
    public TurnStreamReader(int capacity = StunMessage.MaxLength + 4)
    {
        _buffer = new byte[capacity];
    }

    /// <summary>The stream is out of sync (not STUN or ChannelData); nothing more will be read.</summary>
    public bool IsBroken { get; private set; }

    /// <summary>Where the next read goes; call <see cref="Advance"/> with what was read.</summary>
    public Memory<byte> GetWriteMemory()
    {
        if (_start > 0)
        {
            // Compact so a whole frame always fits.
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        return _buffer.AsMemory(_end);
    }

    /// <summary>Records <paramref name="count"/> bytes written into <see cref="GetWriteMemory"/>.</summary>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _end);
        _end += count;
    }

    /// <summary>Appends bytes read elsewhere (tests, TLS).</summary>
    /// <returns>False when they do not fit (the stream is then broken).</returns>
    public bool Append(ReadOnlySpan<byte> bytes)
    {
        var memory = GetWriteMemory();
        if (bytes.Length > memory.Length)
        {
            IsBroken = true;
            return false;
        }

        bytes.CopyTo(memory.Span);
        _end += bytes.Length;
        return true;
    }

    /// <summary>The next whole frame, valid until the next call; false when more bytes are needed or the stream broke.</summary>
    public bool TryReadFrame(out ReadOnlySpan<byte> frame)
    {
        frame = default;
        if (IsBroken)
        {
            return false;
        }

        var buffered = _buffer.AsSpan(_start, _end - _start);
        switch (StunStreamFraming.TryGetFrameLength(buffered, out var length))
        {
            case StunFrameKind.Stun or StunFrameKind.ChannelData:
                if (length > _buffer.Length)
                {
                    IsBroken = true;
                    return false;
                }

                if (buffered.Length < length)
                {
                    return false;
                }

                frame = buffered[..length];
                _start += length;
                if (_start == _end)
                {
                    _start = _end = 0;
                }

                return true;
            case StunFrameKind.Invalid:
                IsBroken = true;
                return false;
            default:
                return false;
        }
    }
}
