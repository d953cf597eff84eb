using System.Net;
using System.Text;
using PeerNet.Stun;

namespace PeerNet.Tests.Stun;

/// <summary>Every attribute, written by <see cref="StunMessageWriter"/> and read back by <see cref="StunMessageReader"/>.</summary>
public class StunAttributeRoundTripTests
{
    private static readonly StunAddress V4 = StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.77:54321"));
    private static readonly StunAddress V6 = StunAddress.FromIPEndPoint(IPEndPoint.Parse("[2001:db8::abcd:1]:3478"));
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("secret key");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_attribute_round_trips(bool ipv6)
    {
        var address = ipv6 ? V6 : V4;
        var other = ipv6 ? V4 : V6;
        var txid = StunTransactionId.NewRandom();
        var userHash = StunCredentials.ComputeUserHash("alice", "example.org");
        var payload = Enumerable.Range(0, 37).Select(i => (byte)i).ToArray();

        var buffer = new byte[2048];
        var w = new StunMessageWriter(buffer, StunMethod.Allocate, StunClass.ErrorResponse, txid);
        Assert.True(w.AddXorMappedAddress(address));
        Assert.True(w.AddMappedAddress(other));
        Assert.True(w.AddXorPeerAddress(other));
        Assert.True(w.AddXorRelayedAddress(address));
        Assert.True(w.AddAlternateServer(address));
        Assert.True(w.AddResponseOrigin(other));
        Assert.True(w.AddOtherAddress(address));
        Assert.True(w.AddUsername("alice\u00E9"));
        Assert.True(w.AddUserHash(userHash));
        Assert.True(w.AddRealm("example.org"));
        Assert.True(w.AddNonce("obMatJos2AAABnonce"u8));
        Assert.True(w.AddSoftware("PeerNet 1.0"));
        Assert.True(w.AddAlternateDomain("turn.example.org"));
        Assert.True(w.AddErrorCode(StunErrorCode.AllocationQuotaReached));
        Assert.True(w.AddUnknownAttributes([0x7F01, 0x0002, 0x1234]));
        Assert.True(w.AddAddressErrorCode(StunAddressFamily.IPv6, StunErrorCode.AddressFamilyNotSupported));
        Assert.True(w.AddIcmp(3, 4, 1400));
        Assert.True(w.AddPasswordAlgorithm(StunPasswordAlgorithm.Sha256));
        Assert.True(w.AddPasswordAlgorithms([StunPasswordAlgorithm.Md5, StunPasswordAlgorithm.Sha256]));
        Assert.True(w.AddPriority(0x6e7f00ff));
        Assert.True(w.AddUseCandidate());
        Assert.True(w.AddIceControlled(0x0102030405060708));
        Assert.True(w.AddIceControlling(0xF0E0D0C0B0A09080));
        Assert.True(w.AddChannelNumber(0x4ABC));
        Assert.True(w.AddLifetime(600));
        Assert.True(w.AddData(payload));
        Assert.True(w.AddRequestedAddressFamily(StunAddressFamily.IPv6));
        Assert.True(w.AddAdditionalAddressFamily(StunAddressFamily.IPv6));
        Assert.True(w.AddRequestedTransport(StunTransportProtocol.Udp));
        Assert.True(w.AddEvenPort(reserveNextPort: true));
        Assert.True(w.AddDontFragment());
        Assert.True(w.AddReservationToken(0x1122334455667788));
        Assert.True(w.AddChangeRequest(changeIP: true, changePort: false));
        Assert.True(w.AddResponsePort(40000));
        Assert.True(w.AddPadding(13));
        Assert.True(w.AddMessageIntegrity(Key));
        Assert.True(w.AddMessageIntegritySha256(Key));
        Assert.True(w.AddFingerprint());
        Assert.True(w.TryGetMessage(out var bytes));
        Assert.Equal(0, bytes.Length % 4);

        Assert.True(StunMessageReader.TryParse(bytes, out var m, out var error), error.Describe());
        Assert.Equal(StunMethod.Allocate, m.Method);
        Assert.Equal(StunClass.ErrorResponse, m.Class);
        Assert.Equal(txid, m.TransactionId);
        Assert.Equal(bytes.Length, m.Length);

        Assert.True(m.TryGetXorMappedAddress(out var a) && a == address);
        Assert.True(m.TryGetMappedAddress(out a) && a == other);
        Assert.True(m.TryGetXorPeerAddress(out a) && a == other);
        Assert.True(m.TryGetXorRelayedAddress(out a) && a == address);
        Assert.True(m.TryGetAlternateServer(out a) && a == address);
        Assert.True(m.TryGetResponseOrigin(out a) && a == other);
        Assert.True(m.TryGetOtherAddress(out a) && a == address);

        Assert.True(m.TryGetUsername(out var text));
        Assert.Equal("alice\u00E9", Encoding.UTF8.GetString(text));
        Assert.True(m.TryGetUserHash(out var hash));
        Assert.Equal(userHash, hash.ToArray());
        Assert.True(m.TryGetRealm(out text));
        Assert.Equal("example.org", Encoding.UTF8.GetString(text));
        Assert.True(m.TryGetNonce(out text));
        Assert.Equal("obMatJos2AAABnonce", Encoding.UTF8.GetString(text));
        Assert.True(m.TryGetSoftware(out text));
        Assert.Equal("PeerNet 1.0", Encoding.UTF8.GetString(text));
        Assert.True(m.TryGetAlternateDomain(out text));
        Assert.Equal("turn.example.org", Encoding.ASCII.GetString(text));

        Assert.True(m.TryGetErrorCode(out var code, out var reason));
        Assert.Equal(486, code);
        Assert.Equal("Allocation Quota Reached", Encoding.UTF8.GetString(reason));
        Span<ushort> unknown = stackalloc ushort[8];
        Assert.True(m.TryGetUnknownAttributes(unknown, out var count));
        Assert.Equal([0x7F01, 0x0002, 0x1234], unknown[..count].ToArray());
        Assert.True(m.TryGetAddressErrorCode(out var family, out code, out reason));
        Assert.Equal(StunAddressFamily.IPv6, family);
        Assert.Equal(440, code);
        Assert.Equal("Address Family not Supported", Encoding.UTF8.GetString(reason));
        Assert.True(m.TryGetIcmp(out var icmpType, out var icmpCode, out var errorData));
        Assert.Equal((3, 4, 1400u), (icmpType, icmpCode, errorData));

        Assert.True(m.TryGetPasswordAlgorithm(out var algorithm, out var parameters));
        Assert.Equal(StunPasswordAlgorithm.Sha256, algorithm);
        Assert.True(parameters.IsEmpty);
        Assert.True(m.TryGetPasswordAlgorithms(out var algorithms));
        var listed = new List<StunPasswordAlgorithm>();
        foreach (var entry in algorithms)
        {
            listed.Add(entry.Algorithm);
            Assert.True(entry.Parameters.IsEmpty);
        }

        Assert.Equal([StunPasswordAlgorithm.Md5, StunPasswordAlgorithm.Sha256], listed);
        Assert.True(algorithms.Contains(StunPasswordAlgorithm.Sha256));
        Assert.False(algorithms.Contains((StunPasswordAlgorithm)7));

        Assert.True(m.TryGetPriority(out var priority));
        Assert.Equal(0x6e7f00ffu, priority);
        Assert.True(m.HasUseCandidate);
        Assert.True(m.TryGetIceControlled(out var tie));
        Assert.Equal(0x0102030405060708ul, tie);
        Assert.True(m.TryGetIceControlling(out tie));
        Assert.Equal(0xF0E0D0C0B0A09080ul, tie);

        Assert.True(m.TryGetChannelNumber(out var channel));
        Assert.Equal(0x4ABC, channel);
        Assert.True(m.TryGetLifetime(out var lifetime));
        Assert.Equal(600u, lifetime);
        Assert.True(m.TryGetData(out var data));
        Assert.Equal(payload, data.ToArray());
        Assert.True(m.TryGetRequestedAddressFamily(out family));
        Assert.Equal(StunAddressFamily.IPv6, family);
        Assert.True(m.TryGetAdditionalAddressFamily(out family));
        Assert.Equal(StunAddressFamily.IPv6, family);
        Assert.True(m.TryGetRequestedTransport(out var protocol));
        Assert.Equal(17, protocol);
        Assert.True(m.TryGetEvenPort(out var reserve));
        Assert.True(reserve);
        Assert.True(m.HasDontFragment);
        Assert.True(m.TryGetReservationToken(out var token));
        Assert.Equal(0x1122334455667788ul, token);
        Assert.True(m.TryGetChangeRequest(out var changeIP, out var changePort));
        Assert.True(changeIP);
        Assert.False(changePort);
        Assert.True(m.TryGetResponsePort(out var port));
        Assert.Equal(40000, port);
        Assert.True(m.TryGetPadding(out var padding));
        Assert.Equal(13, padding.Length);

        Assert.True(m.HasMessageIntegrity);
        Assert.True(m.HasMessageIntegritySha256);
        Assert.True(m.HasFingerprint);
        Assert.True(m.VerifyMessageIntegrity(Key));
        Assert.True(m.VerifyMessageIntegritySha256(Key));
        Assert.Equal(0, m.UnknownComprehensionRequiredCount);

        // The enumerator sees them all, in order.
        var types = new List<StunAttributeType>();
        foreach (var attribute in m)
        {
            types.Add(attribute.Type);
        }

        Assert.Equal(38, types.Count);
        Assert.Equal(StunAttributeType.XorMappedAddress, types[0]);
        Assert.Equal(StunAttributeType.Fingerprint, types[^1]);
    }

