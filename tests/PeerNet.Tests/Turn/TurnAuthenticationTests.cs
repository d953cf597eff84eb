using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>Long-term credentials (RFC 8489 §9.2), nonces, REST credentials and SHA-256 keys.</summary>
public class TurnAuthenticationTests
{
    [Fact]
    public void Unauthenticated_allocate_gets_401_with_realm_and_nonce_and_no_integrity()
    {
        var h = new TurnTestHarness();
        var reply = h.Client().Unsigned(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp));

        Assert.NotNull(reply);
        Assert.Equal(StunClass.ErrorResponse, reply.Class);
        Assert.Equal(StunMethod.Allocate, reply.Method);
        Assert.Equal(401, reply.ErrorCode);
        Assert.Equal("example.org", reply.Text(StunAttributeType.Realm));
        Assert.NotEmpty(reply.Attribute(StunAttributeType.Nonce)!);
        Assert.False(reply.Has(StunAttributeType.MessageIntegrity));
        Assert.False(reply.Has(StunAttributeType.PasswordAlgorithms));
        Assert.Equal(0, h.Server.AllocationCount);
    }

    [Fact]
    public void Every_turn_request_needs_credentials()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        foreach (var method in new[] { StunMethod.Allocate, StunMethod.Refresh, StunMethod.CreatePermission, StunMethod.ChannelBind })
        {
            Assert.Equal(401, client.Unsigned(method)!.ErrorCode);
        }
    }

    [Fact]
    public void Signed_allocate_succeeds_and_the_response_is_integrity_protected_with_the_users_key()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var reply = client.Allocate();

        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        Assert.True(reply.Reader.VerifyMessageIntegrity(client.Key));
        Assert.Equal("PeerNet", reply.Text(StunAttributeType.Software));
    }

    [Theory]
    [InlineData("alice", "wrong-password")]
    [InlineData("mallory", "wonderland")]
    public void Wrong_password_or_unknown_user_gets_401(string user, string password)
    {
        var h = new TurnTestHarness();
        var client = h.Client(user: user, password: password);
        client.Nonce = client.Unsigned(StunMethod.Allocate)!.Attribute(StunAttributeType.Nonce);

        var reply = client.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp));

        Assert.Equal(401, reply!.ErrorCode);
        Assert.NotNull(reply.Attribute(StunAttributeType.Nonce));
        Assert.False(reply.Has(StunAttributeType.MessageIntegrity));
        Assert.Equal(0, h.Server.AllocationCount);
        Assert.Equal(1, h.Server.GetDropCount(TurnDropReason.BadCredentials));
    }

    [Fact]
    public void Wrong_realm_gets_401()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.Nonce = client.Unsigned(StunMethod.Allocate)!.Attribute(StunAttributeType.Nonce);
        client.Realm = "other.org";

        Assert.Equal(401, client.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp))!.ErrorCode);
    }

    [Fact]
    public void Tampered_message_fails_integrity_with_401()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.Nonce = client.Unsigned(StunMethod.Allocate)!.Attribute(StunAttributeType.Nonce);
        var message = client.Signed(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddLifetime(600));
        message[27] ^= 1; // inside LIFETIME, covered by MESSAGE-INTEGRITY

        Assert.Equal(401, h.Send(client.Endpoint, message)!.ErrorCode);
    }

    [Fact]
    public void Integrity_without_nonce_or_realm_is_a_bad_request()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var message = TurnTestHarness.Build(StunMethod.Allocate, StunClass.Request, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(StunTransportProtocol.Udp);
            w.AddUsername("alice");
            w.AddMessageIntegrity(client.Key);
        });

        Assert.Equal(400, h.Send(client.Endpoint, message)!.ErrorCode);
    }

    [Fact]
    public void Nonce_expires_with_438_and_a_fresh_nonce_works()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk((ref StunMessageWriter w) => w.AddLifetime(3600));
        var oldNonce = client.Nonce!;

        h.Advance(TimeSpan.FromMinutes(11));
        var stale = client.RequestOnce(StunMethod.Refresh);

        Assert.Equal(438, stale!.ErrorCode);
        Assert.Equal("example.org", stale.Text(StunAttributeType.Realm));
        var fresh = stale.Attribute(StunAttributeType.Nonce)!;
        Assert.NotEqual(oldNonce, fresh);
        Assert.False(stale.Has(StunAttributeType.MessageIntegrity));

        client.Nonce = fresh;
        Assert.Equal(StunClass.SuccessResponse, client.RequestOnce(StunMethod.Refresh)!.Class);
    }

    [Fact]
    public void Nonce_is_bound_to_the_client_and_cannot_be_forged()
    {
        var h = new TurnTestHarness();
        var first = h.Client("198.51.100.7:40000");
        first.AllocateOk();

        var second = h.Client("198.51.100.7:40001");
        second.Nonce = first.Nonce;
        Assert.Equal(438, second.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp))!.ErrorCode);

        var forged = (byte[])first.Nonce!.Clone();
        forged[^1] = (byte)(forged[^1] == (byte)'A' ? 'B' : 'A');
        second.Nonce = forged;
        Assert.Equal(438, second.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp))!.ErrorCode);

        second.Nonce = "garbage"u8.ToArray();
        Assert.Equal(438, second.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp))!.ErrorCode);
    }

    [Fact]
    public void Rest_credentials_work_until_they_expire()
    {
        var h = new TurnTestHarness();
        var now = DateTimeOffset.FromUnixTimeMilliseconds(h.Now);
        var credential = TurnRestCredentials.Create(TurnTestHarness.Secret, "carol", TimeSpan.FromMinutes(2), now);

        var client = h.Client(user: credential.Username, password: credential.Password);
        client.AllocateOk();
        Assert.Equal(StunClass.SuccessResponse, client.Refresh(600).Class);

        h.Advance(TimeSpan.FromMinutes(3)); // past the expiry, nonce still fresh
        var reply = client.RequestOnce(StunMethod.Refresh);
        Assert.Equal(401, reply!.ErrorCode);
        Assert.Equal(1, h.Server.GetDropCount(TurnDropReason.BadCredentials));
    }

    [Fact]
    public void Rest_credentials_from_another_secret_are_refused()
    {
        var h = new TurnTestHarness();
        var credential = TurnRestCredentials.Create("another-secret", "carol", TimeSpan.FromHours(1), DateTimeOffset.FromUnixTimeMilliseconds(h.Now));
        var client = h.Client(user: credential.Username, password: credential.Password);
        client.Nonce = client.Unsigned(StunMethod.Allocate)!.Attribute(StunAttributeType.Nonce);

        Assert.Equal(401, client.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp))!.ErrorCode);
    }

    [Fact]
    public void Rest_credentials_are_refused_without_a_secret()
    {
        var h = new TurnTestHarness(o => o.AuthSecret = null);
        var credential = TurnRestCredentials.Create(TurnTestHarness.Secret, "carol", TimeSpan.FromHours(1), DateTimeOffset.FromUnixTimeMilliseconds(h.Now));
        var client = h.Client(user: credential.Username, password: credential.Password);
        client.Nonce = client.Unsigned(StunMethod.Allocate)!.Attribute(StunAttributeType.Nonce);

        Assert.Equal(401, client.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp))!.ErrorCode);
    }

    [Fact]
    public void Rest_password_matches_coturns_formula()
    {
        // echo -n "1700000000:alice" | openssl dgst -sha1 -hmac north-secret -binary | base64
        Assert.Equal("g+jb180fcj+xlpA/2mP60OdIgU0=", TurnRestCredentials.ComputePassword("north-secret", "1700000000:alice"));

        var credential = TurnRestCredentials.Create("north-secret", "alice", TimeSpan.FromSeconds(100), DateTimeOffset.FromUnixTimeSeconds(1_699_999_900));
        Assert.Equal("1700000000:alice", credential.Username);
        Assert.Equal("g+jb180fcj+xlpA/2mP60OdIgU0=", credential.Password);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), credential.Expires);
    }

    [Theory]
    [InlineData("1700000000:alice", true, 1_700_000_000L, "alice")]
    [InlineData("1700000000", true, 1_700_000_000L, "")]
    [InlineData("1700000000:a:b", true, 1_700_000_000L, "a:b")]
    [InlineData("alice:1700000000", false, 0L, "")]
    [InlineData(":alice", false, 0L, "")]
    [InlineData("", false, 0L, "")]
    [InlineData("12345678901234567890:x", false, 0L, "")]
    public void Rest_usernames_parse(string username, bool ok, long expiry, string user)
    {
        Assert.Equal(ok, TurnRestCredentials.TryParseUsername(System.Text.Encoding.UTF8.GetBytes(username), out var parsedExpiry, out var parsedUser));
        if (ok)
        {
            Assert.Equal(expiry, parsedExpiry);
            Assert.Equal(user, System.Text.Encoding.UTF8.GetString(parsedUser));
        }
    }

    [Fact]
    public void Rest_credentials_reject_bad_arguments()
    {
        var now = DateTimeOffset.UnixEpoch;
        Assert.Throws<ArgumentException>(() => TurnRestCredentials.Create("", "a", TimeSpan.FromHours(1), now));
        Assert.Throws<ArgumentException>(() => TurnRestCredentials.Create("s", "a:b", TimeSpan.FromHours(1), now));
        Assert.Throws<ArgumentException>(() => TurnRestCredentials.Create("s", "a", TimeSpan.Zero, now));
    }

    [Fact]
    public void Sha256_keys_are_offered_with_the_nonce_cookie_and_used_when_chosen()
    {
        var h = new TurnTestHarness(o => o.OfferSha256PasswordAlgorithm = true);
        var client = h.Client();
        var challenge = client.Unsigned(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp))!;
        Assert.Equal(401, challenge.ErrorCode);
        var nonce = challenge.Attribute(StunAttributeType.Nonce)!;
        Assert.StartsWith("obMatJos2gAAA", System.Text.Encoding.ASCII.GetString(nonce));
        var offered = challenge.Attribute(StunAttributeType.PasswordAlgorithms)!;
        Assert.True(challenge.Reader.TryGetPasswordAlgorithms(out var list));
        Assert.True(list.Contains(StunPasswordAlgorithm.Sha256));
        Assert.True(list.Contains(StunPasswordAlgorithm.Md5));

        client.Nonce = nonce;
        client.Algorithm = StunPasswordAlgorithm.Sha256;
        client.UseSha256Integrity = true;
        var reply = client.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp),
            beforeIntegrity: (ref StunMessageWriter w) =>
            {
                w.AddAttribute(StunAttributeType.PasswordAlgorithms, offered);
                w.AddPasswordAlgorithm(StunPasswordAlgorithm.Sha256);
            })!;
        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        Assert.True(reply.Reader.VerifyMessageIntegritySha256(client.Key));
        Assert.False(reply.Has(StunAttributeType.MessageIntegrity));
    }

    [Fact]
    public void A_stripped_password_algorithm_offer_is_a_bad_request()
    {
        var h = new TurnTestHarness(o => o.OfferSha256PasswordAlgorithm = true);
        var client = h.Client();
        client.Nonce = client.Unsigned(StunMethod.Allocate)!.Attribute(StunAttributeType.Nonce);
        client.Algorithm = StunPasswordAlgorithm.Md5;

        // A man in the middle removed SHA-256 from the offer the client echoes.
        var reply = client.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp),
            beforeIntegrity: (ref StunMessageWriter w) =>
            {
                w.AddPasswordAlgorithms([StunPasswordAlgorithm.Md5]);
                w.AddPasswordAlgorithm(StunPasswordAlgorithm.Md5);
            })!;
        Assert.Equal(400, reply.ErrorCode);

        // Only one of the two attributes: also 400.
        reply = client.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp),
            beforeIntegrity: (ref StunMessageWriter w) => w.AddPasswordAlgorithm(StunPasswordAlgorithm.Md5))!;
        Assert.Equal(400, reply.ErrorCode);
    }

    [Fact]
    public void Legacy_clients_ignore_the_offer_and_use_md5()
    {
        var h = new TurnTestHarness(o => o.OfferSha256PasswordAlgorithm = true);
        var client = h.Client();
        client.AllocateOk();
    }

    [Fact]
    public void Message_integrity_sha256_over_an_md5_key_is_accepted_and_mirrored()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.UseSha256Integrity = true;
        var reply = client.Allocate();
        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        Assert.True(reply.Reader.VerifyMessageIntegritySha256(client.Key));
    }

    [Fact]
    public void Userhash_without_username_is_challenged()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.Nonce = client.Unsigned(StunMethod.Allocate)!.Attribute(StunAttributeType.Nonce);
        var message = TurnTestHarness.Build(StunMethod.Allocate, StunClass.Request, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(StunTransportProtocol.Udp);
            w.AddUserHash(StunCredentials.ComputeUserHash("alice", "example.org"));
            w.AddRealm("example.org");
            w.AddNonce(client.Nonce);
            w.AddMessageIntegrity(client.Key);
        });
        Assert.Equal(401, h.Send(client.Endpoint, message)!.ErrorCode);
    }

    [Fact]
    public void Another_users_request_on_an_allocation_gets_441()
    {
        var h = new TurnTestHarness();
        var alice = h.Client();
        alice.AllocateOk();

        var bob = new TestClient(h, alice.Endpoint, "bob", "builder");
        Assert.Equal(441, bob.Refresh(600).ErrorCode);
        Assert.Equal(441, bob.CreatePermission(TurnTestHarness.Peer("8.8.8.8:1")).ErrorCode);
    }
}
