using System.Net;
using System.Text;
using PeerNet.Stun;
using static PeerNet.Tests.Stun.StunTestData;

namespace PeerNet.Tests.Stun;

/// <summary>The test vectors of RFC 5769 (and RFC 8489 Appendix B.1): parse, verify, re-encode.</summary>
public class Rfc5769VectorTests
{
    [Fact]
    public void Sample_request_parses_and_verifies()
    {
        Assert.True(StunMessageReader.TryParse(SampleRequest, out var message, out var error), error.Describe());
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(StunClass.Request, message.Class);
        Assert.Equal(StunTransactionId.FromBytes(SampleTransactionId), message.TransactionId);
        Assert.True(message.TryGetSoftware(out var software));
        Assert.Equal("STUN test client", Encoding.UTF8.GetString(software));
        Assert.True(message.TryGetPriority(out var priority));
        Assert.Equal(0x6e0001ffu, priority);
        Assert.True(message.TryGetIceControlled(out var tieBreaker));
        Assert.Equal(0x932ff9b151263b36ul, tieBreaker);
        Assert.True(message.TryGetUsername(out var username));
        Assert.Equal("evtj:h6vY", Encoding.UTF8.GetString(username));
        Assert.True(message.HasFingerprint);
        Assert.True(message.HasMessageIntegrity);
        Assert.False(message.HasMessageIntegritySha256);

        var key = StunCredentials.ComputeShortTermKey(ShortTermPassword);
        Assert.True(message.VerifyMessageIntegrity(key));
        Assert.True(message.TryVerifyIntegrity(key, out error));
        Assert.Equal(StunParseError.None, error);
        Assert.False(message.VerifyMessageIntegrity(Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBu")));
    }

    [Fact]
    public void Sample_request_is_reencoded_byte_for_byte()
    {
        var buffer = new byte[200];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.FromBytes(SampleTransactionId));
        Assert.True(writer.AddSoftware("STUN test client"));
        Assert.True(writer.AddPriority(0x6e0001ff));
        Assert.True(writer.AddIceControlled(0x932ff9b151263b36));
        Assert.True(writer.AddUsername("evtj:h6vY"));

        // The RFC pads USERNAME with spaces; padding is covered by the HMAC and CRC, so copy it.
        buffer.AsSpan(writer.Length - 3, 3).Fill(0x20);
        Assert.True(writer.AddMessageIntegrity(StunCredentials.ComputeShortTermKey(ShortTermPassword)));
        Assert.True(writer.AddFingerprint());
        Assert.True(writer.TryGetMessage(out var bytes));
        Assert.Equal(SampleRequest, bytes.ToArray());
    }

    [Fact]
    public void Sample_IPv4_response_parses_verifies_and_reencodes()
    {
        Assert.True(StunMessageReader.TryParse(SampleIPv4Response, out var message, out var error), error.Describe());
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(StunClass.SuccessResponse, message.Class);
        Assert.True(message.TryGetSoftware(out var software));
        Assert.Equal("test vector", Encoding.UTF8.GetString(software));
        Assert.True(message.TryGetXorMappedAddress(out var mapped));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), mapped.ToIPEndPoint());
        Assert.True(message.VerifyMessageIntegrity(Encoding.UTF8.GetBytes(ShortTermPassword)));
        Assert.True(message.HasFingerprint);

