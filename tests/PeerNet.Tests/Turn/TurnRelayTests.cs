using System.Net;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>Permissions, channels, Send/Data indications, ChannelData, peer policy and bandwidth (RFC 8656 §9–§12).</summary>
public class TurnRelayTests
{
    private static readonly StunAddress PeerA = TurnTestHarness.Peer("8.8.8.8:5000");
    private static readonly StunAddress PeerA2 = TurnTestHarness.Peer("8.8.8.8:5001");
    private static readonly StunAddress PeerB = TurnTestHarness.Peer("9.9.9.9:6000");
    private static readonly byte[] Payload = [1, 2, 3, 4, 5, 6, 7];

    [Fact]
    public void Send_indication_relays_only_after_a_permission()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();

        Assert.Equal(TurnOutputKind.None, client.Send(PeerA, Payload).Kind);
        Assert.Equal(1, h.Server.GetDropCount(TurnDropReason.NoPermission));

        Assert.Equal(StunClass.SuccessResponse, client.CreatePermission(PeerA).Class);
        var output = client.Send(PeerA, Payload);
        Assert.Equal(TurnOutputKind.ToPeer, output.Kind);
        Assert.Equal(PeerA, output.Peer);
        Assert.Same(h.Binder.Bound[0].Handle, output.Relay);

