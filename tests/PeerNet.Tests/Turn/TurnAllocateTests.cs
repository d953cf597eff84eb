using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>Allocate and Refresh (RFC 8656 §7, §8): families, ports, lifetimes, quotas, mismatches.</summary>
public class TurnAllocateTests
{
    [Fact]
    public void Allocate_returns_relayed_mapped_address_and_default_lifetime()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var reply = client.Allocate();

        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        var relayed = reply.XorAddress(StunAttributeType.XorRelayedAddress);
        Assert.Equal(FakeRelayBinder.RelayIPv4.WithPort(0), relayed.WithPort(0));
        Assert.Equal(client.Endpoint.Remote, reply.XorAddress(StunAttributeType.XorMappedAddress));
        Assert.Equal(600u, reply.Lifetime);
        Assert.Equal(1, h.Server.AllocationCount);
        Assert.Equal(1, h.Binder.Live);
    }

    [Theory]
    [InlineData(100u, 600u)]
    [InlineData(1200u, 1200u)]
    [InlineData(7200u, 3600u)]
    public void Requested_lifetime_is_clamped_between_default_and_maximum(uint requested, uint granted)
    {
        var h = new TurnTestHarness();
        var reply = h.Client().Allocate((ref StunMessageWriter w) => w.AddLifetime(requested));
        Assert.Equal(granted, reply.Lifetime);
    }

    [Fact]
    public void Second_allocate_on_the_same_5_tuple_gets_437_but_a_retransmission_gets_the_same_success()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var id = StunTransactionId.NewRandom();
        var first = client.Allocate(id: id);
        Assert.Equal(StunClass.SuccessResponse, first.Class);

        var retransmitted = client.RequestOnce(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp), id)!;
        Assert.Equal(StunClass.SuccessResponse, retransmitted.Class);
        Assert.Equal(first.XorAddress(StunAttributeType.XorRelayedAddress), retransmitted.XorAddress(StunAttributeType.XorRelayedAddress));
        Assert.Equal(1, h.Binder.Live);

        var second = client.Allocate();
        Assert.Equal(437, second.ErrorCode);
        Assert.True(second.Reader.VerifyMessageIntegrity(client.Key));
        Assert.Equal(1, h.Server.AllocationCount);
    }

    [Fact]
    public void Same_client_address_on_another_transport_is_another_5_tuple()
    {
        var h = new TurnTestHarness();
        h.Client("198.51.100.7:40000").AllocateOk();
        h.Client("198.51.100.7:40000", TurnTransport.Tcp).AllocateOk();
        Assert.Equal(2, h.Server.AllocationCount);
    }

    [Fact]
    public void Requested_transport_must_be_udp()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        Assert.Equal(442, client.Request(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Tcp)).ErrorCode);
        Assert.Equal(400, client.Request(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddLifetime(600)).ErrorCode);
        Assert.Equal(0, h.Server.AllocationCount);
    }

    [Fact]
    public void Dont_fragment_is_accepted()
    {
        var h = new TurnTestHarness();
        h.Client().AllocateOk((ref StunMessageWriter w) => w.AddDontFragment());
    }

    [Fact]
    public void IPv6_relay_is_refused_with_440_when_unsupported_and_granted_when_supported()
    {
        var h = new TurnTestHarness();
        Assert.Equal(440, h.Client().Allocate((ref StunMessageWriter w) => w.AddRequestedAddressFamily(StunAddressFamily.IPv6)).ErrorCode);

        var h6 = new TurnTestHarness(binder: new FakeRelayBinder { IPv6 = true });
        var relayed = h6.Client().AllocateOk((ref StunMessageWriter w) => w.AddRequestedAddressFamily(StunAddressFamily.IPv6));
        Assert.Equal(StunAddressFamily.IPv6, relayed.Family);
    }

    [Fact]
    public void Unknown_family_gets_440_and_ipv4_only_server_refuses_when_ipv4_is_off()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var bad = client.Allocate((ref StunMessageWriter w) => w.AddAttribute(StunAttributeType.RequestedAddressFamily, [0x03, 0, 0, 0]));
        Assert.Equal(440, bad.ErrorCode);

        var h6 = new TurnTestHarness(binder: new FakeRelayBinder { IPv4 = false, IPv6 = true });
        Assert.Equal(440, h6.Client().Allocate().ErrorCode);
    }

    [Fact]
    public void Additional_address_family_gives_a_dual_allocation()
    {
        var h = new TurnTestHarness(binder: new FakeRelayBinder { IPv6 = true });
        var reply = h.Client().Allocate((ref StunMessageWriter w) => w.AddAdditionalAddressFamily(StunAddressFamily.IPv6));
        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        var relayed = reply.XorAddresses(StunAttributeType.XorRelayedAddress);
        Assert.Equal([StunAddressFamily.IPv4, StunAddressFamily.IPv6], relayed.Select(a => a.Family));
        Assert.False(reply.Has(StunAttributeType.AddressErrorCode));
    }

    [Fact]
    public void Additional_family_unsupported_still_allocates_ipv4_with_an_address_error_code()
    {
        var h = new TurnTestHarness();
        var reply = h.Client().Allocate((ref StunMessageWriter w) => w.AddAdditionalAddressFamily(StunAddressFamily.IPv6));
        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        Assert.Single(reply.XorAddresses(StunAttributeType.XorRelayedAddress));
        Assert.True(reply.Reader.TryGetAddressErrorCode(out var family, out var code, out _));
        Assert.Equal(StunAddressFamily.IPv6, family);
        Assert.Equal(440, code);
    }

    [Fact]
    public void Conflicting_family_attributes_are_bad_requests()
    {
        var h = new TurnTestHarness(binder: new FakeRelayBinder { IPv6 = true });
        var client = h.Client();
        Assert.Equal(400, client.Allocate((ref StunMessageWriter w) =>
        {
            w.AddRequestedAddressFamily(StunAddressFamily.IPv4);
            w.AddAdditionalAddressFamily(StunAddressFamily.IPv6);
        }).ErrorCode);
        Assert.Equal(400, client.Allocate((ref StunMessageWriter w) => w.AddAdditionalAddressFamily(StunAddressFamily.IPv4)).ErrorCode);
        Assert.Equal(400, client.Allocate((ref StunMessageWriter w) =>
        {
            w.AddEvenPort(false);
            w.AddReservationToken(42);
        }).ErrorCode);
        Assert.Equal(400, client.Allocate((ref StunMessageWriter w) =>
        {
            w.AddEvenPort(false);
            w.AddAdditionalAddressFamily(StunAddressFamily.IPv6);
        }).ErrorCode);
        Assert.Equal(0, h.Server.AllocationCount);
    }

    [Fact]
    public void Even_port_with_reservation_hands_the_next_port_to_the_token()
    {
        var h = new TurnTestHarness();
        var rtp = h.Client("198.51.100.7:40000").Allocate((ref StunMessageWriter w) => w.AddEvenPort(true));
        Assert.Equal(StunClass.SuccessResponse, rtp.Class);
        var rtpPort = rtp.XorAddress(StunAttributeType.XorRelayedAddress).Port;
        Assert.Equal(0, rtpPort % 2);
        Assert.True(rtp.Reader.TryGetReservationToken(out var token));

        var rtcp = h.Client("198.51.100.7:40001").Allocate((ref StunMessageWriter w) => w.AddReservationToken(token));
        Assert.Equal(StunClass.SuccessResponse, rtcp.Class);
        Assert.Equal(rtpPort + 1, rtcp.XorAddress(StunAttributeType.XorRelayedAddress).Port);

        // A token works once.
        Assert.Equal(508, h.Client("198.51.100.7:40002").Allocate((ref StunMessageWriter w) => w.AddReservationToken(token)).ErrorCode);
    }

    [Fact]
    public void Even_port_without_reservation_gives_an_even_port_and_no_token()
    {
        var h = new TurnTestHarness();
        h.Client("198.51.100.7:39999").AllocateOk(); // makes the next free port odd
        var reply = h.Client().Allocate((ref StunMessageWriter w) => w.AddEvenPort(false));
        Assert.Equal(0, reply.XorAddress(StunAttributeType.XorRelayedAddress).Port % 2);
        Assert.False(reply.Has(StunAttributeType.ReservationToken));
    }

    [Fact]
    public void Reservations_expire_and_their_port_is_released()
    {
        var h = new TurnTestHarness();
        var rtp = h.Client().Allocate((ref StunMessageWriter w) => w.AddEvenPort(true));
        rtp.Reader.TryGetReservationToken(out var token);
        Assert.Equal(2, h.Binder.Live);

        h.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(1, h.Binder.Live);
        Assert.Equal(508, h.Client("198.51.100.7:40001").Allocate((ref StunMessageWriter w) => w.AddReservationToken(token)).ErrorCode);
    }

    [Fact]
    public void No_port_available_is_508()
    {
        var h = new TurnTestHarness(binder: new FakeRelayBinder { Fail = true });
        Assert.Equal(508, h.Client().Allocate().ErrorCode);
    }

    [Fact]
    public void User_quota_gives_486_and_frees_up_after_a_delete()
    {
        var h = new TurnTestHarness(o => o.MaxAllocationsPerUser = 1);
        var first = h.Client("198.51.100.7:40000");
        first.AllocateOk();
        var second = h.Client("198.51.100.7:40001");
        Assert.Equal(486, second.Allocate().ErrorCode);

        // Another user is not affected.
        h.Client("198.51.100.7:40002", user: "bob", password: "builder").AllocateOk();

        Assert.Equal(0u, first.Refresh(0).Lifetime);
        second.AllocateOk();
    }

    [Fact]
    public void Rest_users_count_against_one_quota_whatever_the_expiry()
    {
        var h = new TurnTestHarness(o => o.MaxAllocationsPerUser = 1);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(h.Now);
        var a = TurnRestCredentials.Create(TurnTestHarness.Secret, "carol", TimeSpan.FromHours(1), now);
        var b = TurnRestCredentials.Create(TurnTestHarness.Secret, "carol", TimeSpan.FromHours(2), now);
        h.Client("198.51.100.7:40000", user: a.Username, password: a.Password).AllocateOk();
        Assert.Equal(486, h.Client("198.51.100.7:40001", user: b.Username, password: b.Password).Allocate().ErrorCode);
    }

    [Fact]
    public void Server_wide_quota_gives_486()
    {
        var h = new TurnTestHarness(o => o.MaxAllocations = 1);
        h.Client("198.51.100.7:40000").AllocateOk();
        Assert.Equal(486, h.Client("198.51.100.7:40001", user: "bob", password: "builder").Allocate().ErrorCode);
    }

    [Fact]
    public void Refresh_extends_and_lifetime_zero_deletes()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();

        h.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(1200u, client.Refresh(1200).Lifetime);
        h.Advance(TimeSpan.FromMinutes(19));
        Assert.Equal(1, h.Server.AllocationCount);

        var delete = client.Refresh(0);
        Assert.Equal(StunClass.SuccessResponse, delete.Class);
        Assert.Equal(0u, delete.Lifetime);
        Assert.Equal(0, h.Server.AllocationCount);
        Assert.Equal(0, h.Binder.Live);

        Assert.Equal(437, client.Refresh(600).ErrorCode);
    }

    [Fact]
    public void Refresh_without_lifetime_uses_the_default()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk((ref StunMessageWriter w) => w.AddLifetime(3000));
        Assert.Equal(600u, client.Refresh(null).Lifetime);
    }

    [Fact]
    public void Refresh_with_another_family_gets_443()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();
        var reply = client.Request(StunMethod.Refresh, (ref StunMessageWriter w) => w.AddRequestedAddressFamily(StunAddressFamily.IPv6));
        Assert.Equal(443, reply.ErrorCode);
    }

    [Fact]
    public void Requests_without_an_allocation_get_437()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        Assert.Equal(437, client.Refresh(600).ErrorCode);
        Assert.Equal(437, client.CreatePermission(TurnTestHarness.Peer("8.8.8.8:53")).ErrorCode);
        Assert.Equal(437, client.ChannelBind(0x4000, TurnTestHarness.Peer("8.8.8.8:53")).ErrorCode);
    }

    [Fact]
    public void Allocations_expire_and_release_their_relay()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var relayed = client.AllocateOk();

        h.Advance(TimeSpan.FromSeconds(599));
        Assert.Equal(1, h.Server.AllocationCount);
        h.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, h.Server.AllocationCount);
        Assert.Contains(h.Binder.Released, b => b.Address == relayed);
        Assert.Equal(437, client.Refresh(600).ErrorCode);

        // The 5-tuple can allocate again.
        client.AllocateOk();
    }

    [Fact]
    public void An_expired_allocation_not_yet_swept_does_not_block_a_new_one()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();
        h.Now += 601_000; // no Tick
        client.AllocateOk();
        Assert.Equal(1, h.Server.AllocationCount);
        Assert.Equal(1, h.Binder.Live);
    }

    [Fact]
    public void Closing_a_stream_connection_deletes_its_allocation()
    {
        var h = new TurnTestHarness();
        var client = h.Client(transport: TurnTransport.Tcp);
        client.AllocateOk();
        h.Server.ClientClosed(client.Endpoint);
        Assert.Equal(0, h.Server.AllocationCount);
        Assert.Equal(0, h.Binder.Live);
    }

    [Fact]
    public void Clear_releases_everything()
    {
        var h = new TurnTestHarness();
        h.Client("198.51.100.7:40000").AllocateOk((ref StunMessageWriter w) => w.AddEvenPort(true));
        h.Client("198.51.100.7:40001").AllocateOk();
        Assert.Equal(3, h.Binder.Live);
        h.Server.Clear();
        Assert.Equal(0, h.Binder.Live);
        Assert.Equal(0, h.Server.AllocationCount);
    }

    [Fact]
    public void Unknown_comprehension_required_attribute_gets_an_authenticated_420()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var reply = client.Allocate((ref StunMessageWriter w) =>
        {
            w.AddAttribute((StunAttributeType)0x0031, [1, 2, 3, 4]);
            w.AddAttribute((StunAttributeType)0x7FFE, []);
            w.AddAttribute((StunAttributeType)0xC001, [9]); // comprehension-optional: ignored
        });
        Assert.Equal(420, reply.ErrorCode);
        Assert.True(reply.Reader.TryGetUnknownAttributes(new ushort[8], out var count));
        Assert.Equal(2, count);
        var unknown = new ushort[8];
        reply.Reader.TryGetUnknownAttributes(unknown, out _);
        Assert.Equal([0x0031, 0x7FFE], unknown[..2]);
        Assert.True(reply.Reader.VerifyMessageIntegrity(client.Key));
        Assert.Equal(0, h.Server.AllocationCount);
    }

    [Fact]
    public void Statistics_count_allocations()
    {
        var h = new TurnTestHarness();
        h.Client().AllocateOk();
        var stats = h.Server.GetStatistics();
        Assert.Equal(1, stats.Allocations);
        Assert.Equal(1, stats.AllocationsCreated);
        Assert.True(stats.Dropped[TurnDropReason.Unauthenticated] >= 1);
    }
}