    [Fact]
    public void Absent_attributes_are_reported_absent()
    {
        var buffer = new byte[64];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
        Assert.False(m.TryGetXorMappedAddress(out var address));
        Assert.Equal(default, address);
        Assert.False(m.TryGetUsername(out _));
        Assert.False(m.TryGetErrorCode(out _, out _));
        Assert.False(m.TryGetPriority(out _));
        Assert.False(m.HasUseCandidate);
        Assert.False(m.TryGetUnknownAttributes(stackalloc ushort[4], out _));
        Assert.False(m.TryGetPasswordAlgorithms(out _));
        Assert.False(m.HasMessageIntegrity);
        Assert.False(m.VerifyMessageIntegrity(Key));
        Assert.False(m.VerifyMessageIntegritySha256(Key));
        Assert.False(m.TryVerifyIntegrity(Key, out var error));
        Assert.Equal(StunParseError.IntegrityMissing, error);
    }

    [Fact]
    public void Several_peer_addresses_can_be_enumerated()
    {
        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.CreatePermission, StunClass.Request, StunTransactionId.NewRandom());
        w.AddXorPeerAddress(V4);
        w.AddXorPeerAddress(V6);
        w.AddXorPeerAddress(V4.WithPort(1));
        Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
        var peers = new List<StunAddress>();
        foreach (var attribute in m)
        {
            if (attribute.Type == StunAttributeType.XorPeerAddress)
            {
                Assert.True(m.TryDecodeXorAddress(attribute.Value, out var peer));
                peers.Add(peer);
            }
        }