        // Permissions are per IP address: any port of that peer.
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerA2, Payload).Kind);
        Assert.Equal(TurnOutputKind.None, client.Send(PeerB, Payload).Kind);
    }

    [Fact]
    public void Peer_data_becomes_a_data_indication_only_with_a_permission()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var relayed = client.AllocateOk();

        Assert.Null(h.FromPeer(relayed, PeerA, Payload, out _));

        client.CreatePermission(PeerA);
        var indication = h.FromPeer(relayed, PeerA2, Payload, out var output);
        Assert.NotNull(indication);
        Assert.Equal(client.Endpoint.Remote, output.Client.Remote);
        Assert.Equal("client-handle", output.Client.Handle);
        Assert.True(StunMessageReader.TryParse(indication, out var reader, out _));
        Assert.Equal(StunMethod.Data, reader.Method);
        Assert.Equal(StunClass.Indication, reader.Class);
        Assert.True(reader.TryGetXorPeerAddress(out var from));
        Assert.Equal(PeerA2, from);
        Assert.True(reader.TryGetData(out var data));
        Assert.Equal(Payload, data.ToArray());

        // Unknown relay address: dropped.
        Assert.Null(h.FromPeer(relayed.WithPort(1), PeerA, Payload, out _));
    }

    [Fact]
    public void Data_indication_from_an_ipv6_peer_fits_the_reserved_room()
    {
        var h = new TurnTestHarness(o => o.AllowedPeerRanges.Add(IPNetwork.Parse("2001:db8::/32")), new FakeRelayBinder { IPv6 = true });
        var client = h.Client();
        var relayed = client.AllocateOk((ref StunMessageWriter w) => w.AddRequestedAddressFamily(StunAddressFamily.IPv6));
        var peer = TurnTestHarness.Peer("[2001:db8::77]:9000");
        client.CreatePermission(peer);

        var indication = h.FromPeer(relayed, peer, Payload, out var output);
        Assert.Equal(0, output.Offset);
        Assert.True(StunMessageReader.TryParse(indication, out var reader, out _));
        Assert.True(reader.TryGetData(out var data));
        Assert.Equal(Payload, data.ToArray());
    }

    [Fact]
    public void Permissions_expire_after_five_minutes_and_stop_relaying_both_ways()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var relayed = client.AllocateOk();
        client.CreatePermission(PeerA);

        h.Advance(TimeSpan.FromSeconds(299));
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerA, Payload).Kind);
        Assert.NotNull(h.FromPeer(relayed, PeerA, Payload, out _));

        h.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TurnOutputKind.None, client.Send(PeerA, Payload).Kind);
        Assert.Null(h.FromPeer(relayed, PeerA, Payload, out _));

        // Refreshing brings it back.
        client.CreatePermission(PeerA);
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerA, Payload).Kind);
    }

    [Fact]
    public void Create_permission_installs_several_peers_or_none()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();

        var refused = client.CreatePermission(PeerA, TurnTestHarness.Peer("10.1.2.3:4"));
        Assert.Equal(403, refused.ErrorCode);
        Assert.True(refused.Reader.VerifyMessageIntegrity(client.Key));
        Assert.Equal(TurnOutputKind.None, client.Send(PeerA, Payload).Kind);

        Assert.Equal(StunClass.SuccessResponse, client.CreatePermission(PeerA, PeerB).Class);
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerA, Payload).Kind);
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerB, Payload).Kind);

        Assert.Equal(400, client.CreatePermission().ErrorCode);
    }

    [Fact]
    public void Peer_of_another_family_gets_443()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();
        Assert.Equal(443, client.CreatePermission(TurnTestHarness.Peer("[2600::1]:5")).ErrorCode);
        Assert.Equal(443, client.ChannelBind(0x4000, TurnTestHarness.Peer("[2600::1]:5")).ErrorCode);
    }

    [Theory]
    [InlineData("127.0.0.1:9")]
    [InlineData("127.255.0.1:9")]
    [InlineData("10.0.0.1:9")]
    [InlineData("172.16.5.4:9")]
    [InlineData("172.31.255.255:9")]
    [InlineData("192.168.1.1:9")]
    [InlineData("169.254.169.254:80")]
    [InlineData("100.64.0.1:9")]
    [InlineData("0.0.0.0:9")]
    [InlineData("224.0.0.251:5353")]
    [InlineData("239.255.255.250:1900")]
    [InlineData("255.255.255.255:9")]
    [InlineData("240.0.0.1:9")]
    [InlineData("192.0.2.1:9")]
    [InlineData("198.18.0.1:9")]
    public void Special_ipv4_peers_are_forbidden(string peer)
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();
        Assert.Equal(403, client.CreatePermission(TurnTestHarness.Peer(peer)).ErrorCode);
        Assert.Equal(403, client.ChannelBind(0x4000, TurnTestHarness.Peer(peer)).ErrorCode);
        Assert.True(h.Server.GetDropCount(TurnDropReason.ForbiddenPeer) >= 2);
    }

    [Theory]
    [InlineData("[::1]:9")]
    [InlineData("[::]:9")]
    [InlineData("[fc00::1]:9")]
    [InlineData("[fd12:3456::1]:9")]
    [InlineData("[fe80::1]:9")]
    [InlineData("[ff02::1]:9")]
    [InlineData("[::ffff:10.0.0.1]:9")]
    [InlineData("[::ffff:8.8.8.8]:9")]
    [InlineData("[64:ff9b::a00:1]:9")]
    [InlineData("[2001:db8::1]:9")]
    [InlineData("[2002:a00:1::1]:9")]
    public void Special_ipv6_peers_are_forbidden(string peer)
    {
        var h = new TurnTestHarness(binder: new FakeRelayBinder { IPv6 = true });
        var client = h.Client();
        client.AllocateOk((ref StunMessageWriter w) => w.AddRequestedAddressFamily(StunAddressFamily.IPv6));

        // Built from the 16 bytes, so IPv4-mapped addresses stay IPv6 as a client would send them.
        var endPoint = IPEndPoint.Parse(peer);
        var address = StunAddress.IPv6(endPoint.Address.GetAddressBytes(), (ushort)endPoint.Port);
        Assert.Equal(403, client.CreatePermission(address).ErrorCode);
    }

    [Fact]
    public void Allowed_ranges_reopen_special_peers_and_denied_ranges_close_public_ones()
    {
        var h = new TurnTestHarness(o =>
        {
            o.AllowedPeerRanges.Add(IPNetwork.Parse("127.0.0.0/8"));
            o.DeniedPeerRanges.Add(IPNetwork.Parse("9.9.9.0/24"));
        });
        var client = h.Client();
        client.AllocateOk();
        Assert.Equal(StunClass.SuccessResponse, client.CreatePermission(TurnTestHarness.Peer("127.0.0.1:3480")).Class);
        Assert.Equal(403, client.CreatePermission(TurnTestHarness.Peer("10.0.0.1:1")).ErrorCode);
        Assert.Equal(403, client.CreatePermission(PeerB).ErrorCode);
        Assert.Equal(StunClass.SuccessResponse, client.CreatePermission(PeerA).Class);
    }

    [Fact]
    public void Peer_policy_matches_prefixes()
    {
        var policy = new TurnPeerPolicy([IPNetwork.Parse("10.20.0.0/16")], []);
        Assert.True(policy.IsAllowed(TurnTestHarness.Peer("10.20.30.40:1")));
        Assert.False(policy.IsAllowed(TurnTestHarness.Peer("10.21.0.1:1")));
        Assert.True(policy.IsAllowed(TurnTestHarness.Peer("1.1.1.1:1")));
        Assert.True(policy.IsAllowed(TurnTestHarness.Peer("[2606:4700::1111]:1")));
        Assert.False(policy.IsAllowed(default));
        Assert.Equal("10.20.0.0/16", TurnAddressRange.Parse("10.20.0.0/16").ToString());
        Assert.Equal("fc00::/7", TurnAddressRange.Parse("fc00::/7").ToString());
        Assert.True(TurnAddressRange.Parse("0.0.0.0/0").Contains(TurnTestHarness.Peer("1.2.3.4:5")));
        Assert.False(TurnAddressRange.Parse("0.0.0.0/0").Contains(TurnTestHarness.Peer("[::1]:5")));
    }

    [Fact]
    public void Channel_bind_relays_channel_data_both_ways()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var relayed = client.AllocateOk();
        Assert.Equal(StunClass.SuccessResponse, client.ChannelBind(0x4001, PeerA).Class);

        var output = client.SendChannel(0x4001, Payload);
        Assert.Equal(TurnOutputKind.ToPeer, output.Kind);
        Assert.Equal(PeerA, output.Peer);

        // The peer's datagram comes back as ChannelData, unpadded over UDP.
        var message = h.FromPeer(relayed, PeerA, Payload, out _)!;
        Assert.Equal(4 + Payload.Length, message.Length);
        Assert.True(ChannelData.TryParse(message, out var number, out var data, out _));
        Assert.Equal(0x4001, number);
        Assert.Equal(Payload, data.ToArray());

        // Another port of the same IP has the permission but no channel: Data indication.
        var indication = h.FromPeer(relayed, PeerA2, Payload, out _)!;
        Assert.True(StunMessage.IsStun(indication));

        // Send indications still work to a channel's peer.
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerA, Payload).Kind);
    }

    [Fact]
    public void Channel_data_over_a_stream_is_padded()
    {
        var h = new TurnTestHarness();
        var client = h.Client(transport: TurnTransport.Tcp);
        var relayed = client.AllocateOk();
        client.ChannelBind(0x4FFF, PeerA);

        Assert.Equal(TurnOutputKind.ToPeer, client.SendChannel(0x4FFF, Payload).Kind);
        var message = h.FromPeer(relayed, PeerA, Payload, out _)!;
        Assert.Equal(12, message.Length);
        Assert.Equal(StunFrameKind.ChannelData, StunStreamFraming.TryGetFrameLength(message, out var frame));
        Assert.Equal(12, frame);
        Assert.Equal(0, message[11]); // padding
    }

    [Fact]
    public void Channel_bind_rules()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();

        Assert.Equal(400, client.ChannelBind(0x3FFF, PeerA).ErrorCode);
        Assert.Equal(400, client.ChannelBind(0x5000, PeerA).ErrorCode);
        Assert.Equal(400, client.Request(StunMethod.ChannelBind, (ref StunMessageWriter w) => w.AddXorPeerAddress(PeerA)).ErrorCode);
        Assert.Equal(400, client.Request(StunMethod.ChannelBind, (ref StunMessageWriter w) => w.AddChannelNumber(0x4000)).ErrorCode);

        Assert.Equal(StunClass.SuccessResponse, client.ChannelBind(0x4000, PeerA).Class);
        Assert.Equal(StunClass.SuccessResponse, client.ChannelBind(0x4000, PeerA).Class); // refresh
        Assert.Equal(400, client.ChannelBind(0x4000, PeerB).ErrorCode);               // channel taken
        Assert.Equal(400, client.ChannelBind(0x4001, PeerA).ErrorCode);               // peer taken
        Assert.Equal(StunClass.SuccessResponse, client.ChannelBind(0x4001, PeerA2).Class); // same IP, other port: fine
    }

    [Fact]
    public void Rfc5766_channel_numbers_work_only_when_allowed()
    {
        var strict = new TurnTestHarness();
        var client = strict.Client();
        client.AllocateOk();
        Assert.Equal(400, client.ChannelBind(0x7FFF, PeerA).ErrorCode);
        Assert.Null(strict.Send(client.Endpoint, [0x7F, 0xFF, 0x00, 0x01, 9], out var output));
        Assert.Equal(TurnOutputKind.None, output.Kind);

        var compatible = new TurnTestHarness(o => o.AllowRfc5766ChannelNumbers = true);
        client = compatible.Client(transport: TurnTransport.Tcp);
        var relayed = client.AllocateOk();
        Assert.Equal(StunClass.SuccessResponse, client.ChannelBind(0x7FFF, PeerA).Class);
        Assert.Equal(400, client.ChannelBind(0x8000, PeerB).ErrorCode);
        Assert.Null(compatible.Send(client.Endpoint, [0x7F, 0xFF, 0x00, 0x01, 9, 0, 0, 0], out output));
        Assert.Equal(TurnOutputKind.ToPeer, output.Kind);
        var back = compatible.FromPeer(relayed, PeerA, Payload, out _)!;
        Assert.Equal([0x7F, 0xFF, 0x00, 0x07], back[..4]);
        Assert.Equal(12, back.Length); // padded on the stream
    }

    [Fact]
    public void Channels_expire_after_ten_minutes_and_can_then_be_rebound()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk((ref StunMessageWriter w) => w.AddLifetime(3600));
        client.ChannelBind(0x4000, PeerA);

        h.Advance(TimeSpan.FromMinutes(4));
        client.CreatePermission(PeerA); // keep the permission alive, not the channel
        h.Advance(TimeSpan.FromMinutes(4));
        client.CreatePermission(PeerA);
        Assert.Equal(TurnOutputKind.ToPeer, client.SendChannel(0x4000, Payload).Kind);

        h.Advance(TimeSpan.FromMinutes(2.1));
        Assert.Equal(TurnOutputKind.None, client.SendChannel(0x4000, Payload).Kind);
        Assert.Equal(1, h.Server.GetDropCount(TurnDropReason.UnboundChannel));

        Assert.Equal(StunClass.SuccessResponse, client.ChannelBind(0x4000, PeerB).Class);
        Assert.Equal(StunClass.SuccessResponse, client.ChannelBind(0x4001, PeerA).Class);
    }

    [Fact]
    public void Channel_bind_installs_a_permission_and_the_permission_expiring_stops_the_channel()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var relayed = client.AllocateOk();
        client.ChannelBind(0x4000, PeerA);
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerA2, Payload).Kind);

        h.Advance(TimeSpan.FromMinutes(5.1)); // permission gone, channel still bound
        Assert.Equal(TurnOutputKind.None, client.SendChannel(0x4000, Payload).Kind);
        Assert.Null(h.FromPeer(relayed, PeerA, Payload, out _));
    }

    [Fact]
    public void Channel_data_for_an_unbound_channel_or_without_allocation_is_dropped()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        Assert.Equal(TurnOutputKind.None, client.SendChannel(0x4000, Payload).Kind);
        Assert.Equal(1, h.Server.GetDropCount(TurnDropReason.NoAllocation));

        client.AllocateOk();
        Assert.Equal(TurnOutputKind.None, client.SendChannel(0x4000, Payload).Kind);
        Assert.Equal(1, h.Server.GetDropCount(TurnDropReason.UnboundChannel));
    }

    [Fact]
    public void Send_indication_without_allocation_or_attributes_is_dropped()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        Assert.Equal(TurnOutputKind.None, client.Send(PeerA, Payload).Kind);
        client.AllocateOk();
        client.CreatePermission(PeerA);
        var noData = TurnTestHarness.Build(StunMethod.Send, StunClass.Indication, (ref StunMessageWriter w) => w.AddXorPeerAddress(PeerA));
        Assert.Null(h.Send(client.Endpoint, noData, out var output));
        Assert.Equal(TurnOutputKind.None, output.Kind);
    }

    [Fact]
    public void Send_indication_with_an_unknown_comprehension_required_attribute_is_dropped()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();
        client.CreatePermission(PeerA);
        var message = TurnTestHarness.Build(StunMethod.Send, StunClass.Indication, (ref StunMessageWriter w) =>
        {
            w.AddXorPeerAddress(PeerA);
            w.AddData(Payload);
            w.AddAttribute((StunAttributeType)0x0077, []);
        });
        Assert.Null(h.Send(client.Endpoint, message, out var output));
        Assert.Equal(TurnOutputKind.None, output.Kind);
    }

    [Fact]
    public void Dual_allocation_relays_each_family_from_its_own_relay()
    {
        var peer6 = TurnTestHarness.Peer("[2606:4700::1111]:443");
        var h = new TurnTestHarness(binder: new FakeRelayBinder { IPv6 = true });
        var client = h.Client();
        client.Allocate((ref StunMessageWriter w) => w.AddAdditionalAddressFamily(StunAddressFamily.IPv6));
        client.CreatePermission(PeerA, peer6);

        Assert.Same(h.Binder.Bound[0].Handle, client.Send(PeerA, Payload).Relay);
        Assert.Same(h.Binder.Bound[1].Handle, client.Send(peer6, Payload).Relay);
        Assert.NotNull(h.FromPeer(h.Binder.Bound[1].Address, peer6, Payload, out _));
    }

    [Fact]
    public void Bandwidth_quota_drops_the_excess()
    {
        var h = new TurnTestHarness(o => o.MaxBandwidthPerAllocation = 1000);
        var client = h.Client();
        var relayed = client.AllocateOk();
        client.CreatePermission(PeerA);
        var payload = new byte[200];

        var passed = Enumerable.Range(0, 10).Count(_ => client.Send(PeerA, payload).Kind == TurnOutputKind.ToPeer);
        Assert.Equal(5, passed);
        Assert.Null(h.FromPeer(relayed, PeerA, payload, out _));
        Assert.True(h.Server.GetDropCount(TurnDropReason.BandwidthExceeded) >= 6);

        h.Now += 1000;
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerA, payload).Kind);
    }

    [Fact]
    public void Relay_send_failures_are_counted_and_do_not_touch_the_allocation()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var relayed = client.AllocateOk();
        client.CreatePermission(PeerA, PeerB);

        h.Server.ReportRelaySendFailure(relayed, PeerA, "Network is unreachable");
        h.Server.ReportRelaySendFailure(relayed, PeerA, "Network is unreachable");
        Assert.Equal(2, h.Server.GetDropCount(TurnDropReason.RelaySendFailed));
        Assert.Equal(TurnOutputKind.ToPeer, client.Send(PeerB, Payload).Kind);
        Assert.NotNull(h.FromPeer(relayed, PeerB, Payload, out _));
    }

    [Fact]
    public void Permission_limit_gives_508()
    {
        var h = new TurnTestHarness(o => o.MaxPermissionsPerAllocation = 2);
        var client = h.Client();
        client.AllocateOk();
        Assert.Equal(StunClass.SuccessResponse, client.CreatePermission(PeerA, PeerB).Class);
        Assert.Equal(StunClass.SuccessResponse, client.CreatePermission(PeerA).Class);
        Assert.Equal(508, client.CreatePermission(TurnTestHarness.Peer("1.1.1.1:1")).ErrorCode);
        Assert.Equal(508, client.ChannelBind(0x4000, TurnTestHarness.Peer("1.1.1.1:1")).ErrorCode);
    }
}
