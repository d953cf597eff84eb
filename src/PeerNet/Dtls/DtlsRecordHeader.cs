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

    /// <summary>The record version of every DTLS 1.2 record after the hellos (RFC 6347 §4.1: one's complement of TLS 1.2's).</summary>
    public const ushort Dtls12Version = 0xFEFD;

    /// <summary>The largest sequence number of an epoch (48 bits, RFC 6347 §4.1).</summary>
    public const ulong MaxSequenceNumber = (1UL << 48) - 1;

    private const byte ChangeCipherSpec = DtlsContentType.ChangeCipherSpec, Alert = DtlsContentType.Alert, ApplicationData = DtlsContentType.ApplicationData;

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

    /// <summary>The epoch of the record at the start of <paramref name="record"/> (at least <see cref="Length"/> bytes).</summary>
    public static ushort Epoch(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadUInt16BigEndian(record[3..]);

    /// <summary>The 48-bit sequence number of the record at the start of <paramref name="record"/>.</summary>
    public static ulong SequenceNumber(ReadOnlySpan<byte> record) =>
        (ulong)BinaryPrimitives.ReadUInt16BigEndian(record[5..]) << 32 | BinaryPrimitives.ReadUInt32BigEndian(record[7..]);

    /// <summary>The fragment length the header of the record at the start of <paramref name="record"/> claims.</summary>
    public static int FragmentLength(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadUInt16BigEndian(record[11..]);

    /// <summary>Writes a record header: type, DTLS 1.2 version, epoch, sequence number and fragment length.</summary>
    public static void Write(Span<byte> destination, byte contentType, ushort epoch, ulong sequenceNumber, int fragmentLength)
    {
        destination[0] = contentType;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], Dtls12Version);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], epoch);
        BinaryPrimitives.WriteUInt16BigEndian(destination[5..], (ushort)(sequenceNumber >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[7..], (uint)sequenceNumber);
        BinaryPrimitives.WriteUInt16BigEndian(destination[11..], checked((ushort)fragmentLength));
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