        Assert.Equal([V4, V6, V4.WithPort(1)], peers);
        Assert.True(m.TryGetXorPeerAddress(out var first));
        Assert.Equal(V4, first); // the first occurrence counts (RFC 8489 §14)
    }

    [Fact]
    public void Unknown_comprehension_required_attributes_are_listed_for_a_420()
    {
        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        w.AddAttribute((StunAttributeType)0x7FFF, [1, 2, 3]);
        w.AddSoftware("x");
        w.AddAttribute((StunAttributeType)0xC001, [1]); // comprehension-optional: not listed
        w.AddAttribute((StunAttributeType)0x0002, default);
        w.AddAttribute((StunAttributeType)0x7FFF, default); // duplicate: listed once
        Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
        Assert.Equal(3, m.UnknownComprehensionRequiredCount);
        Span<ushort> unknown = stackalloc ushort[8];
        var count = m.CopyUnknownComprehensionRequired(unknown);
        Assert.Equal([0x7FFF, 0x0002], unknown[..count].ToArray());
        Assert.Equal(1, m.CopyUnknownComprehensionRequired(unknown[..1]));

        // The server's answer.
        var response = new byte[256];
        var r = new StunMessageWriter(response, StunMethod.Binding, StunClass.ErrorResponse, m.TransactionId);
        r.AddErrorCode(StunErrorCode.UnknownAttribute);
        r.AddUnknownAttributes(unknown[..count]);
        Assert.True(StunMessageReader.TryParse(r.Message, out var answer, out _));
        Assert.True(answer.TryGetErrorCode(out var code, out _));
        Assert.Equal(420, code);
        Assert.True(answer.TryGetUnknownAttributes(unknown, out count));
        Assert.Equal([0x7FFF, 0x0002], unknown[..count].ToArray());
    }

    [Fact]
    public void Odd_unknown_attribute_lists_are_padded()
    {
        var buffer = new byte[64];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.ErrorResponse, StunTransactionId.NewRandom());
        w.AddUnknownAttributes([0x0042]);
        Assert.Equal(StunMessage.HeaderLength + 8, w.Length);
        Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
        Span<ushort> unknown = stackalloc ushort[4];
        Assert.True(m.TryGetUnknownAttributes(unknown, out var count));
        Assert.Equal(1, count);
        Assert.Equal(0x0042, unknown[0]);
    }

    [Fact]
    public void Error_codes_and_reasons_of_any_value_round_trip()
    {
        foreach (var (code, reason) in new[] { (300, ""), (438, "Stale Nonce"), (699, new string('x', 763)), (599, "Ünïcödé ✓") })
        {
            var buffer = new byte[1024];
            var w = new StunMessageWriter(buffer, StunMethod.Refresh, StunClass.ErrorResponse, StunTransactionId.NewRandom());
            Assert.True(w.AddErrorCode(code, reason));
            Assert.True(StunMessageReader.TryParse(w.Message, out var m, out var error), error.Describe());
            Assert.True(m.TryGetErrorCode(out var read, out var phrase));
            Assert.Equal(code, read);
            Assert.Equal(reason, Encoding.UTF8.GetString(phrase));
        }
    }

    [Fact]
    public void Truncated_message_integrity_sha256_verifies()
    {
        foreach (var length in new[] { 16, 20, 24, 28, 32 })
        {
            var buffer = new byte[256];
            var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
            w.AddUsername("bob");
            w.AddMessageIntegritySha256(Key, length);
            w.AddFingerprint();
            Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
            Assert.True(m.VerifyMessageIntegritySha256(Key));
            Assert.False(m.VerifyMessageIntegritySha256("other"u8));
        }
    }

    [Fact]
    public void Writer_reserves_attributes_for_in_place_filling()
    {
        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Data, StunClass.Indication, StunTransactionId.NewRandom());
        w.AddXorPeerAddress(V4);
        Assert.True(w.TryReserveAttribute(StunAttributeType.Data, 5, out var value));
        "hello"u8.CopyTo(value);
        Assert.True(StunMessageReader.TryParse(w.Message, out var m, out _));
        Assert.True(m.TryGetData(out var data));
        Assert.Equal("hello", Encoding.ASCII.GetString(data));
        Assert.Equal(0, buffer[w.Length - 1]); // padding zeroed
    }
}
