using System.Buffers.Binary;
using System.Text;

namespace PeerNet.Stun;

/// <summary>
/// Writes one STUN message into a caller-provided buffer without allocating: the header first, then
/// attributes in call order (padded to 4 bytes with zeros, RFC 8489 §14), then optionally
/// <see cref="AddMessageIntegrity"/>, <see cref="AddMessageIntegritySha256"/> and
/// <see cref="AddFingerprint"/>. The header length is kept current after every call, so
/// <see cref="Message"/> is always a complete message.
/// </summary>
/// <remarks>
/// <para><b>Running out of space</b> is not an exception: every <c>Add…</c> returns false and writes
/// nothing when the attribute does not fit in the buffer (or would push the message past the 16-bit
/// length), and the writer remembers it in <see cref="HasOverflowed"/>; later calls also return
/// false. Check <see cref="HasOverflowed"/> (or <see cref="TryGetMessage"/>) once at the end.</para>
/// <para><b>Programming errors</b> throw: arguments out of their RFC range (an error code outside
/// 300–699, text longer than the receivers' limit, a USERHASH not 32 bytes...) throw
/// <see cref="ArgumentException"/>, and attributes in an order RFC 8489 §14.5–§14.7 forbids
/// (anything but MESSAGE-INTEGRITY-SHA256 or FINGERPRINT after MESSAGE-INTEGRITY, anything after
/// FINGERPRINT) throw <see cref="InvalidOperationException"/>.</para>
/// <para>This is a mutable ref struct: pass it to helpers by <c>ref</c>.</para>
/// </remarks>
public ref struct StunMessageWriter
{
    private readonly Span<byte> _buffer;
    private int _length;
    private bool _overflowed;
    private Phase _phase;

    /// <summary>Starts a message with a fresh header in <paramref name="buffer"/>.</summary>
    public StunMessageWriter(Span<byte> buffer, StunMethod method, StunClass messageClass, StunTransactionId transactionId)
        : this(buffer, StunMessageType.Encode(method, messageClass), transactionId)
    {
    }

    /// <summary>Starts a message with a raw 14-bit message type.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The type uses the two top bits.</exception>
    public StunMessageWriter(Span<byte> buffer, ushort messageType, StunTransactionId transactionId)
    {
        if ((messageType & 0xC000) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(messageType), "A STUN message type has 14 bits.");
        }

        _buffer = buffer;
        _phase = Phase.Open;
        if (buffer.Length < StunMessage.HeaderLength)
        {
            _overflowed = true;
            _length = 0;
            return;
        }

        BinaryPrimitives.WriteUInt16BigEndian(buffer, messageType);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], StunMessage.MagicCookie);
        transactionId.CopyTo(buffer[8..]);
        _length = StunMessage.HeaderLength;
    }

    private enum Phase : byte
    {
        Open,
        AfterIntegrity,
        AfterIntegritySha256,
        Finished,
    }

    /// <summary>Bytes written so far: the length of the message as it stands.</summary>
    public readonly int Length => _length;

    /// <summary>Whether an attribute did not fit (see the remarks).</summary>
    public readonly bool HasOverflowed => _overflowed;

    /// <summary>The message written so far (empty if the buffer could not even hold the header).</summary>
    public readonly ReadOnlySpan<byte> Message => _buffer[.._length];

    /// <summary>The message, unless something did not fit.</summary>
    public readonly bool TryGetMessage(out ReadOnlySpan<byte> message)
    {
        message = _overflowed ? default : _buffer[.._length];
        return !_overflowed;
    }

    // ---- Generic ----

    /// <summary>Adds an attribute with a raw value (for types this codec has no method for).</summary>
    public bool AddAttribute(StunAttributeType type, scoped ReadOnlySpan<byte> value)
    {
        if (!TryReserveAttribute(type, value.Length, out var destination))
        {
            return false;
        }

        value.CopyTo(destination);
        return true;
    }

    /// <summary>
    /// Adds an attribute of <paramref name="length"/> bytes and returns its value to fill in place —
    /// e.g. to receive a relayed payload straight into a Data indication without a copy. Padding is
    /// already zeroed.
    /// </summary>
    public bool TryReserveAttribute(StunAttributeType type, int length, out Span<byte> value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        CheckOrder(type);
        value = default;
        if (_overflowed)
        {
            return false;
        }

        // Checked before padding so that huge lengths cannot overflow the arithmetic.
        if (length > ushort.MaxValue)
        {
            _overflowed = true;
            return false;
        }

        var total = StunMessage.AttributeHeaderLength + StunMessage.Pad(length);
        if (total > _buffer.Length - _length || _length + total > StunMessage.MaxLength)
        {
            _overflowed = true;
            return false;
        }

        var start = _length;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[start..], (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(start + 2)..], (ushort)length);
        var valueStart = start + StunMessage.AttributeHeaderLength;
        _buffer.Slice(valueStart + length, StunMessage.Pad(length) - length).Clear();
        value = _buffer.Slice(valueStart, length);
        _length = start + total;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[2..], (ushort)(_length - StunMessage.HeaderLength));
        return true;
    }

    // ---- Addresses ----

    /// <summary>XOR-MAPPED-ADDRESS (RFC 8489 §14.2).</summary>
    public bool AddXorMappedAddress(in StunAddress address) => AddXorAddress(StunAttributeType.XorMappedAddress, address);

    /// <summary>MAPPED-ADDRESS (RFC 8489 §14.1), for RFC 3489 clients only.</summary>
    public bool AddMappedAddress(in StunAddress address) => AddAddress(StunAttributeType.MappedAddress, address);

    /// <summary>XOR-PEER-ADDRESS (RFC 8656 §18.3).</summary>
    public bool AddXorPeerAddress(in StunAddress address) => AddXorAddress(StunAttributeType.XorPeerAddress, address);

    /// <summary>XOR-RELAYED-ADDRESS (RFC 8656 §18.5).</summary>
    public bool AddXorRelayedAddress(in StunAddress address) => AddXorAddress(StunAttributeType.XorRelayedAddress, address);

    /// <summary>ALTERNATE-SERVER (RFC 8489 §14.15).</summary>
    public bool AddAlternateServer(in StunAddress address) => AddAddress(StunAttributeType.AlternateServer, address);

    /// <summary>RESPONSE-ORIGIN (RFC 5780 §7.3).</summary>
    public bool AddResponseOrigin(in StunAddress address) => AddAddress(StunAttributeType.ResponseOrigin, address);

    /// <summary>OTHER-ADDRESS (RFC 5780 §7.4).</summary>
    public bool AddOtherAddress(in StunAddress address) => AddAddress(StunAttributeType.OtherAddress, address);

    /// <summary>Any attribute in the XOR address encoding.</summary>
    /// <exception cref="ArgumentException">A <c>default</c> address.</exception>
    public bool AddXorAddress(StunAttributeType type, in StunAddress address)
    {
        if (!TryReserveAttribute(type, MappedAddress.GetLength(address), out var value))
        {
            return false;
        }

        XorAddress.Encode(address, _buffer.Slice(8, StunTransactionId.Length), value);
        return true;
    }

    /// <summary>Any attribute in the plain MAPPED-ADDRESS encoding.</summary>
    /// <exception cref="ArgumentException">A <c>default</c> address.</exception>
    public bool AddAddress(StunAttributeType type, in StunAddress address)
    {
        if (!TryReserveAttribute(type, MappedAddress.GetLength(address), out var value))
        {
            return false;
        }

        MappedAddress.Encode(address, value);
        return true;
    }

    // ---- Text ----

    /// <summary>USERNAME (RFC 8489 §14.3), UTF-8, at most 763 bytes.</summary>
    public bool AddUsername(scoped ReadOnlySpan<byte> utf8) => AddText(StunAttributeType.Username, utf8, StunMessageReader.MaxTextLength);

    /// <summary>USERNAME, encoded to UTF-8 in place.</summary>
    public bool AddUsername(string username) => AddText(StunAttributeType.Username, username, StunMessageReader.MaxTextLength);

    /// <summary>REALM (RFC 8489 §14.9), at most 763 bytes.</summary>
    public bool AddRealm(scoped ReadOnlySpan<byte> utf8) => AddText(StunAttributeType.Realm, utf8, StunMessageReader.MaxTextLength);

    /// <summary>REALM, encoded to UTF-8 in place.</summary>
    public bool AddRealm(string realm) => AddText(StunAttributeType.Realm, realm, StunMessageReader.MaxTextLength);

    /// <summary>NONCE (RFC 8489 §14.10), at most 763 bytes.</summary>
    public bool AddNonce(scoped ReadOnlySpan<byte> nonce) => AddText(StunAttributeType.Nonce, nonce, StunMessageReader.MaxTextLength);

    /// <summary>NONCE, encoded to UTF-8 in place.</summary>
    public bool AddNonce(string nonce) => AddText(StunAttributeType.Nonce, nonce, StunMessageReader.MaxTextLength);

    /// <summary>SOFTWARE (RFC 8489 §14.14), at most 763 bytes.</summary>
    public bool AddSoftware(scoped ReadOnlySpan<byte> utf8) => AddText(StunAttributeType.Software, utf8, StunMessageReader.MaxTextLength);

    /// <summary>SOFTWARE, encoded to UTF-8 in place.</summary>
    public bool AddSoftware(string software) => AddText(StunAttributeType.Software, software, StunMessageReader.MaxTextLength);

    /// <summary>ALTERNATE-DOMAIN (RFC 8489 §14.16), at most 255 bytes.</summary>
    public bool AddAlternateDomain(scoped ReadOnlySpan<byte> ascii) => AddText(StunAttributeType.AlternateDomain, ascii, StunMessageReader.MaxDomainLength);

    /// <summary>ALTERNATE-DOMAIN from a string.</summary>
    public bool AddAlternateDomain(string domain) => AddText(StunAttributeType.AlternateDomain, domain, StunMessageReader.MaxDomainLength);

    // ---- Authentication ----

    /// <summary>USERHASH (RFC 8489 §14.4), see <see cref="StunCredentials.ComputeUserHash(string, string)"/>.</summary>
    /// <exception cref="ArgumentException">Not 32 bytes.</exception>
    public bool AddUserHash(scoped ReadOnlySpan<byte> userHash)
    {
        if (userHash.Length != StunCredentials.UserHashLength)
        {
            throw new ArgumentException("A USERHASH has 32 bytes.", nameof(userHash));
        }

        return AddAttribute(StunAttributeType.UserHash, userHash);
    }

    /// <summary>PASSWORD-ALGORITHM (RFC 8489 §14.12) without parameters.</summary>
    public bool AddPasswordAlgorithm(StunPasswordAlgorithm algorithm)
    {
        if (!TryReserveAttribute(StunAttributeType.PasswordAlgorithm, 4, out var value))
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(value, (ushort)algorithm);
        BinaryPrimitives.WriteUInt16BigEndian(value[2..], 0);
        return true;
    }

    /// <summary>PASSWORD-ALGORITHMS (RFC 8489 §14.11), each algorithm without parameters.</summary>
    public bool AddPasswordAlgorithms(scoped ReadOnlySpan<StunPasswordAlgorithm> algorithms)
    {
        if (!TryReserveAttribute(StunAttributeType.PasswordAlgorithms, 4 * algorithms.Length, out var value))
        {
            return false;
        }

        for (var i = 0; i < algorithms.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(value[(4 * i)..], (ushort)algorithms[i]);
            BinaryPrimitives.WriteUInt16BigEndian(value[((4 * i) + 2)..], 0);
        }

        return true;
    }

    /// <summary>
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5): HMAC-SHA1 under <paramref name="key"/> of everything
    /// written so far, with the header length counting this attribute.
    /// </summary>
    public bool AddMessageIntegrity(scoped ReadOnlySpan<byte> key)
    {
        var covered = _length;
        if (!TryReserveAttribute(StunAttributeType.MessageIntegrity, MessageIntegrity.Sha1Length, out var value))
        {
            return false;
        }

        MessageIntegrity.Compute(key, _buffer[..covered], sha256: false, value);
        return true;
    }

    /// <summary>
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6), truncated to <paramref name="length"/> bytes
    /// (16–32, a multiple of 4; full unless the usage allows truncation).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A length not allowed by §14.6.</exception>
    public bool AddMessageIntegritySha256(scoped ReadOnlySpan<byte> key, int length = MessageIntegrity.Sha256Length)
    {
        if (length is < MessageIntegrity.MinSha256Length or > MessageIntegrity.Sha256Length || (length & 3) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "MESSAGE-INTEGRITY-SHA256 has 16 to 32 bytes, a multiple of 4.");
        }

        var covered = _length;
        if (!TryReserveAttribute(StunAttributeType.MessageIntegritySha256, length, out var value))
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[MessageIntegrity.Sha256Length];
        MessageIntegrity.Compute(key, _buffer[..covered], sha256: true, mac);
        mac[..length].CopyTo(value);
        return true;
    }

    /// <summary>FINGERPRINT (RFC 8489 §14.7), which must be the last attribute.</summary>
    public bool AddFingerprint()
    {
        var covered = _length;
        if (!TryReserveAttribute(StunAttributeType.Fingerprint, 4, out var value))
        {
            return false;
        }

        BinaryPrimitives.WriteUInt32BigEndian(value, Fingerprint.Compute(_buffer[..covered]));
        return true;
    }

    // ---- Errors ----

    /// <summary>ERROR-CODE (RFC 8489 §14.8) with the recommended reason phrase.</summary>
    public bool AddErrorCode(StunErrorCode code) => AddErrorCode((int)code, code.ReasonPhrase());

    /// <summary>ERROR-CODE with a reason phrase (at most 763 UTF-8 bytes).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A code outside 300–699.</exception>
    public bool AddErrorCode(int code, string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var length = CheckTextLength(Encoding.UTF8.GetByteCount(reason), StunMessageReader.MaxTextLength, nameof(reason));
        if (!TryReserveErrorCode(StunAttributeType.ErrorCode, 0, code, length, out var phrase))
        {
            return false;
        }

        Encoding.UTF8.GetBytes(reason, phrase);
        return true;
    }

    /// <summary>ERROR-CODE with a UTF-8 reason phrase.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A code outside 300–699.</exception>
    public bool AddErrorCode(int code, scoped ReadOnlySpan<byte> reasonUtf8)
    {
        CheckTextLength(reasonUtf8.Length, StunMessageReader.MaxTextLength, nameof(reasonUtf8));
        if (!TryReserveErrorCode(StunAttributeType.ErrorCode, 0, code, reasonUtf8.Length, out var phrase))
        {
            return false;
        }

        reasonUtf8.CopyTo(phrase);
        return true;
    }

    /// <summary>UNKNOWN-ATTRIBUTES (RFC 8489 §14.13), for a 420 response.</summary>
    public bool AddUnknownAttributes(scoped ReadOnlySpan<ushort> types)
    {
        if (!TryReserveAttribute(StunAttributeType.UnknownAttributes, 2 * types.Length, out var value))
        {
            return false;
        }

        for (var i = 0; i < types.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(value[(2 * i)..], types[i]);
        }

        return true;
    }

    /// <summary>ADDRESS-ERROR-CODE (RFC 8656 §18.12): why one family of a dual allocation failed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A code outside 300–699.</exception>
    public bool AddAddressErrorCode(StunAddressFamily family, StunErrorCode code)
    {
        var reason = code.ReasonPhrase();
        if (!TryReserveErrorCode(StunAttributeType.AddressErrorCode, (byte)family, (int)code, Encoding.UTF8.GetByteCount(reason), out var phrase))
        {
            return false;
        }

        Encoding.UTF8.GetBytes(reason, phrase);
        return true;
    }

    /// <summary>ICMP (RFC 8656 §18.13): type and code one byte each after two reserved bytes, then the error data.</summary>
    public bool AddIcmp(byte icmpType, byte icmpCode, uint errorData)
    {
        if (!TryReserveAttribute(StunAttributeType.Icmp, 8, out var value))
        {
            return false;
        }

        value[0] = 0;
        value[1] = 0;
        value[2] = icmpType;
        value[3] = icmpCode;
        BinaryPrimitives.WriteUInt32BigEndian(value[4..], errorData);
        return true;
    }

    // ---- ICE (RFC 8445 §16.1) ----

    /// <summary>PRIORITY.</summary>
    public bool AddPriority(uint priority) => AddUInt32(StunAttributeType.Priority, priority);

    /// <summary>USE-CANDIDATE (no value).</summary>
    public bool AddUseCandidate() => AddAttribute(StunAttributeType.UseCandidate, default);

    /// <summary>ICE-CONTROLLED with the agent's tie-breaker.</summary>
    public bool AddIceControlled(ulong tieBreaker) => AddUInt64(StunAttributeType.IceControlled, tieBreaker);

    /// <summary>ICE-CONTROLLING with the agent's tie-breaker.</summary>
    public bool AddIceControlling(ulong tieBreaker) => AddUInt64(StunAttributeType.IceControlling, tieBreaker);

    // ---- TURN (RFC 8656 §18) ----

    /// <summary>CHANNEL-NUMBER (the number is written as given; valid ones are 0x4000–0x4FFF).</summary>
    public bool AddChannelNumber(ushort channelNumber) => AddUInt32(StunAttributeType.ChannelNumber, (uint)channelNumber << 16);

    /// <summary>LIFETIME in seconds.</summary>
    public bool AddLifetime(uint seconds) => AddUInt32(StunAttributeType.Lifetime, seconds);

    /// <summary>DATA: copies <paramref name="data"/> (or reserve it with <see cref="TryReserveAttribute"/>).</summary>
    public bool AddData(scoped ReadOnlySpan<byte> data) => AddAttribute(StunAttributeType.Data, data);

    /// <summary>REQUESTED-ADDRESS-FAMILY.</summary>
    public bool AddRequestedAddressFamily(StunAddressFamily family) => AddUInt32(StunAttributeType.RequestedAddressFamily, (uint)family << 24);

    /// <summary>ADDITIONAL-ADDRESS-FAMILY (only IPv6 is meaningful, RFC 8656 §18.11).</summary>
    public bool AddAdditionalAddressFamily(StunAddressFamily family) => AddUInt32(StunAttributeType.AdditionalAddressFamily, (uint)family << 24);

    /// <summary>REQUESTED-TRANSPORT, e.g. <see cref="StunTransportProtocol.Udp"/>.</summary>
    public bool AddRequestedTransport(byte protocol) => AddUInt32(StunAttributeType.RequestedTransport, (uint)protocol << 24);

    /// <summary>EVEN-PORT (one byte, the R bit asking to reserve the next port).</summary>
    public bool AddEvenPort(bool reserveNextPort)
    {
        if (!TryReserveAttribute(StunAttributeType.EvenPort, 1, out var value))
        {
            return false;
        }

        value[0] = reserveNextPort ? (byte)0x80 : (byte)0;
        return true;
    }

    /// <summary>DONT-FRAGMENT (no value).</summary>
    public bool AddDontFragment() => AddAttribute(StunAttributeType.DontFragment, default);

    /// <summary>RESERVATION-TOKEN, 8 bytes.</summary>
    public bool AddReservationToken(ulong token) => AddUInt64(StunAttributeType.ReservationToken, token);

    // ---- NAT behaviour discovery (RFC 5780 §7) ----

    /// <summary>CHANGE-REQUEST with the "change IP" (A, 0x4) and "change port" (B, 0x2) flags.</summary>
    public bool AddChangeRequest(bool changeIP, bool changePort) =>
        AddUInt32(StunAttributeType.ChangeRequest, (changeIP ? 0x4u : 0) | (changePort ? 0x2u : 0));

    /// <summary>RESPONSE-PORT (the port, then two bytes of padding).</summary>
    public bool AddResponsePort(ushort port) => AddUInt32(StunAttributeType.ResponsePort, (uint)port << 16);

    /// <summary>PADDING of <paramref name="length"/> zero bytes.</summary>
    public bool AddPadding(int length)
    {
        if (!TryReserveAttribute(StunAttributeType.Padding, length, out var value))
        {
            return false;
        }

        value.Clear();
        return true;
    }

    // ---- Helpers ----

    private bool AddUInt32(StunAttributeType type, uint number)
    {
        if (!TryReserveAttribute(type, 4, out var value))
        {
            return false;
        }

        BinaryPrimitives.WriteUInt32BigEndian(value, number);
        return true;
    }

    private bool AddUInt64(StunAttributeType type, ulong number)
    {
        if (!TryReserveAttribute(type, 8, out var value))
        {
            return false;
        }

        BinaryPrimitives.WriteUInt64BigEndian(value, number);
        return true;
    }

    private bool AddText(StunAttributeType type, scoped ReadOnlySpan<byte> utf8, int maxLength)
    {
        CheckTextLength(utf8.Length, maxLength, nameof(utf8));
        return AddAttribute(type, utf8);
    }

    private bool AddText(StunAttributeType type, string text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        var length = CheckTextLength(Encoding.UTF8.GetByteCount(text), maxLength, nameof(text));
        if (!TryReserveAttribute(type, length, out var value))
        {
            return false;
        }

        Encoding.UTF8.GetBytes(text, value);
        return true;
    }

    private static int CheckTextLength(int length, int maxLength, string parameter)
    {
        if (length > maxLength)
        {
            throw new ArgumentException($"At most {maxLength} bytes of UTF-8 are allowed.", parameter);
        }

        return length;
    }

    // ERROR-CODE and ADDRESS-ERROR-CODE: a first byte (zero or the family), a zero byte, the class
    // (hundreds) in the low 3 bits, the number (code modulo 100), then the reason (§14.8).
    private bool TryReserveErrorCode(StunAttributeType type, byte first, int code, int reasonLength, out Span<byte> reason)
    {
        if (code is < 300 or > 699)
        {
            throw new ArgumentOutOfRangeException(nameof(code), "STUN error codes are 300 to 699.");
        }

        reason = default;
        if (!TryReserveAttribute(type, 4 + reasonLength, out var value))
        {
            return false;
        }

        value[0] = first;
        value[1] = 0;
        value[2] = (byte)(code / 100);
        value[3] = (byte)(code % 100);
        reason = value[4..];
        return true;
    }

    // RFC 8489 §14.5–§14.7: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT;
    // after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT; nothing after FINGERPRINT.
    private void CheckOrder(StunAttributeType type)
    {
        var allowed = _phase switch
        {
            Phase.Open => true,
            Phase.AfterIntegrity => type is StunAttributeType.MessageIntegritySha256 or StunAttributeType.Fingerprint,
            Phase.AfterIntegritySha256 => type == StunAttributeType.Fingerprint,
            _ => false,
        };
        if (!allowed)
        {
            throw new InvalidOperationException($"{type} cannot follow the integrity or fingerprint attributes already written.");
        }

        _phase = type switch
        {
            StunAttributeType.MessageIntegrity => Phase.AfterIntegrity,
            StunAttributeType.MessageIntegritySha256 => Phase.AfterIntegritySha256,
            StunAttributeType.Fingerprint => Phase.Finished,
            _ => _phase,
        };
    }
}
