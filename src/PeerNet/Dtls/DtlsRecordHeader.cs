using System.Buffers.Binary;

namespace PeerNet.Dtls;

/// <summary>
/// The DTLS 1.2 record header (RFC 6347 §4.1): content type, version, epoch, 48-bit sequence number and
/// length, 13 bytes. Used to reject datagrams that are not well-formed DTLS before any decryption.
/// </summary>
internal static class DtlsRecordHeader
{
    /// <summary>The header size.</summary>
    public const int Length = 13;

    /// <summary>The largest record fragment: 2^14 plus the 2048 bytes of expansion RFC 5246 §6.2.3 allows.</summary>
    public const int MaxFragmentLength = (1 << 14) + 2048;

    // RFC 5246 §6.2.1 / RFC 6347 §4.1 content types used by DTLS 1.2 without extensions we negotiate.
    private const byte ChangeCipherSpec = 20, Alert = 21, Handshake = 22, ApplicationData = 23;

    /// <summary>
    /// Whether every record in the datagram has a plausible header and a length that fits. A datagram
    /// with any malformed record is dropped whole: a correct peer never sends one.
    /// </summary>
    public static bool IsWellFormedDatagram(ReadOnlySpan<byte> datagram, out DtlsDropReason reason)
    {
        if (datagram.Length < Length)
        {
            reason = DtlsDropReason.TooShort;
            return false;
        }
        while (!datagram.IsEmpty)
        {
            if (datagram.Length < Length)
            {
                reason = DtlsDropReason.BadLength;
                return false;
            }
            byte type = datagram[0];
            // DTLS versions are one's complement of the TLS ones: 1.0 is 0xFEFF, 1.2 is 0xFEFD.
            if (type is < ChangeCipherSpec or > ApplicationData || datagram[1] != 0xFE)
            {
                reason = DtlsDropReason.NotDtls;
                return false;
            }
            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[11..]);
            if (length > MaxFragmentLength || length > datagram.Length - Length)
            {
                reason = DtlsDropReason.BadLength;
                return false;
            }
            datagram = datagram[(Length + length)..];
        }
        reason = default;
        return true;
    }

    /// <summary>
    /// Whether a well-formed datagram holds an alert or application data record in epoch 0, i.e. in
    /// plaintext. After the handshake a peer sends those only encrypted; in epoch 0 only retransmitted
    /// handshake messages are legitimate, and an injected plaintext fatal alert must not be able to
    /// kill the association.
    /// </summary>
    public static bool HasPlaintextAlertOrData(ReadOnlySpan<byte> datagram)
    {
        while (datagram.Length >= Length)
        {
            byte type = datagram[0];
            if ((type == Alert || type == ApplicationData) && datagram[3] == 0 && datagram[4] == 0)
                return true;
            datagram = datagram[(Length + BinaryPrimitives.ReadUInt16BigEndian(datagram[11..]))..];
        }
        return false;
    }

    /// <summary>Whether every encrypted (epoch 1 and later) record in a well-formed datagram is long enough for the cipher.</summary>
    public static bool HasValidCiphertextLengths(ReadOnlySpan<byte> datagram, DtlsCiphertextRule rule)
    {
        while (datagram.Length >= Length)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[11..]);
            bool encrypted = datagram[3] != 0 || datagram[4] != 0;
            if (encrypted && !rule.Accepts(length))
                return false;
            datagram = datagram[(Length + length)..];
        }
        return true;
    }
}
