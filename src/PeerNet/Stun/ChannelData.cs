using System.Buffers.Binary;

namespace PeerNet.Stun;

/// <summary>
/// TURN ChannelData messages (RFC 8656 §12.4): a 2-byte channel number (0x4000–0x4FFF), a 2-byte
/// length of the application data (not counting padding), then the data. Over TCP and TLS the
/// message is padded to a multiple of 4 so the next one stays aligned; over UDP padding is optional
/// and receivers accept it either way. Allocation-free; parsing never throws.
/// </summary>
public static class ChannelData
{
    /// <summary>Size of the channel number and length fields.</summary>
    public const int HeaderLength = 4;

    /// <summary>The lowest channel number a client may bind.</summary>
    public const ushort MinChannelNumber = 0x4000;

    /// <summary>The highest channel number a client may bind (0x5000–0xFFFF are reserved so RFC 7983 demultiplexing keeps working).</summary>
    public const ushort MaxChannelNumber = 0x4FFF;

    /// <summary>The most data one ChannelData message can carry (16-bit length).</summary>
    public const int MaxDataLength = 0xFFFF;

    /// <summary>Whether <paramref name="channelNumber"/> is in 0x4000–0x4FFF.</summary>
    public static bool IsValidChannelNumber(ushort channelNumber) => channelNumber is >= MinChannelNumber and <= MaxChannelNumber;

    /// <summary>
    /// The bytes a message with <paramref name="dataLength"/> bytes of data occupies: 4 + length, rounded
    /// up to a multiple of 4 when <paramref name="padded"/> (required over TCP/TLS).
    /// </summary>
    public static int GetMessageLength(int dataLength, bool padded) =>
        padded ? StunMessage.Pad(HeaderLength + dataLength) : HeaderLength + dataLength;

    /// <summary>
    /// Parses a ChannelData message that is a whole UDP datagram: the datagram must hold 4 + length
    /// bytes (shorter ones are discarded, §12.6) and at most the 3 bytes of padding after that.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out ushort channelNumber, out ReadOnlySpan<byte> data, out StunParseError error)
    {
        channelNumber = 0;
        data = default;
        if (datagram.Length < HeaderLength)
        {
            error = StunParseError.TooShort;
            return false;
        }

        var number = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        if (!IsValidChannelNumber(number))
        {
            error = StunParseError.BadChannelNumber;
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (datagram.Length < HeaderLength + length || datagram.Length > GetMessageLength(length, padded: true))
        {
            error = StunParseError.BadLength;
            return false;
        }

        channelNumber = number;
        data = datagram.Slice(HeaderLength, length);
        error = StunParseError.None;
        return true;
    }

    /// <summary>
    /// Parses the ChannelData message at the start of a TCP/TLS stream buffer, where it is padded to a
    /// multiple of 4. Returns false with <see cref="StunParseError.None"/> when more bytes are needed;
    /// <paramref name="consumed"/> is the padded size to remove from the buffer on success.
    /// </summary>
    public static bool TryParseStream(ReadOnlySpan<byte> buffered, out ushort channelNumber, out ReadOnlySpan<byte> data, out int consumed, out StunParseError error)
    {
        channelNumber = 0;
        data = default;
        consumed = 0;
        error = StunParseError.None;
        if (buffered.Length < HeaderLength)
        {
            return false;
        }

        var number = BinaryPrimitives.ReadUInt16BigEndian(buffered);
        if (!IsValidChannelNumber(number))
        {
            error = StunParseError.BadChannelNumber;
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(buffered[2..]);
        var total = GetMessageLength(length, padded: true);
        if (buffered.Length < total)
        {
            return false;
        }

        channelNumber = number;
        data = buffered.Slice(HeaderLength, length);
        consumed = total;
        return true;
    }

    /// <summary>
    /// Writes a ChannelData message; <paramref name="padded"/> must be true over TCP/TLS. Returns
    /// false if <paramref name="destination"/> is too small.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A channel number outside 0x4000–0x4FFF, or more than 65535 bytes of data.</exception>
    public static bool TryWrite(Span<byte> destination, ushort channelNumber, ReadOnlySpan<byte> data, bool padded, out int written)
    {
        if (!TryWriteHeader(destination, channelNumber, data.Length, padded, out written))
        {
            return false;
        }

        data.CopyTo(destination[HeaderLength..]);
        return true;
    }

    /// <summary>
    /// Writes the header (and zero padding) for <paramref name="dataLength"/> bytes of data that the
    /// caller has placed, or will place, at <c>destination[4..]</c> — so relayed data can be received
    /// straight into its final position. <paramref name="written"/> is the whole message size.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A channel number outside 0x4000–0x4FFF, or a length outside 0–65535.</exception>
    public static bool TryWriteHeader(Span<byte> destination, ushort channelNumber, int dataLength, bool padded, out int written)
    {
        if (!IsValidChannelNumber(channelNumber))
        {
            throw new ArgumentOutOfRangeException(nameof(channelNumber), "Channel numbers are 0x4000 to 0x4FFF.");
        }

        if (dataLength is < 0 or > MaxDataLength)
        {
            throw new ArgumentOutOfRangeException(nameof(dataLength), "ChannelData carries 0 to 65535 bytes.");
        }

        var total = GetMessageLength(dataLength, padded);
        if (destination.Length < total)
        {
            written = 0;
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, channelNumber);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)dataLength);
        destination[(HeaderLength + dataLength)..total].Clear();
        written = total;
        return true;
    }
}
