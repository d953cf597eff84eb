using System.Buffers.Binary;
using System.Net;
using PeerNet.Stun;
using static PeerNet.Tests.Stun.StunTestData;

namespace PeerNet.Tests.Stun;

/// <summary>Malformed and hostile bytes: always rejected with a reason, never an exception.</summary>
public class StunHostileInputTests
{
    private static readonly byte[] Key = "key"u8.ToArray();

    public static TheoryData<string> Vectors => new() { "request", "ipv4", "ipv6", "long-term", "rfc8489", "everything" };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Every_truncation_is_rejected(string name)
    {
        var message = Vector(name);
        Assert.True(StunMessageReader.TryParse(message, out _, out _));
        for (var length = 0; length < message.Length; length++)
        {
            Assert.False(StunMessageReader.TryParse(message.AsSpan(0, length), out _, out var error));
            Assert.Equal(length < StunMessage.HeaderLength ? StunParseError.TooShort : StunParseError.BadLength, error);
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Every_truncation_with_a_consistent_length_is_handled(string name)
    {
        // Cut anywhere on a 4-byte boundary and fix the header length: attributes are cut mid-way.
        var message = Vector(name);
        for (var length = StunMessage.HeaderLength; length < message.Length; length += 4)
        {
            var cut = message.AsSpan(0, length).ToArray();
            BinaryPrimitives.WriteUInt16BigEndian(cut.AsSpan(2), (ushort)(length - StunMessage.HeaderLength));
            if (StunMessageReader.TryParse(cut, out var reader, out var error))
            {
                Exercise(reader); // cut on an attribute boundary
            }
            else
            {
                Assert.Contains(error, new[] { StunParseError.AttributeOverrun, StunParseError.BadAttributeValue });
            }
        }
    }

    [Fact]
    public void Header_errors_have_reasons()
    {
        var message = SampleIPv4Response.ToArray();

        var bad = message.ToArray();
        bad[0] |= 0x80;
        Assert.Equal(StunParseError.NotStun, Parse(bad));
        bad = message.ToArray();
        bad[0] |= 0x40;
        Assert.Equal(StunParseError.NotStun, Parse(bad));

        bad = message.ToArray();
        bad[7] ^= 1;
        Assert.Equal(StunParseError.BadMagicCookie, Parse(bad));

        bad = message.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(bad.AsSpan(2), (ushort)(message.Length - 20 - 2)); // not a multiple of 4
        Assert.Equal(StunParseError.BadLength, Parse(bad));
        BinaryPrimitives.WriteUInt16BigEndian(bad.AsSpan(2), (ushort)(message.Length - 20 + 4)); // longer than the datagram
        Assert.Equal(StunParseError.BadLength, Parse(bad));
        BinaryPrimitives.WriteUInt16BigEndian(bad.AsSpan(2), 0xFFFC);
        Assert.Equal(StunParseError.BadLength, Parse(bad));

        // Trailing bytes after the message are not silently ignored.
        Assert.Equal(StunParseError.BadLength, Parse([.. message, 0, 0, 0, 0]));
        Assert.Equal(StunParseError.TooShort, Parse([]));
        Assert.Equal(StunParseError.TooShort, Parse(new byte[19]));
    }

    [Fact]
    public void Attribute_overruns_are_rejected()
    {
        // An attribute claiming more bytes than remain.
        var message = Build(w => w.AddSoftware("abcdefgh"));
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(22), 9);
        Assert.Equal(StunParseError.AttributeOverrun, Parse(message));

        // A huge attribute length.
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(22), 0xFFFF);
        Assert.Equal(StunParseError.AttributeOverrun, Parse(message));

        // The value fits but its padding does not: length 5 with 8 bytes left after the header... of 4.
        message = Build(w => w.AddPriority(1));
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(22), 5);
        Assert.Equal(StunParseError.AttributeOverrun, Parse(message));
    }

    [Fact]
    public void Padding_bytes_are_ignored()
    {
        // RFC 8489 §14: padding must be ignored on receipt (RFC 5769's vectors pad with spaces).
        var message = Build(w => w.AddUsername("abc"));
        message[^1] = 0xFF;
        Assert.Equal(StunParseError.None, Parse(message));
    }

    [Theory]
    [InlineData(StunAttributeType.XorMappedAddress, "00 01 12 34 01 02 03")] // short
    [InlineData(StunAttributeType.XorMappedAddress, "00 02 12 34 01 02 03 04")] // IPv6 family, IPv4 size
    [InlineData(StunAttributeType.MappedAddress, "00 03 12 34 01 02 03 04")] // unknown family
    [InlineData(StunAttributeType.XorPeerAddress, "00 01 12 34 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10")] // IPv4 family, IPv6 size
    [InlineData(StunAttributeType.AlternateServer, "")]
    [InlineData(StunAttributeType.ErrorCode, "00 00 07 00")] // class 7
    [InlineData(StunAttributeType.ErrorCode, "00 00 02 63")] // class 2
    [InlineData(StunAttributeType.ErrorCode, "00 00 04 64")] // number 100
    [InlineData(StunAttributeType.ErrorCode, "00 00 04")]
    [InlineData(StunAttributeType.AddressErrorCode, "02 00 08 00")]
    [InlineData(StunAttributeType.Priority, "00 00 01")]
    [InlineData(StunAttributeType.IceControlling, "00 00 00 00 00 00 00")]
    [InlineData(StunAttributeType.UseCandidate, "00")]
    [InlineData(StunAttributeType.DontFragment, "00 00 00 00")]
    [InlineData(StunAttributeType.Lifetime, "00 00 00 00 00")]
    [InlineData(StunAttributeType.ChannelNumber, "40")]
    [InlineData(StunAttributeType.RequestedTransport, "11 00 00")]
    [InlineData(StunAttributeType.EvenPort, "")]
    [InlineData(StunAttributeType.EvenPort, "80 00")]
    [InlineData(StunAttributeType.ReservationToken, "01 02 03 04")]
    [InlineData(StunAttributeType.Icmp, "00 00 03 04")]
    [InlineData(StunAttributeType.UserHash, "01 02 03 04")]
    [InlineData(StunAttributeType.UnknownAttributes, "00 01 00")]
    [InlineData(StunAttributeType.PasswordAlgorithm, "00 01")]
    [InlineData(StunAttributeType.PasswordAlgorithm, "00 01 00 08 00 00 00 00")] // parameters overrun
    [InlineData(StunAttributeType.PasswordAlgorithms, "00 01 00 00 00 02")]
    [InlineData(StunAttributeType.PasswordAlgorithms, "")]
    [InlineData(StunAttributeType.MessageIntegrity, "00 01 02 03")]
    [InlineData(StunAttributeType.MessageIntegritySha256, "00 01 02 03 04 05 06 07 08 09 0a 0b")] // 12 < 16
    [InlineData(StunAttributeType.MessageIntegritySha256, "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11")] // not a multiple of 4
    [InlineData(StunAttributeType.Fingerprint, "00 00 00 00 00 00 00 00")]
    [InlineData(StunAttributeType.ChangeRequest, "00")]
    [InlineData(StunAttributeType.ResponsePort, "00 00 00 00 00 00")]
    public void Malformed_known_attributes_are_rejected(StunAttributeType type, string hex)
    {
        var message = Build(w => w.AddAttribute(type, Hex(hex)));
        Assert.Equal(StunParseError.BadAttributeValue, Parse(message));
    }

    [Fact]
    public void Text_longer_than_receivers_accept_is_rejected()
    {
        foreach (var type in new[] { StunAttributeType.Username, StunAttributeType.Realm, StunAttributeType.Nonce, StunAttributeType.Software })
        {
            Assert.Equal(StunParseError.None, Parse(Build(w => w.AddAttribute(type, new byte[763]))));
            Assert.Equal(StunParseError.BadAttributeValue, Parse(Build(w => w.AddAttribute(type, new byte[764]))));
        }

        Assert.Equal(StunParseError.BadAttributeValue, Parse(Build(w => w.AddAttribute(StunAttributeType.AlternateDomain, new byte[256]))));
        Assert.Equal(StunParseError.BadAttributeValue, Parse(Build(w => w.AddAttribute(StunAttributeType.ErrorCode, [0, 0, 4, 0, .. new byte[764]]))));
    }

    [Fact]
    public void Fingerprint_must_match()
    {
        var bad = SampleRequest.ToArray();
        bad[^1] ^= 0x01;
        Assert.Equal(StunParseError.FingerprintMismatch, Parse(bad));

        // Any change covered by the CRC is caught, e.g. the padding bytes or the transaction id.
        bad = SampleRequest.ToArray();
        bad[9] ^= 0x80;
        Assert.Equal(StunParseError.FingerprintMismatch, Parse(bad));
    }

    [Fact]
    public void Fingerprint_must_be_last()
    {
        var message = SampleIPv4Response.Concat(Hex("80 22 00 04 61 62 63 64")).ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)(message.Length - 20));
        Assert.Equal(StunParseError.FingerprintNotLast, Parse(message));

        // Even a second FINGERPRINT.
        message = SampleIPv4Response.Concat(SampleIPv4Response[^8..]).ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)(message.Length - 20));
        Assert.Equal(StunParseError.FingerprintNotLast, Parse(message));
    }

    [Fact]
    public void Integrity_with_the_wrong_key_fails()
    {
        Assert.True(StunMessageReader.TryParse(SampleRequest, out var message, out _));
        Assert.False(message.VerifyMessageIntegrity("wrong"u8));
        Assert.False(message.VerifyMessageIntegrity(default));
        Assert.False(message.TryVerifyIntegrity("wrong"u8, out var error));
        Assert.Equal(StunParseError.IntegrityMismatch, error);
        Assert.False(message.VerifyMessageIntegritySha256("VOkJxbRl1RmTxUk/WvJxBt"u8)); // absent

        // A tampered byte before MESSAGE-INTEGRITY (fingerprint recomputed so it still parses).
        var tampered = SampleLongTermRequest.ToArray();
        tampered[30] ^= 1;
        Assert.True(StunMessageReader.TryParse(tampered, out message, out _));
        Assert.False(message.VerifyMessageIntegrity(StunCredentials.ComputeLongTermKey(LongTermUsername, LongTermRealm, LongTermPassword)));
    }

    [Fact]
    public void Random_datagrams_never_throw()
    {
        var random = new Random(20240601);
        var buffer = new byte[700];
        var accepted = 0;
        for (var i = 0; i < 30_000; i++)
        {
            var length = random.Next(0, 600);
            var datagram = buffer.AsSpan(0, length);
            random.NextBytes(datagram);
            if (i % 2 == 0 && length >= 20)
            {
                // Make the header plausible so the attribute walk is exercised.
                length &= ~3;
                datagram = buffer.AsSpan(0, length);
                datagram[0] &= 0x3F;
                BinaryPrimitives.WriteUInt16BigEndian(datagram[2..], (ushort)(length - 20));
                BinaryPrimitives.WriteUInt32BigEndian(datagram[4..], StunMessage.MagicCookie);
                if (i % 4 == 0 && length >= 28)
                {
                    // A first attribute of a known type with a random length.
                    BinaryPrimitives.WriteUInt16BigEndian(datagram[20..], (ushort)KnownTypes[random.Next(KnownTypes.Length)]);
                    BinaryPrimitives.WriteUInt16BigEndian(datagram[22..], (ushort)random.Next(0, 40));
                }
            }

            if (StunMessageReader.TryParse(datagram, out var reader, out var error))
            {
                accepted++;
                Exercise(reader);
            }
            else
            {
                Assert.NotEqual(StunParseError.None, error);
            }
        }

        Assert.True(accepted > 100, $"only {accepted} random datagrams parsed; the walk was not exercised");
    }

    [Fact]
    public void Mutated_valid_messages_never_throw()
    {
        var random = new Random(7);
        var original = Vector("everything");
        var copy = new byte[original.Length];
        for (var i = 0; i < 20_000; i++)
        {
            original.CopyTo(copy, 0);
            var flips = random.Next(1, 4);
            for (var f = 0; f < flips; f++)
            {
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
            }

            if (StunMessageReader.TryParse(copy, out var reader, out var error))
            {
                Exercise(reader);
            }
            else
            {
                Assert.NotEqual(StunParseError.None, error);
            }
        }
    }

    private static readonly StunAttributeType[] KnownTypes = Enum.GetValues<StunAttributeType>();

    // Calls every getter and verifier: none may throw on anything TryParse accepted.
    private static void Exercise(StunMessageReader reader)
    {
        _ = reader.Method;
        _ = reader.Class;
        _ = reader.TransactionId;
        foreach (var attribute in reader)
        {
            _ = attribute.Value.Length;
            if (attribute.Type is StunAttributeType.XorPeerAddress or StunAttributeType.XorMappedAddress)
            {
                Assert.True(reader.TryDecodeXorAddress(attribute.Value, out _));
            }
        }

        reader.TryGetXorMappedAddress(out _);
        reader.TryGetMappedAddress(out _);
        reader.TryGetXorPeerAddress(out _);
        reader.TryGetXorRelayedAddress(out _);
        reader.TryGetAlternateServer(out _);
        reader.TryGetResponseOrigin(out _);
        reader.TryGetOtherAddress(out _);
        reader.TryGetUsername(out _);
        reader.TryGetUserHash(out _);
        reader.TryGetRealm(out _);
        reader.TryGetNonce(out _);
        reader.TryGetSoftware(out _);
        reader.TryGetAlternateDomain(out _);
        reader.TryGetData(out _);
        reader.TryGetPadding(out _);
        reader.TryGetErrorCode(out _, out _);
        reader.TryGetUnknownAttributes(stackalloc ushort[16], out _);
        reader.TryGetAddressErrorCode(out _, out _, out _);
        reader.TryGetIcmp(out _, out _, out _);
        reader.TryGetPasswordAlgorithm(out _, out _);
        if (reader.TryGetPasswordAlgorithms(out var algorithms))
        {
            foreach (var entry in algorithms)
            {
                _ = entry.Parameters.Length;
            }
        }

        reader.TryGetPriority(out _);
        _ = reader.HasUseCandidate;
        reader.TryGetIceControlled(out _);
        reader.TryGetIceControlling(out _);
        reader.TryGetChannelNumber(out _);
        reader.TryGetLifetime(out _);
        reader.TryGetRequestedAddressFamily(out _);
        reader.TryGetAdditionalAddressFamily(out _);
        reader.TryGetRequestedTransport(out _);
        reader.TryGetEvenPort(out _);
        _ = reader.HasDontFragment;
        reader.TryGetReservationToken(out _);
        reader.TryGetChangeRequest(out _, out _);
        reader.TryGetResponsePort(out _);
        reader.CopyUnknownComprehensionRequired(stackalloc ushort[16]);
        reader.VerifyMessageIntegrity(Key);
        reader.VerifyMessageIntegritySha256(Key);
        reader.TryVerifyIntegrity(Key, out _);
    }

    private static StunParseError Parse(byte[] message)
    {
        StunMessageReader.TryParse(message, out _, out var error);
        return error;
    }

    private static byte[] Build(Func<StunMessageWriter, bool> write)
    {
        var buffer = new byte[2048];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        Assert.True(write(writer));

        // The lambda got a copy of the writer: recover the length from the header.
        return buffer.AsSpan(0, StunMessage.HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2))).ToArray();
    }

    private static byte[] Vector(string name) => name switch
    {
        "request" => SampleRequest,
        "ipv4" => SampleIPv4Response,
        "ipv6" => SampleIPv6Response,
        "long-term" => SampleLongTermRequest,
        "rfc8489" => Rfc8489SampleRequest,
        _ => Everything(),
    };

    private static byte[] Everything()
    {
        var buffer = new byte[1024];
        var v4 = StunAddress.FromIPEndPoint(IPEndPoint.Parse("198.51.100.7:4000"));
        var v6 = StunAddress.FromIPEndPoint(IPEndPoint.Parse("[2001:db8::7]:4001"));
        var w = new StunMessageWriter(buffer, StunMethod.Allocate, StunClass.SuccessResponse, StunTransactionId.FromBytes(SampleTransactionId));
        w.AddXorMappedAddress(v4);
        w.AddXorRelayedAddress(v6);
        w.AddXorPeerAddress(v4);
        w.AddMappedAddress(v6);
        w.AddUsername("user");
        w.AddRealm("realm");
        w.AddNonce("nonce-value");
        w.AddErrorCode(StunErrorCode.StaleNonce);
        w.AddUnknownAttributes([1, 2, 3]);
        w.AddPasswordAlgorithms([StunPasswordAlgorithm.Md5, StunPasswordAlgorithm.Sha256]);
        w.AddPasswordAlgorithm(StunPasswordAlgorithm.Md5);
        w.AddLifetime(600);
        w.AddChannelNumber(0x4001);
        w.AddData([1, 2, 3, 4, 5]);
        w.AddEvenPort(true);
        w.AddReservationToken(42);
        w.AddAddressErrorCode(StunAddressFamily.IPv4, StunErrorCode.InsufficientCapacity);
        w.AddIcmp(1, 2, 3);
        w.AddPriority(9);
        w.AddIceControlling(10);
        w.AddUseCandidate();
        w.AddChangeRequest(true, true);
        w.AddResponsePort(9);
        w.AddSoftware("soft");
        w.AddMessageIntegrity(Key);
        w.AddMessageIntegritySha256(Key);
        w.AddFingerprint();
        Assert.False(w.HasOverflowed);
        return w.Message.ToArray();
    }
}
