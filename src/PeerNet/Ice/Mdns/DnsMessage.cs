using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace PeerNet.Ice.Mdns;

/// <summary>DNS record types the resolver uses (RFC 1035 §3.2.2, RFC 3596).</summary>
public enum DnsRecordType : ushort
{
    /// <summary>An IPv4 address.</summary>
    A = 1,

    /// <summary>An IPv6 address.</summary>
    Aaaa = 28,

    /// <summary>Any type (a query only).</summary>
    Any = 255,
}

/// <summary>A question (RFC 1035 §4.1.2); in mDNS the top bit of the class asks for a unicast answer (RFC 6762 §5.4, "QU").</summary>
/// <param name="Name">The name, dotted, without the final dot.</param>
/// <param name="Type">The record type asked for.</param>
/// <param name="Class">The class without the QU bit (1 = IN).</param>
/// <param name="UnicastResponse">The QU bit.</param>
public sealed record DnsQuestion(string Name, ushort Type, ushort Class, bool UnicastResponse);

/// <summary>A resource record (RFC 1035 §4.1.3); in mDNS the top bit of the class is cache-flush (RFC 6762 §10.2).</summary>
/// <param name="Name">The owner name, dotted, without the final dot.</param>
/// <param name="Type">The record type.</param>
/// <param name="Class">The class without the cache-flush bit.</param>
/// <param name="CacheFlush">The cache-flush bit.</param>
/// <param name="TimeToLive">Seconds.</param>
/// <param name="Data">The RDATA bytes.</param>
public sealed record DnsResourceRecord(string Name, ushort Type, ushort Class, bool CacheFlush, uint TimeToLive, byte[] Data)
{
    /// <summary>The address of an A (4 bytes) or AAAA (16 bytes) record.</summary>
    public bool TryGetAddress(out IPAddress address)
    {
        if ((Type == (ushort)DnsRecordType.A && Data.Length == 4) || (Type == (ushort)DnsRecordType.Aaaa && Data.Length == 16))
        {
            address = new IPAddress(Data);
            return true;
        }

        address = IPAddress.None;
        return false;
    }
}

/// <summary>Bytes that are not a well-formed DNS message.</summary>
public sealed class DnsFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public DnsFormatException()
        : base("Malformed DNS message.")
    {
    }

    /// <summary>Creates the exception with a reason.</summary>
    public DnsFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a reason and a cause.</summary>
    public DnsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The small part of the DNS message format (RFC 1035 §4) that multicast DNS name resolution needs:
/// header, questions and resource records, with name compression (§4.1.4) read safely — pointers
/// must point backwards, so they cannot loop, and names are bounded to 255 bytes.
/// </summary>
public sealed class DnsMessage
{
    /// <summary>The longest name in wire form (RFC 1035 §2.3.4).</summary>
    public const int MaxNameLength = 255;

    private const int HeaderLength = 12;
    private const int MaxRecords = 64;

    /// <summary>The query id (0 in multicast DNS, RFC 6762 §18.1).</summary>
    public ushort Id { get; init; }

    /// <summary>The QR bit: a response.</summary>
    public bool IsResponse { get; init; }

    /// <summary>The flags word (QR, opcode, AA, TC, RD, RA, Z, RCODE).</summary>
    public ushort Flags { get; init; }

    /// <summary>The questions.</summary>
    public IReadOnlyList<DnsQuestion> Questions { get; init; } = [];

    /// <summary>The answer section.</summary>
    public IReadOnlyList<DnsResourceRecord> Answers { get; init; } = [];

    /// <summary>The additional section (mDNS responders put more addresses there, RFC 6762 §6.2). Authority records are skipped.</summary>
    public IReadOnlyList<DnsResourceRecord> Additionals { get; init; } = [];

    /// <summary>Parses one message.</summary>
    /// <exception cref="DnsFormatException">Truncated, lying counts, bad labels, forward or looping pointers, names over 255 bytes.</exception>
    public static DnsMessage Parse(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeaderLength)
        {
            throw new DnsFormatException("Shorter than the 12-byte header.");
        }

