using System.Buffers.Binary;
using System.Text;

namespace PeerNet.DataChannels;

/// <summary>
/// DATA_CHANNEL_OPEN (RFC 8832 §5.1): sent reliably and ordered on the stream the opener chose,
/// naming the channel and how reliable it is. The receiver answers with DATA_CHANNEL_ACK.
/// </summary>
public sealed record DataChannelOpen(DataChannelType ChannelType, ushort Priority, uint ReliabilityParameter, string Label, string Protocol)
{
    /// <summary>Message type, channel type, priority, reliability, label length, protocol length.</summary>
    public const int FixedLength = 12;

    /// <summary>RFC 8832 §5.1 priority for "normal" (the W3C default, "low" = 128 is below normal).</summary>
    public const ushort NormalPriority = 256;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Bytes this message takes on the wire.</summary>
    public int Length => FixedLength + Encoding.UTF8.GetByteCount(Label) + Encoding.UTF8.GetByteCount(Protocol);

    /// <summary>Writes the message; returns its length. Throws when <paramref name="destination"/> is too small.</summary>
    public int WriteTo(Span<byte> destination)
    {
        var labelLength = Encoding.UTF8.GetByteCount(Label);
        var protocolLength = Encoding.UTF8.GetByteCount(Protocol);
        if (labelLength > ushort.MaxValue) throw new ArgumentException("a data channel label is at most 65535 UTF-8 bytes");
        if (protocolLength > ushort.MaxValue) throw new ArgumentException("a data channel protocol is at most 65535 UTF-8 bytes");
        var length = FixedLength + labelLength + protocolLength;
        if (destination.Length < length) throw new ArgumentException("destination is too small for DATA_CHANNEL_OPEN", nameof(destination));
        destination[0] = (byte)DcepMessageType.DataChannelOpen;
        destination[1] = (byte)ChannelType;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], Priority);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ReliabilityParameter);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], (ushort)labelLength);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], (ushort)protocolLength);
        Encoding.UTF8.GetBytes(Label, destination[FixedLength..]);
        Encoding.UTF8.GetBytes(Protocol, destination[(FixedLength + labelLength)..]);
        return length;
    }

    /// <summary>The message as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>Parses a DATA_CHANNEL_OPEN; never throws on hostile input.</summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out DataChannelOpen? open, out DcepParseError error)
    {
        open = null;
        if (message.Length < FixedLength)
        {
            error = message.IsEmpty || message[0] == (byte)DcepMessageType.DataChannelOpen ? DcepParseError.TooShort : DcepParseError.UnknownMessageType;
            return false;
        }
        if (message[0] != (byte)DcepMessageType.DataChannelOpen)
        {
            error = DcepParseError.UnknownMessageType;
            return false;
        }
        var type = (DataChannelType)message[1];
        if (!type.IsDefined())
        {
            error = DcepParseError.UnknownChannelType;
            return false;
        }
        var labelLength = BinaryPrimitives.ReadUInt16BigEndian(message[8..]);
        var protocolLength = BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        // RFC 8832 §5.1: no padding, so the lengths must account for every byte.
        if (FixedLength + labelLength + protocolLength != message.Length)
        {
            error = DcepParseError.LengthMismatch;
            return false;
        }
        string label, protocol;
        try
        {
            label = StrictUtf8.GetString(message.Slice(FixedLength, labelLength));
            protocol = StrictUtf8.GetString(message.Slice(FixedLength + labelLength, protocolLength));
        }
        catch (DecoderFallbackException)
        {
            error = DcepParseError.InvalidUtf8;
            return false;
        }
        open = new DataChannelOpen(type, BinaryPrimitives.ReadUInt16BigEndian(message[2..]), BinaryPrimitives.ReadUInt32BigEndian(message[4..]), label, protocol);
        error = DcepParseError.None;
        return true;
    }
}
