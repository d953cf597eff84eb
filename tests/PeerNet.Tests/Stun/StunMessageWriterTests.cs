using System.Buffers.Binary;
using System.Net;
using PeerNet.Stun;

namespace PeerNet.Tests.Stun;

public class StunMessageWriterTests
{
    private static readonly StunAddress V4 = StunAddress.FromIPEndPoint(IPEndPoint.Parse("203.0.113.5:9"));

    [Fact]
    public void Header_is_written_and_length_kept_current()
    {
        var buffer = new byte[64];
        var txid = StunTransactionId.NewRandom();
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, txid);
        Assert.Equal(20, w.Length);
        Assert.True(StunMessage.IsStun(w.Message));
        Assert.Equal(0x0001, BinaryPrimitives.ReadUInt16BigEndian(buffer));
        Assert.Equal(StunMessage.MagicCookie, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)));
        Assert.Equal(txid, StunTransactionId.FromBytes(buffer.AsSpan(8)));

        w.AddSoftware("abcde"); // 5 bytes, padded to 8
        Assert.Equal(32, w.Length);
        Assert.Equal(12, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)));
        Assert.Equal([0x61, 0x62, 0x63, 0x64, 0x65, 0, 0, 0], buffer.AsSpan(24, 8).ToArray());
        Assert.True(StunMessage.IsStun(w.Message));
    }

    [Fact]
    public void Running_out_of_space_is_reported_and_sticky()
    {
        var buffer = new byte[20 + 12 + 4];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.NewRandom());
        Assert.True(w.AddXorMappedAddress(V4)); // 12 bytes
        Assert.False(w.AddPriority(1)); // needs 8, 4 left
        Assert.True(w.HasOverflowed);
        Assert.Equal(32, w.Length); // nothing partial was written
        Assert.False(w.AddUseCandidate()); // 4 bytes would fit, but the message is already incomplete
        Assert.False(w.AddFingerprint());
        Assert.False(w.TryGetMessage(out var message));
        Assert.True(message.IsEmpty);

        // Too small even for the header.
        var tiny = new StunMessageWriter(new byte[19], StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        Assert.True(tiny.HasOverflowed);
        Assert.Equal(0, tiny.Length);
        Assert.False(tiny.AddUseCandidate());

        // Exactly enough.
        var exact = new StunMessageWriter(new byte[28], StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        Assert.True(exact.AddFingerprint());
        Assert.True(exact.TryGetMessage(out message));
        Assert.True(StunMessageReader.TryParse(message, out _, out _));
    }

    [Fact]
    public void A_message_cannot_outgrow_the_length_field()
    {
        var buffer = new byte[70_000];
        var w = new StunMessageWriter(buffer, StunMethod.Send, StunClass.Indication, StunTransactionId.NewRandom());
        Assert.False(w.AddData(new byte[0xFFFD]));
        Assert.True(w.HasOverflowed);

        w = new StunMessageWriter(buffer, StunMethod.Send, StunClass.Indication, StunTransactionId.NewRandom());
        Assert.True(w.AddData(new byte[0xFFF8])); // 4 + 0xFFF8 = 0xFFFC, the largest length
        Assert.Equal(StunMessage.MaxLength, w.Length);
        Assert.True(StunMessageReader.TryParse(w.Message, out _, out _));
        Assert.False(w.AddUseCandidate());

        w = new StunMessageWriter(buffer, StunMethod.Send, StunClass.Indication, StunTransactionId.NewRandom());
        Assert.False(w.TryReserveAttribute(StunAttributeType.Data, int.MaxValue, out var value));
        Assert.True(value.IsEmpty);
        Assert.True(w.HasOverflowed);
    }

    [Fact]
    public void Attribute_order_rules_are_enforced()
    {
        Assert.Throws<InvalidOperationException>(() =>
        {
            var x = new StunMessageWriter(new byte[256], StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
            x.AddMessageIntegrity("k"u8);
            x.AddUsername("late");
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            var x = new StunMessageWriter(new byte[256], StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
            x.AddMessageIntegritySha256("k"u8);
            x.AddMessageIntegrity("k"u8);
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            var x = new StunMessageWriter(new byte[256], StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
            x.AddFingerprint();
            x.AddFingerprint();
        });

        // The allowed tail: MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT.
        var ok = new StunMessageWriter(new byte[256], StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        Assert.True(ok.AddMessageIntegrity("k"u8));
        Assert.True(ok.AddMessageIntegritySha256("k"u8));
        Assert.True(ok.AddFingerprint());
    }

    [Fact]
    public void Arguments_outside_the_rfc_ranges_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NewWriter().AddErrorCode(299, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => NewWriter().AddErrorCode(700, "x"u8));
        Assert.Throws<ArgumentException>(() => NewWriter().AddErrorCode(400, new string('x', 764)));
        Assert.Throws<ArgumentException>(() => NewWriter().AddUsername(new string('x', 764)));
        Assert.Throws<ArgumentException>(() => NewWriter().AddRealm(new byte[764]));
        Assert.Throws<ArgumentException>(() => NewWriter().AddAlternateDomain(new string('x', 256)));
        Assert.Throws<ArgumentException>(() => NewWriter().AddUserHash(new byte[31]));
        Assert.Throws<ArgumentOutOfRangeException>(() => NewWriter().AddMessageIntegritySha256("k"u8, 12));
        Assert.Throws<ArgumentOutOfRangeException>(() => NewWriter().AddMessageIntegritySha256("k"u8, 18));
        Assert.Throws<ArgumentOutOfRangeException>(() => NewWriter().AddMessageIntegritySha256("k"u8, 36));
        Assert.Throws<ArgumentException>(() => NewWriter().AddXorMappedAddress(default));
        Assert.Throws<ArgumentOutOfRangeException>(() => NewWriter().TryReserveAttribute(StunAttributeType.Data, -1, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StunMessageWriter(new byte[20], 0x4001, StunTransactionId.NewRandom()));

        // Multi-byte UTF-8 is measured in bytes: 254 two-byte characters are 508 bytes, fine; 382 are 764.
        Assert.True(NewWriter().AddUsername(new string('\u00E9', 254)));
        Assert.Throws<ArgumentException>(() => NewWriter().AddUsername(new string('\u00E9', 382)));
    }

    [Fact]
    public void Writer_passed_by_ref_accepts_stack_spans()
    {
        var buffer = new byte[128];
        var w = new StunMessageWriter(buffer, StunMethod.Send, StunClass.Indication, StunTransactionId.NewRandom());
        AddPeerAndData(ref w);
        Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
        Assert.True(m.TryGetData(out var data));
        Assert.Equal([1, 2, 3], data.ToArray());

        static void AddPeerAndData(ref StunMessageWriter writer)
        {
            Span<byte> payload = stackalloc byte[3];
            payload[0] = 1;
            payload[1] = 2;
            payload[2] = 3;
            writer.AddXorPeerAddress(V4);
            writer.AddData(payload);
        }
    }

    [Fact]
    public void Attributes_after_message_integrity_are_ignored_by_readers()
    {
        // RFC 8489 §14.5: only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may follow MESSAGE-INTEGRITY;
        // anything else is ignored — even if malformed — and does not upset the HMAC.
        var key = "password"u8.ToArray();
        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        w.AddUsername("alice");
        w.AddMessageIntegrity(key);
        var length = w.Length;
        var extra = StunTestData.Hex("80 22 00 04 65 76 69 6c  00 20 00 03 00 01 02 00  7f 00 00 00");
        extra.CopyTo(buffer, length);
        length += extra.Length;
        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(length - 20));

        Assert.True(StunMessageReader.TryParse(buffer.AsSpan(0, length), out var m, out var error), error.Describe());
        Assert.True(m.VerifyMessageIntegrity(key));
        Assert.False(m.TryGetSoftware(out _));
        Assert.False(m.TryGetXorMappedAddress(out _));
        Assert.Equal(0, m.UnknownComprehensionRequiredCount);
        var count = 0;
        foreach (var attribute in m)
        {
            count++;
        }

        Assert.Equal(2, count); // USERNAME, MESSAGE-INTEGRITY
    }

    [Fact]
    public void Integrity_sha256_after_sha1_and_fingerprint_verify_independently()
    {
        var sha1Key = "one"u8.ToArray();
        var sha256Key = "two"u8.ToArray();
        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Refresh, StunClass.Request, StunTransactionId.NewRandom());
        w.AddLifetime(0);
        w.AddMessageIntegrity(sha1Key);
        w.AddMessageIntegritySha256(sha256Key);
        w.AddFingerprint();
        Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
        Assert.True(m.VerifyMessageIntegrity(sha1Key));
        Assert.True(m.VerifyMessageIntegritySha256(sha256Key));
        Assert.False(m.VerifyMessageIntegrity(sha256Key));
        Assert.True(m.TryVerifyIntegrity(sha256Key, out _)); // SHA-256 preferred when present
        Assert.False(m.TryVerifyIntegrity(sha1Key, out var error));
        Assert.Equal(StunParseError.IntegrityMismatch, error);
    }

    [Fact]
    public void Message_integrity_over_large_messages_uses_the_pool_path()
    {
        var key = "k"u8.ToArray();
        var buffer = new byte[5000];
        var w = new StunMessageWriter(buffer, StunMethod.Send, StunClass.Indication, StunTransactionId.NewRandom());
        w.AddData(new byte[3000]);
        w.AddMessageIntegrity(key);
        w.AddMessageIntegritySha256(key);
        w.AddFingerprint();
        Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
        Assert.True(m.VerifyMessageIntegrity(key));
        Assert.True(m.VerifyMessageIntegritySha256(key));
    }

    private static StunMessageWriter NewWriter() =>
        new(new byte[2048], StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
}