        var id = BinaryPrimitives.ReadUInt16BigEndian(message);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        int questionCount = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        int answerCount = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        int authorityCount = BinaryPrimitives.ReadUInt16BigEndian(message[8..]);
        int additionalCount = BinaryPrimitives.ReadUInt16BigEndian(message[10..]);

        // A question takes at least 5 bytes, a record at least 11: counts beyond that are lies.
        if (questionCount + answerCount + authorityCount + additionalCount > MaxRecords
            || (questionCount * 5) + ((answerCount + authorityCount + additionalCount) * 11) > message.Length - HeaderLength)
        {
            throw new DnsFormatException("Record counts do not fit the message.");
        }

        var offset = HeaderLength;
        var questions = new List<DnsQuestion>(questionCount);
        for (var i = 0; i < questionCount; i++)
        {
            var name = ReadName(message, ref offset);
            var fixedPart = Slice(message, offset, 4);
            offset += 4;
            var rawClass = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[2..]);
            questions.Add(new DnsQuestion(name, BinaryPrimitives.ReadUInt16BigEndian(fixedPart), (ushort)(rawClass & 0x7FFF), (rawClass & 0x8000) != 0));
        }

        var answers = ReadRecords(message, ref offset, answerCount);
        ReadRecords(message, ref offset, authorityCount);
        var additionals = ReadRecords(message, ref offset, additionalCount);
        return new DnsMessage
        {
            Id = id,
            Flags = flags,
            IsResponse = (flags & 0x8000) != 0,
            Questions = questions,
            Answers = answers,
            Additionals = additionals,
        };
    }

    /// <summary>Like <see cref="Parse"/>, without the exception.</summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out DnsMessage? result)
    {
        try
        {
            result = Parse(message);
            return true;
        }
        catch (DnsFormatException)
        {
            result = null;
            return false;
        }
    }

    /// <summary>
    /// Writes an mDNS query (id 0, no flags, RFC 6762 §18) asking <paramref name="types"/> for one name,
    /// each question with the QU bit when <paramref name="unicastResponse"/>; returns the length.
    /// </summary>
    /// <exception cref="ArgumentException">A name that is not valid labels, or a buffer too small.</exception>
    public static int WriteQuery(Span<byte> destination, string name, ReadOnlySpan<DnsRecordType> types, bool unicastResponse)
    {
        ArgumentNullException.ThrowIfNull(name);
        var encodedName = EncodeName(name);
        var length = HeaderLength + (types.Length * (encodedName.Length + 4));
        if (destination.Length < length)
        {
            throw new ArgumentException("The buffer is too small for the query.", nameof(destination));
        }

        destination[..HeaderLength].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)types.Length);
        var offset = HeaderLength;
        foreach (var type in types)
        {
            encodedName.CopyTo(destination[offset..]);
            offset += encodedName.Length;
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], (ushort)type);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], (ushort)(1 | (unicastResponse ? 0x8000 : 0)));
            offset += 4;
        }

        return offset;
    }

    /// <summary>Writes a response with one A or AAAA answer per address (for tests and responders); returns the length.</summary>
    public static int WriteAddressResponse(Span<byte> destination, string name, IEnumerable<IPAddress> addresses, uint timeToLive)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var encodedName = EncodeName(name);
        var list = addresses.ToList();
        var length = HeaderLength + list.Sum(a => encodedName.Length + 10 + a.GetAddressBytes().Length);
        if (destination.Length < length)
        {
            throw new ArgumentException("The buffer is too small for the response.", nameof(destination));
        }

        destination[..HeaderLength].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], 0x8400); // QR, AA
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], (ushort)list.Count);
        var offset = HeaderLength;
        foreach (var address in list)
        {
            var bytes = address.GetAddressBytes();
            encodedName.CopyTo(destination[offset..]);
            offset += encodedName.Length;
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], (ushort)(bytes.Length == 4 ? DnsRecordType.A : DnsRecordType.Aaaa));
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], 0x8001); // cache-flush, IN
            BinaryPrimitives.WriteUInt32BigEndian(destination[(offset + 4)..], timeToLive);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 8)..], (ushort)bytes.Length);
            bytes.CopyTo(destination[(offset + 10)..]);
            offset += 10 + bytes.Length;
        }

        return offset;
    }

    /// <summary>A name in wire form: length-prefixed labels of 1–63 bytes, a zero byte, at most 255 bytes.</summary>
    /// <exception cref="ArgumentException">An empty or oversized label, or a name over 255 bytes.</exception>
    public static byte[] EncodeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var output = new List<byte>(name.Length + 2);
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            var bytes = Encoding.UTF8.GetBytes(label);
            if (bytes.Length is 0 or > 63)
            {
                throw new ArgumentException("DNS labels have 1 to 63 bytes.", nameof(name));
            }

            output.Add((byte)bytes.Length);
            output.AddRange(bytes);
        }

        output.Add(0);
        if (output.Count > MaxNameLength)
        {
            throw new ArgumentException("DNS names have at most 255 bytes.", nameof(name));
        }

        return [.. output];
    }

    private static List<DnsResourceRecord> ReadRecords(ReadOnlySpan<byte> message, ref int offset, int count)
    {
        var records = new List<DnsResourceRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var name = ReadName(message, ref offset);
            var fixedPart = Slice(message, offset, 10);
            offset += 10;
            var rawClass = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[2..]);
            int dataLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[8..]);
            var data = Slice(message, offset, dataLength).ToArray();
            offset += dataLength;
            records.Add(new DnsResourceRecord(name, BinaryPrimitives.ReadUInt16BigEndian(fixedPart), (ushort)(rawClass & 0x7FFF),
                (rawClass & 0x8000) != 0, BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]), data));
        }

        return records;
    }

    // RFC 1035 §4.1.4: labels, ending in a zero byte or a pointer to an earlier name. Each pointer must
    // point before the start of the name part that holds it, so following pointers always moves
    // backwards and ends; the total length is bounded like a real name.
    private static string ReadName(ReadOnlySpan<byte> message, ref int offset)
    {
        var builder = new StringBuilder();
        var position = offset;
        var end = -1;
        var limit = offset; // pointers must go strictly below this
        var wireLength = 1;
        while (true)
        {
            if (position >= message.Length)
            {
                throw new DnsFormatException("A name runs past the end of the message.");
            }

            var length = message[position];
            switch (length & 0xC0)
            {
                case 0x00:
                    if (length == 0)
                    {
                        offset = end >= 0 ? end : position + 1;
                        return builder.ToString();
                    }

                    wireLength += length + 1;
                    if (wireLength > MaxNameLength)
                    {
                        throw new DnsFormatException("A name is longer than 255 bytes.");
                    }

                    var label = Slice(message, position + 1, length);
                    if (builder.Length > 0)
                    {
                        builder.Append('.');
                    }

                    builder.Append(Encoding.UTF8.GetString(label));
                    position += length + 1;
                    break;
                case 0xC0:
                    if (position + 1 >= message.Length)
                    {
                        throw new DnsFormatException("A compression pointer is cut off.");
                    }

                    var target = ((length & 0x3F) << 8) | message[position + 1];
                    if (target >= limit)
                    {
                        throw new DnsFormatException("A compression pointer does not point backwards.");
                    }

                    if (end < 0)
                    {
                        end = position + 2;
                    }

                    limit = target;
                    position = target;
                    break;
                default:
                    throw new DnsFormatException("Unsupported label type.");
            }
        }
    }

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> message, int offset, int length)
    {
        if (offset < 0 || length < 0 || offset > message.Length - length)
        {
            throw new DnsFormatException("A field runs past the end of the message.");
        }

        return message.Slice(offset, length);
    }
}
