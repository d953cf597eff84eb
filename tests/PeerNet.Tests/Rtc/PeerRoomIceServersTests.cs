using PeerNet.Rtc;
using PeerNet.Signaling;

namespace PeerNet.Tests.Rtc;

/// <summary>Peers of a <see cref="PeerRoom"/> take the hub's ICE servers unless they have their own.</summary>
public sealed class PeerRoomIceServersTests
{
    private static readonly RtcIceServer[] Hub =
    [
        new() { Urls = ["stun:hub.example:3478"] },
        new() { Urls = ["turn:hub.example:3478?transport=udp"], Username = "1700000000:user", Credential = "secret" },
    ];

    private static (SignalingClient Client, PeerRoom Room) Create(IReadOnlyList<RtcIceServer> welcome, bool useHub = true)
    {
        var client = new SignalingClient(new SignalingClientOptions { Url = new Uri("wss://hub.example/signal") });
        // As if the welcome had arrived (the setter is private: only the welcome sets it).
        typeof(SignalingClient).GetProperty(nameof(SignalingClient.IceServers))!.SetValue(client, welcome);
        return (client, new PeerRoom(client, "room") { UseHubIceServers = useHub });
    }

    [Fact]
    public async Task EmptyConfigurationTakesTheHubsServers()
    {
        var (client, room) = Create(Hub);
        await using var _ = client;
        await using var __ = room;
        var options = room.WithHubIceServers(new PeerOptions { Initiator = true, Configuration = new RtcConfiguration { IceTransportPolicy = PeerNet.Ice.IceTransportPolicy.Relay } });
        Assert.Equal(Hub, options.Configuration.IceServers);
        Assert.Equal(PeerNet.Ice.IceTransportPolicy.Relay, options.Configuration.IceTransportPolicy);
        Assert.True(options.Initiator);
    }

    [Fact]
    public async Task ExplicitServersWin()
    {
        var (client, room) = Create(Hub);
        await using var _ = client;
        await using var __ = room;
        RtcIceServer[] own = [new() { Urls = ["stun:own.example:3478"] }];
        var options = room.WithHubIceServers(new PeerOptions { Configuration = new RtcConfiguration { IceServers = own } });
        Assert.Equal(own, options.Configuration.IceServers);
    }

    [Fact]
    public async Task OptingOutKeepsNoServers()
    {
        var (client, room) = Create(Hub, useHub: false);
        await using var _ = client;
        await using var __ = room;
        Assert.Empty(room.WithHubIceServers(new PeerOptions()).Configuration.IceServers);
    }

    [Fact]
    public async Task AHubWithoutServersChangesNothing()
    {
        var (client, room) = Create([]);
        await using var _ = client;
        await using var __ = room;
        var original = new PeerOptions();
        Assert.Same(original, room.WithHubIceServers(original));
    }
}
