using System.Buffers.Binary;

namespace PeerNet.Stun;

/// <summary>What <see cref="StunStreamFraming.TryGetFrameLength"/> found at the start of a stream buffer.</summary>
public enum StunFrameKind : byte
{
    /// <summary>Too few bytes to know the frame length yet (4 for ChannelData, 8 for STUN, whose magic cookie is checked).</summary>
    NeedMoreData,

    /// <summary>A STUN message (first two bits 00).</summary>
    Stun,

    /// <summary>A ChannelData message (first two bits 01).</summary>
    ChannelData,

    /// <summary>Neither: the stream is out of sync or is not TURN; close the connection.</summary>
    Invalid,
}

/// <summary>
/// Framing of STUN and ChannelData messages sent back to back over TCP or TLS (RFC 8489 §6.2.2,
/// RFC 8656 §12.5): a STUN message is 20 bytes plus its length field; a ChannelData message is 4
/// plus its length rounded up to a multiple of 4. The first two bits tell them apart; a STUN
/// frame must also carry the magic cookie.
/// </summary>
public static class StunStreamFraming
{
    /// <summary>
    /// Classifies the frame at the start of <paramref name="buffered"/> and, for STUN and
    /// ChannelData, gives its full length (which may exceed what is buffered: wait for more).
    /// </summary>
    public static StunFrameKind TryGetFrameLength(ReadOnlySpan<byte> buffered, out int frameLength)
    {
        frameLength = 0;
        if (buffered.Length < 4)
        {
            return StunFrameKind.NeedMoreData;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(buffered[2..]);
        switch (buffered[0] >> 6)
        {
            case 0:
                // Check the magic cookie too, so a stream that lost sync is caught at once.
                if ((length & 3) != 0)
                {
                    return StunFrameKind.Invalid;
                }

                if (buffered.Length < 8)
                {
                    return StunFrameKind.NeedMoreData;
                }

                if (BinaryPrimitives.ReadUInt32BigEndian(buffered[4..]) != StunMessage.MagicCookie)
                {
                    return StunFrameKind.Invalid;
                }

                frameLength = StunMessage.HeaderLength + length;
                return StunFrameKind.Stun;
            case 1:
                if (!ChannelData.IsValidChannelNumber(BinaryPrimitives.ReadUInt16BigEndian(buffered)))
                {
                    return StunFrameKind.Invalid;
                }

                frameLength = ChannelData.GetMessageLength(length, padded: true);
                return StunFrameKind.ChannelData;
            default:
                return StunFrameKind.Invalid;
        }
    }
}
