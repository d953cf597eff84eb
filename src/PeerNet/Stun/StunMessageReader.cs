using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerNet.Stun;

/// <summary>
/// A validated, read-only view of one STUN message over the caller's bytes (RFC 8489 §5, §14).
/// Parsing and every getter are allocation-free; hostile bytes never throw — <see cref="TryParse"/>
/// returns false with a <see cref="StunParseError"/>.
/// </summary>
/// <remarks>
/// <para><see cref="TryParse"/> checks the header (top bits, magic cookie, length a multiple of 4 and
/// equal to the bytes given), that every attribute with its padding lies within the message, the
/// shape of every known attribute that counts (fixed sizes, address families, error classes, string
/// limits), that nothing follows FINGERPRINT, and the FINGERPRINT value when present. Padding bytes
/// are not checked: receivers must ignore them (§14).</para>
/// <para>Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT,
/// and after MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are ignored (§14.5, §14.6): they are
/// not validated, enumerated or returned by getters. When an attribute appears more than once,
/// getters return the first (§14).</para>
/// <para>Integrity is not checked by <see cref="TryParse"/>, since the key depends on the USERNAME or
/// USERHASH inside: look those up, then call <see cref="VerifyMessageIntegrity"/>,
/// <see cref="VerifyMessageIntegritySha256"/> or <see cref="TryVerifyIntegrity"/>.</para>
/// </remarks>
public readonly ref struct StunMessageReader
{
    /// <summary>The longest USERNAME, REALM, NONCE, SOFTWARE and reason phrase accepted (RFC 8489 §14.3, §14.8–§14.10, §14.14).</summary>
    public const int MaxTextLength = 763;

    /// <summary>The longest ALTERNATE-DOMAIN accepted (RFC 8489 §14.16).</summary>
    public const int MaxDomainLength = 255;

    // Above this size the copy needed to verify integrity comes from the array pool, not the stack.
    private const int StackCopyLimit = 1024;

    private readonly ReadOnlySpan<byte> _message;
    private readonly int _integrityOffset;
    private readonly int _integritySha256Offset;
    private readonly int _fingerprintOffset;
    private readonly int _unknownCount;

    private StunMessageReader(ReadOnlySpan<byte> message, int integrityOffset, int integritySha256Offset, int fingerprintOffset, int unknownCount)
    {
        _message = message;
        _integrityOffset = integrityOffset;
        _integritySha256Offset = integritySha256Offset;
        _fingerprintOffset = fingerprintOffset;
        _unknownCount = unknownCount;
    }

    /// <summary>The whole message (header and attributes).</summary>
    public ReadOnlySpan<byte> Bytes => _message;

    /// <summary>The total length in bytes, header included.</summary>
    public int Length => _message.Length;

    /// <summary>The raw 14-bit message type.</summary>
    public ushort MessageType => BinaryPrimitives.ReadUInt16BigEndian(_message);

    /// <summary>The method.</summary>
    public StunMethod Method => StunMessageType.GetMethod(MessageType);

    /// <summary>The class.</summary>
    public StunClass Class => StunMessageType.GetClass(MessageType);

    /// <summary>The transaction id.</summary>
    public StunTransactionId TransactionId => StunTransactionId.FromBytes(TransactionIdBytes);

    /// <summary>The 12 transaction id bytes.</summary>
    public ReadOnlySpan<byte> TransactionIdBytes => _message.Slice(8, StunTransactionId.Length);

    /// <summary>Whether a MESSAGE-INTEGRITY attribute counts (it is not after MESSAGE-INTEGRITY-SHA256).</summary>
    public bool HasMessageIntegrity => _integrityOffset >= 0;

    /// <summary>Whether a MESSAGE-INTEGRITY-SHA256 attribute counts.</summary>
    public bool HasMessageIntegritySha256 => _integritySha256Offset >= 0;

    /// <summary>Whether a FINGERPRINT attribute is present (it was verified by <see cref="TryParse"/>).</summary>
    public bool HasFingerprint => _fingerprintOffset >= 0;

    /// <summary>
    /// How many counted attributes are comprehension-required (type &lt; 0x8000) and unknown to this
    /// codec. A server answers such a request with 420 and UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1.1);
    /// list them with <see cref="CopyUnknownComprehensionRequired"/>.
    /// </summary>
    public int UnknownComprehensionRequiredCount => _unknownCount;

    /// <summary>Validates <paramref name="message"/>, which must be exactly one STUN message (a whole UDP datagram, or one frame cut from a TCP stream).</summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out StunMessageReader reader, out StunParseError error)
    {
        reader = default;
        error = Validate(message, out var integrity, out var integritySha256, out var fingerprint, out var unknown);
        if (error != StunParseError.None)
        {
            return false;
        }

        reader = new StunMessageReader(message, integrity, integritySha256, fingerprint, unknown);
        return true;
    }

    /// <summary>The attributes that count, in order (see the remarks on ignored attributes).</summary>
    public StunAttributeEnumerator GetEnumerator() => new(_message);

    /// <summary>The value of the first counted attribute of <paramref name="type"/>.</summary>
    public bool TryGetAttribute(StunAttributeType type, out ReadOnlySpan<byte> value)
    {
        foreach (var attribute in this)
        {
            if (attribute.Type == type)
            {
                value = attribute.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Whether a counted attribute of <paramref name="type"/> is present.</summary>
    public bool Contains(StunAttributeType type) => TryGetAttribute(type, out _);

    /// <summary>
    /// Writes the distinct unknown comprehension-required attribute types, in order of appearance, for
    /// an UNKNOWN-ATTRIBUTES response; returns how many were written.
    /// </summary>
    public int CopyUnknownComprehensionRequired(Span<ushort> destination)
    {
        var count = 0;
        if (_unknownCount == 0)
        {
            return 0;
        }

        foreach (var attribute in this)
        {
            if (count == destination.Length)
            {
                break;
            }

            var type = attribute.Type;
            if (type.IsComprehensionRequired() && !type.IsKnown() && !destination[..count].Contains((ushort)type))
            {
                destination[count++] = (ushort)type;
            }
        }

        return count;
    }

    // ---- Addresses ----

    /// <summary>XOR-MAPPED-ADDRESS (RFC 8489 §14.2).</summary>
    public bool TryGetXorMappedAddress(out StunAddress address) => TryGetXorAddress(StunAttributeType.XorMappedAddress, out address);

    /// <summary>MAPPED-ADDRESS (RFC 8489 §14.1), from RFC 3489-era servers.</summary>
    public bool TryGetMappedAddress(out StunAddress address) => TryGetPlainAddress(StunAttributeType.MappedAddress, out address);

    /// <summary>XOR-PEER-ADDRESS (RFC 8656 §18.3), the first one (CreatePermission may carry several; enumerate for the rest).</summary>
    public bool TryGetXorPeerAddress(out StunAddress address) => TryGetXorAddress(StunAttributeType.XorPeerAddress, out address);

    /// <summary>XOR-RELAYED-ADDRESS (RFC 8656 §18.5), the first one.</summary>
    public bool TryGetXorRelayedAddress(out StunAddress address) => TryGetXorAddress(StunAttributeType.XorRelayedAddress, out address);

    /// <summary>ALTERNATE-SERVER (RFC 8489 §14.15).</summary>
    public bool TryGetAlternateServer(out StunAddress address) => TryGetPlainAddress(StunAttributeType.AlternateServer, out address);

    /// <summary>RESPONSE-ORIGIN (RFC 5780 §7.3).</summary>
    public bool TryGetResponseOrigin(out StunAddress address) => TryGetPlainAddress(StunAttributeType.ResponseOrigin, out address);

    /// <summary>OTHER-ADDRESS (RFC 5780 §7.4).</summary>
    public bool TryGetOtherAddress(out StunAddress address) => TryGetPlainAddress(StunAttributeType.OtherAddress, out address);

    /// <summary>Decodes any XOR-encoded address attribute value of this message (e.g. each XOR-PEER-ADDRESS while enumerating).</summary>
    public bool TryDecodeXorAddress(ReadOnlySpan<byte> value, out StunAddress address) =>
        XorAddress.TryDecode(value, TransactionIdBytes, out address);

    private bool TryGetXorAddress(StunAttributeType type, out StunAddress address)
    {
        if (TryGetAttribute(type, out var value))
        {
            return XorAddress.TryDecode(value, TransactionIdBytes, out address);
        }

        address = default;
        return false;
    }

    private bool TryGetPlainAddress(StunAttributeType type, out StunAddress address)
    {
        if (TryGetAttribute(type, out var value))
        {
            return MappedAddress.TryDecode(value, out address);
        }

        address = default;
        return false;
    }

    // ---- Text and opaque values (UTF-8 bytes, undecoded) ----

    /// <summary>USERNAME (RFC 8489 §14.3), UTF-8.</summary>
    public bool TryGetUsername(out ReadOnlySpan<byte> utf8) => TryGetAttribute(StunAttributeType.Username, out utf8);

    /// <summary>USERHASH (RFC 8489 §14.4), 32 bytes.</summary>
    public bool TryGetUserHash(out ReadOnlySpan<byte> userHash) => TryGetAttribute(StunAttributeType.UserHash, out userHash);

    /// <summary>REALM (RFC 8489 §14.9), UTF-8.</summary>
    public bool TryGetRealm(out ReadOnlySpan<byte> utf8) => TryGetAttribute(StunAttributeType.Realm, out utf8);

    /// <summary>NONCE (RFC 8489 §14.10).</summary>
    public bool TryGetNonce(out ReadOnlySpan<byte> nonce) => TryGetAttribute(StunAttributeType.Nonce, out nonce);

    /// <summary>SOFTWARE (RFC 8489 §14.14), UTF-8.</summary>
    public bool TryGetSoftware(out ReadOnlySpan<byte> utf8) => TryGetAttribute(StunAttributeType.Software, out utf8);

    /// <summary>ALTERNATE-DOMAIN (RFC 8489 §14.16), ASCII.</summary>
    public bool TryGetAlternateDomain(out ReadOnlySpan<byte> ascii) => TryGetAttribute(StunAttributeType.AlternateDomain, out ascii);

    /// <summary>DATA (RFC 8656 §18.4).</summary>
    public bool TryGetData(out ReadOnlySpan<byte> data) => TryGetAttribute(StunAttributeType.Data, out data);

    /// <summary>PADDING (RFC 5780 §7.6).</summary>
    public bool TryGetPadding(out ReadOnlySpan<byte> padding) => TryGetAttribute(StunAttributeType.Padding, out padding);

    // ---- Errors ----

    /// <summary>ERROR-CODE (RFC 8489 §14.8): the code (300–699) and the UTF-8 reason phrase.</summary>
    public bool TryGetErrorCode(out int code, out ReadOnlySpan<byte> reasonUtf8)
    {
        if (TryGetAttribute(StunAttributeType.ErrorCode, out var value))
        {
            code = ReadErrorCode(value);
            reasonUtf8 = value[4..];
            return true;
        }

        code = 0;
        reasonUtf8 = default;
        return false;
    }

    /// <summary>UNKNOWN-ATTRIBUTES (RFC 8489 §14.13): copies up to <c>destination.Length</c> types; <paramref name="count"/> is how many were copied.</summary>
    public bool TryGetUnknownAttributes(Span<ushort> destination, out int count)
    {
        count = 0;
        if (!TryGetAttribute(StunAttributeType.UnknownAttributes, out var value))
        {
            return false;
        }

        while (value.Length >= 2 && count < destination.Length)
        {
            destination[count++] = BinaryPrimitives.ReadUInt16BigEndian(value);
            value = value[2..];
        }

        return true;
    }

    /// <summary>ADDRESS-ERROR-CODE (RFC 8656 §18.12): the family that failed, the code (440 or 508) and the reason.</summary>
    public bool TryGetAddressErrorCode(out StunAddressFamily family, out int code, out ReadOnlySpan<byte> reasonUtf8)
    {
        if (TryGetAttribute(StunAttributeType.AddressErrorCode, out var value))
        {
            family = (StunAddressFamily)value[0];
            code = ReadErrorCode(value);
            reasonUtf8 = value[4..];
            return true;
        }

        family = default;
        code = 0;
        reasonUtf8 = default;
        return false;
    }

    /// <summary>ICMP (RFC 8656 §18.13): the ICMP type and code of a dropped packet, and its error data (the next-hop MTU for "packet too big").</summary>
    public bool TryGetIcmp(out byte icmpType, out byte icmpCode, out uint errorData)
    {
        if (TryGetAttribute(StunAttributeType.Icmp, out var value))
        {
            icmpType = value[2];
            icmpCode = value[3];
            errorData = BinaryPrimitives.ReadUInt32BigEndian(value[4..]);
            return true;
        }

        icmpType = 0;
        icmpCode = 0;
        errorData = 0;
        return false;
    }

    // ---- Authentication ----

    /// <summary>PASSWORD-ALGORITHM (RFC 8489 §14.12): the algorithm and its parameters.</summary>
    public bool TryGetPasswordAlgorithm(out StunPasswordAlgorithm algorithm, out ReadOnlySpan<byte> parameters)
    {
        if (TryGetAttribute(StunAttributeType.PasswordAlgorithm, out var value))
        {
            algorithm = (StunPasswordAlgorithm)BinaryPrimitives.ReadUInt16BigEndian(value);
            parameters = value.Slice(4, BinaryPrimitives.ReadUInt16BigEndian(value[2..]));
            return true;
        }

        algorithm = default;
        parameters = default;
        return false;
    }

    /// <summary>PASSWORD-ALGORITHMS (RFC 8489 §14.11) as a list to enumerate; compare the raw bytes from <see cref="TryGetAttribute"/> for the §9.2.4 downgrade check.</summary>
    public bool TryGetPasswordAlgorithms(out StunPasswordAlgorithmList algorithms)
    {
        if (TryGetAttribute(StunAttributeType.PasswordAlgorithms, out var value))
        {
            algorithms = new StunPasswordAlgorithmList(value);
            return true;
        }

        algorithms = default;
        return false;
    }

    // ---- ICE (RFC 8445 §16.1) ----

    /// <summary>PRIORITY.</summary>
    public bool TryGetPriority(out uint priority) => TryGetUInt32(StunAttributeType.Priority, out priority);

    /// <summary>Whether USE-CANDIDATE is present.</summary>
    public bool HasUseCandidate => Contains(StunAttributeType.UseCandidate);

    /// <summary>ICE-CONTROLLED: the sender's tie-breaker.</summary>
    public bool TryGetIceControlled(out ulong tieBreaker) => TryGetUInt64(StunAttributeType.IceControlled, out tieBreaker);

    /// <summary>ICE-CONTROLLING: the sender's tie-breaker.</summary>
    public bool TryGetIceControlling(out ulong tieBreaker) => TryGetUInt64(StunAttributeType.IceControlling, out tieBreaker);

    // ---- TURN (RFC 8656 §18) ----

    /// <summary>CHANNEL-NUMBER (not range-checked here: the server answers 400 for numbers outside 0x4000–0x4FFF).</summary>
    public bool TryGetChannelNumber(out ushort channelNumber)
    {
        if (TryGetAttribute(StunAttributeType.ChannelNumber, out var value))
        {
            channelNumber = BinaryPrimitives.ReadUInt16BigEndian(value);
            return true;
        }

        channelNumber = 0;
        return false;
    }

    /// <summary>LIFETIME in seconds.</summary>
    public bool TryGetLifetime(out uint seconds) => TryGetUInt32(StunAttributeType.Lifetime, out seconds);

    /// <summary>REQUESTED-ADDRESS-FAMILY (the value is not checked: the server answers 440 to families it does not support).</summary>
    public bool TryGetRequestedAddressFamily(out StunAddressFamily family) => TryGetFamily(StunAttributeType.RequestedAddressFamily, out family);

    /// <summary>ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11).</summary>
    public bool TryGetAdditionalAddressFamily(out StunAddressFamily family) => TryGetFamily(StunAttributeType.AdditionalAddressFamily, out family);

    /// <summary>REQUESTED-TRANSPORT: the protocol number (<see cref="StunTransportProtocol.Udp"/> is 17).</summary>
    public bool TryGetRequestedTransport(out byte protocol)
    {
        if (TryGetAttribute(StunAttributeType.RequestedTransport, out var value))
        {
            protocol = value[0];
            return true;
        }

        protocol = 0;
        return false;
    }

    /// <summary>EVEN-PORT: whether the R bit asks to reserve the next port too.</summary>
    public bool TryGetEvenPort(out bool reserveNextPort)
    {
        if (TryGetAttribute(StunAttributeType.EvenPort, out var value))
        {
            reserveNextPort = (value[0] & 0x80) != 0;
            return true;
        }

        reserveNextPort = false;
        return false;
    }

    /// <summary>Whether DONT-FRAGMENT is present.</summary>
    public bool HasDontFragment => Contains(StunAttributeType.DontFragment);

    /// <summary>RESERVATION-TOKEN, 8 opaque bytes read as a big-endian integer.</summary>
    public bool TryGetReservationToken(out ulong token) => TryGetUInt64(StunAttributeType.ReservationToken, out token);

    // ---- NAT behaviour discovery (RFC 5780 §7) ----

    /// <summary>CHANGE-REQUEST: the "change IP" (A) and "change port" (B) flags.</summary>
    public bool TryGetChangeRequest(out bool changeIP, out bool changePort)
    {
        if (TryGetUInt32(StunAttributeType.ChangeRequest, out var flags))
        {
            changeIP = (flags & 0x4) != 0;
            changePort = (flags & 0x2) != 0;
            return true;
        }

        changeIP = false;
        changePort = false;
        return false;
    }

    /// <summary>RESPONSE-PORT.</summary>
    public bool TryGetResponsePort(out ushort port)
    {
        if (TryGetAttribute(StunAttributeType.ResponsePort, out var value))
        {
            port = BinaryPrimitives.ReadUInt16BigEndian(value);
            return true;
        }

        port = 0;
        return false;
    }

    // ---- Integrity ----

    /// <summary>
    /// Checks MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) under <paramref name="key"/> in constant
    /// time. False when it is absent or does not match.
    /// </summary>
    public bool VerifyMessageIntegrity(ReadOnlySpan<byte> key)
    {
        if (_integrityOffset < 0)
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[MessageIntegrity.Sha1Length];
        ComputeIntegrity(_integrityOffset, MessageIntegrity.Sha1Length, sha256: false, key, mac);
        return CryptographicOperations.FixedTimeEquals(mac, _message.Slice(_integrityOffset + StunMessage.AttributeHeaderLength, MessageIntegrity.Sha1Length));
    }

    /// <summary>
    /// Checks MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, possibly truncated to 16–32 bytes, RFC 8489
    /// §14.6) under <paramref name="key"/> in constant time. False when absent or not matching.
    /// </summary>
    public bool VerifyMessageIntegritySha256(ReadOnlySpan<byte> key)
    {
        if (_integritySha256Offset < 0)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(_message[(_integritySha256Offset + 2)..]);
        Span<byte> mac = stackalloc byte[MessageIntegrity.Sha256Length];
        ComputeIntegrity(_integritySha256Offset, length, sha256: true, key, mac);
        return CryptographicOperations.FixedTimeEquals(mac[..length], _message.Slice(_integritySha256Offset + StunMessage.AttributeHeaderLength, length));
    }

    /// <summary>
    /// Checks MESSAGE-INTEGRITY-SHA256 if present, otherwise MESSAGE-INTEGRITY (the order of RFC 8489
    /// §9.1.3), with one key. <paramref name="error"/> is <see cref="StunParseError.IntegrityMissing"/>
    /// or <see cref="StunParseError.IntegrityMismatch"/> on failure.
    /// </summary>
    public bool TryVerifyIntegrity(ReadOnlySpan<byte> key, out StunParseError error)
    {
        bool ok;
        if (HasMessageIntegritySha256)
        {
            ok = VerifyMessageIntegritySha256(key);
        }
        else if (HasMessageIntegrity)
        {
            ok = VerifyMessageIntegrity(key);
        }
        else
        {
            error = StunParseError.IntegrityMissing;
            return false;
        }

        error = ok ? StunParseError.None : StunParseError.IntegrityMismatch;
        return ok;
    }

    // The HMAC input is the message up to the integrity attribute with the header length adjusted to
    // end at that attribute (§14.5, §14.6). The input span is read-only, so the covered bytes are copied.
    private void ComputeIntegrity(int attributeOffset, int valueLength, bool sha256, ReadOnlySpan<byte> key, Span<byte> mac)
    {
        byte[]? rented = null;
        Span<byte> copy = attributeOffset <= StackCopyLimit
            ? stackalloc byte[StackCopyLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(attributeOffset));
        copy = copy[..attributeOffset];
        _message[..attributeOffset].CopyTo(copy);
        BinaryPrimitives.WriteUInt16BigEndian(copy[2..],
            (ushort)(attributeOffset + StunMessage.AttributeHeaderLength + valueLength - StunMessage.HeaderLength));
        MessageIntegrity.Compute(key, copy, sha256, mac);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // ---- Validation ----

    private static StunParseError Validate(ReadOnlySpan<byte> message, out int integrity, out int integritySha256, out int fingerprint, out int unknown)
    {
        integrity = -1;
        integritySha256 = -1;
        fingerprint = -1;
        unknown = 0;

        if (message.Length < StunMessage.HeaderLength)
        {
            return StunParseError.TooShort;
        }

        if ((message[0] & 0xC0) != 0)
        {
            return StunParseError.NotStun;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(message[4..]) != StunMessage.MagicCookie)
        {
            return StunParseError.BadMagicCookie;
        }

        int declared = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((declared & 3) != 0 || declared + StunMessage.HeaderLength != message.Length)
        {
            return StunParseError.BadLength;
        }

        var phase = StunAttributeEnumerator.IntegrityPhase.BeforeIntegrity;
        var offset = StunMessage.HeaderLength;
        while (offset < message.Length)
        {
            if (fingerprint >= 0)
            {
                return StunParseError.FingerprintNotLast;
            }

            // The length is a multiple of 4 and so is every padded attribute, so at least 4 bytes remain.
            var type = (StunAttributeType)BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
            var valueOffset = offset + StunMessage.AttributeHeaderLength;
            if (StunMessage.Pad(length) > message.Length - valueOffset)
            {
                return StunParseError.AttributeOverrun;
            }

            var value = message.Slice(valueOffset, length);
            var before = phase;
            if (StunAttributeEnumerator.Advance(ref phase, type))
            {
                if (!IsValidValue(type, value))
                {
                    return StunParseError.BadAttributeValue;
                }

                switch (type)
                {
                    case StunAttributeType.MessageIntegrity when before == StunAttributeEnumerator.IntegrityPhase.BeforeIntegrity:
                        integrity = offset;
                        break;
                    case StunAttributeType.MessageIntegritySha256 when before != StunAttributeEnumerator.IntegrityPhase.AfterIntegritySha256:
                        integritySha256 = offset;
                        break;
                    case StunAttributeType.Fingerprint:
                        fingerprint = offset;
                        break;
                    default:
                        if (type.IsComprehensionRequired() && !type.IsKnown())
                        {
                            unknown++;
                        }

                        break;
                }
            }

            offset = valueOffset + StunMessage.Pad(length);
        }

        if (fingerprint >= 0
            && BinaryPrimitives.ReadUInt32BigEndian(message[(fingerprint + StunMessage.AttributeHeaderLength)..]) != Fingerprint.Compute(message[..fingerprint]))
        {
            return StunParseError.FingerprintMismatch;
        }

        return StunParseError.None;
    }

    // Shape checks for the attributes this codec knows; unknown types are accepted as opaque.
    private static bool IsValidValue(StunAttributeType type, ReadOnlySpan<byte> value) => type switch
    {
        StunAttributeType.MappedAddress or StunAttributeType.XorMappedAddress or StunAttributeType.XorPeerAddress
            or StunAttributeType.XorRelayedAddress or StunAttributeType.AlternateServer
            or StunAttributeType.ResponseOrigin or StunAttributeType.OtherAddress => MappedAddress.IsValid(value),
        StunAttributeType.Username or StunAttributeType.Realm or StunAttributeType.Nonce
            or StunAttributeType.Software => value.Length <= MaxTextLength,
        StunAttributeType.AlternateDomain => value.Length <= MaxDomainLength,
        StunAttributeType.UserHash => value.Length == StunCredentials.UserHashLength,
        StunAttributeType.MessageIntegrity => value.Length == MessageIntegrity.Sha1Length,
        StunAttributeType.MessageIntegritySha256 => value.Length is >= MessageIntegrity.MinSha256Length and <= MessageIntegrity.Sha256Length
            && (value.Length & 3) == 0,
        StunAttributeType.Fingerprint => value.Length == 4,
        StunAttributeType.ErrorCode => IsValidErrorCode(value),
        StunAttributeType.AddressErrorCode => IsValidErrorCode(value),
        StunAttributeType.UnknownAttributes => (value.Length & 1) == 0,
        StunAttributeType.PasswordAlgorithm => IsValidPasswordAlgorithm(value),
        StunAttributeType.PasswordAlgorithms => value.Length >= 4 && StunPasswordAlgorithmList.IsValid(value),
        StunAttributeType.Priority or StunAttributeType.ChannelNumber or StunAttributeType.Lifetime
            or StunAttributeType.RequestedAddressFamily or StunAttributeType.AdditionalAddressFamily
            or StunAttributeType.RequestedTransport or StunAttributeType.ChangeRequest
            or StunAttributeType.ResponsePort => value.Length == 4,
        StunAttributeType.IceControlled or StunAttributeType.IceControlling or StunAttributeType.ReservationToken
            or StunAttributeType.Icmp => value.Length == 8,
        StunAttributeType.UseCandidate or StunAttributeType.DontFragment => value.Length == 0,

        // RFC 8656 §18.7 says one byte; accept a full word from implementations that send one.
        StunAttributeType.EvenPort => value.Length is 1 or 4,
        _ => true,
    };

    private static bool IsValidErrorCode(ReadOnlySpan<byte> value)
    {
        if (value.Length < 4 || value.Length - 4 > MaxTextLength)
        {
            return false;
        }

        var errorClass = value[2] & 0x07;
        return errorClass is >= 3 and <= 6 && value[3] < 100;
    }

    private static int ReadErrorCode(ReadOnlySpan<byte> value) => ((value[2] & 0x07) * 100) + value[3];

    private static bool IsValidPasswordAlgorithm(ReadOnlySpan<byte> value)
    {
        if (value.Length < 4)
        {
            return false;
        }

        int parameters = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);

        // The parameters are padded like an attribute; accept the padding inside the value or not.
        return value.Length >= 4 + parameters && value.Length <= 4 + StunMessage.Pad(parameters);
    }

    private bool TryGetUInt32(StunAttributeType type, out uint result)
    {
        if (TryGetAttribute(type, out var value))
        {
            result = BinaryPrimitives.ReadUInt32BigEndian(value);
            return true;
        }

        result = 0;
        return false;
    }

    private bool TryGetUInt64(StunAttributeType type, out ulong result)
    {
        if (TryGetAttribute(type, out var value))
        {
            result = BinaryPrimitives.ReadUInt64BigEndian(value);
            return true;
        }

        result = 0;
        return false;
    }

    private bool TryGetFamily(StunAttributeType type, out StunAddressFamily family)
    {
        if (TryGetAttribute(type, out var value))
        {
            family = (StunAddressFamily)value[0];
            return true;
        }

        family = default;
        return false;
    }
}
