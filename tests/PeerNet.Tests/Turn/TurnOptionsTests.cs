using System.Net;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>Options that cannot work are refused with the reason.</summary>
public class TurnOptionsTests
{
    public static TheoryData<string, Action<TurnServerOptions>> Invalid => new()
    {
        { "empty realm", o => o.Realm = "" },
        { "long realm", o => o.Realm = new string('r', 200) },
        { "max lifetime below default", o => o.MaxAllocationLifetime = TimeSpan.FromMinutes(1) },
        { "zero permission lifetime", o => o.PermissionLifetime = TimeSpan.Zero },
        { "reversed port range", o => (o.RelayPortMin, o.RelayPortMax) = (5000, 4000) },
        { "port range with zero", o => (o.RelayPortMin, o.RelayPortMax) = (0, 4000) },
        { "negative quota", o => o.MaxAllocationsPerUser = -1 },
        { "tiny datagrams", o => o.MaxRelayedDatagramSize = 100 },
        { "TLS without certificate", o => o.TlsEndPoints.Add(new IPEndPoint(IPAddress.Loopback, 0)) },
        { "two IPv4 relay addresses", o => o.RelayAddresses = [IPAddress.Loopback, IPAddress.Parse("127.0.0.2")] },
        { "user without password", o => o.Users["x"] = null! },
        { "alternate port out of range", o => o.AlternatePort = 70000 },
        { "negative UDP threads", o => o.UdpIoThreads = -1 },
        { "too many UDP threads", o => o.UdpIoThreads = 65 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_options_are_refused(string what, Action<TurnServerOptions> configure)
    {
        var options = new TurnServerOptions();
        configure(options);
        Assert.Throws<ArgumentException>(options.Validate);
        Assert.Throws<ArgumentException>(() => new TurnServer(options, new FakeRelayBinder()));
        Assert.NotEmpty(what);
    }

    [Fact]
    public void Defaults_are_valid_and_secure()
    {
        var options = new TurnServerOptions();
        options.Validate();
        Assert.Empty(options.AllowedPeerRanges);
        Assert.Empty(options.Users);
        Assert.Null(options.AuthSecret);
        Assert.Equal(TimeSpan.FromMinutes(10), options.DefaultAllocationLifetime);
        Assert.Equal(TimeSpan.FromHours(1), options.MaxAllocationLifetime);
        Assert.Equal(TimeSpan.FromMinutes(5), options.PermissionLifetime);
        Assert.Equal(TimeSpan.FromMinutes(10), options.ChannelLifetime);
        Assert.False(options.AllowRfc5766ChannelNumbers);
        Assert.Equal(1, options.UdpIoThreads);
        Assert.True(options.UdpSegmentationOffload);
    }

    [Fact]
    public void Without_users_every_turn_request_is_refused()
    {
        var h = new TurnTestHarness(o =>
        {
            o.Users.Clear();
            o.AuthSecret = null;
        });
        var client = h.Client();
        client.Nonce = client.Unsigned(PeerNet.Stun.StunMethod.Allocate)!.Attribute(PeerNet.Stun.StunAttributeType.Nonce);
        Assert.Equal(401, client.RequestOnce(PeerNet.Stun.StunMethod.Allocate, (ref PeerNet.Stun.StunMessageWriter w) => w.AddRequestedTransport(17))!.ErrorCode);
        Assert.Equal(0, h.Server.AllocationCount);
    }
}