        Assert.Equal(SampleIPv4Response, EncodeResponse(mapped));
    }

    [Fact]
    public void Sample_IPv6_response_parses_verifies_and_reencodes()
    {
        Assert.True(StunMessageReader.TryParse(SampleIPv6Response, out var message, out var error), error.Describe());
        Assert.True(message.TryGetXorMappedAddress(out var mapped));
        Assert.Equal(StunAddressFamily.IPv6, mapped.Family);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853), mapped.ToIPEndPoint());
        Assert.True(message.VerifyMessageIntegrity(Encoding.UTF8.GetBytes(ShortTermPassword)));

        Assert.Equal(SampleIPv6Response, EncodeResponse(mapped));
    }

    [Fact]
    public void Long_term_request_parses_verifies_and_reencodes()
    {
        Assert.True(StunMessageReader.TryParse(SampleLongTermRequest, out var message, out var error), error.Describe());
        Assert.Equal(StunMethod.Binding, message.Method);
        Assert.Equal(StunClass.Request, message.Class);
        Assert.True(message.TryGetUsername(out var username));
        Assert.Equal(LongTermUsername, Encoding.UTF8.GetString(username));
        Assert.True(message.TryGetNonce(out var nonce));
        Assert.Equal(LongTermNonce, Encoding.UTF8.GetString(nonce));
        Assert.True(message.TryGetRealm(out var realm));
        Assert.Equal(LongTermRealm, Encoding.UTF8.GetString(realm));
        Assert.False(message.HasFingerprint);

        // The password is given before SASLprep; the key is MD5(username:realm:"TheMatrIX").
        Assert.Equal("TheMatrIX", SaslPrep.Prepare(LongTermPassword));
        var key = StunCredentials.ComputeLongTermKey(LongTermUsername, LongTermRealm, LongTermPassword);
        Assert.Equal(key, StunCredentials.ComputeLongTermKey(LongTermUsername, LongTermRealm, "TheMatrIX"));
        Assert.True(message.VerifyMessageIntegrity(key));
        Assert.False(message.VerifyMessageIntegrity(StunCredentials.ComputeLongTermKey(LongTermUsername, LongTermRealm, "TheMatrix")));

        var buffer = new byte[200];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.FromBytes(LongTermTransactionId));
        writer.AddUsername(LongTermUsername);
        writer.AddNonce(LongTermNonce);
        writer.AddRealm(LongTermRealm);
        writer.AddMessageIntegrity(key);
        Assert.True(writer.TryGetMessage(out var bytes));
        Assert.Equal(SampleLongTermRequest, bytes.ToArray());
    }

    [Fact]
    public void Rfc8489_sha256_request_parses_verifies_and_reencodes()
    {
        Assert.True(StunMessageReader.TryParse(Rfc8489SampleRequest, out var message, out var error), error.Describe());
        Assert.True(message.TryGetUserHash(out var userHash));
        Assert.Equal(StunCredentials.ComputeUserHash(LongTermUsername, LongTermRealm), userHash.ToArray());
        Assert.True(message.TryGetPasswordAlgorithm(out var algorithm, out var parameters));
        Assert.Equal(StunPasswordAlgorithm.Sha256, algorithm);
        Assert.True(parameters.IsEmpty);
        Assert.True(message.HasMessageIntegritySha256);
        Assert.False(message.HasMessageIntegrity);

        var key = StunCredentials.ComputeLongTermKey(LongTermUsername, LongTermRealm, LongTermPassword, StunPasswordAlgorithm.Sha256);
        Assert.Equal(32, key.Length);
        Assert.True(message.VerifyMessageIntegritySha256(key));
        Assert.True(message.TryVerifyIntegrity(key, out _));
        Assert.False(message.VerifyMessageIntegrity(key));

        var buffer = new byte[300];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.FromBytes(LongTermTransactionId));
        writer.AddUserHash(StunCredentials.ComputeUserHash(LongTermUsername, LongTermRealm));
        writer.AddNonce("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA");
        writer.AddRealm(LongTermRealm);
        writer.AddPasswordAlgorithm(StunPasswordAlgorithm.Sha256);
        writer.AddMessageIntegritySha256(key);
        Assert.True(writer.TryGetMessage(out var bytes));
        Assert.Equal(Rfc8489SampleRequest, bytes.ToArray());
    }

    private static byte[] EncodeResponse(StunAddress mapped)
    {
        var buffer = new byte[200];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.FromBytes(SampleTransactionId));
        writer.AddSoftware("test vector");
        buffer[writer.Length - 1] = 0x20; // the RFC pads SOFTWARE with a space
        writer.AddXorMappedAddress(mapped);
        writer.AddMessageIntegrity(Encoding.UTF8.GetBytes(ShortTermPassword));
        writer.AddFingerprint();
        Assert.False(writer.HasOverflowed);
        return writer.Message.ToArray();
    }
}
