using PeerNet.Signaling;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>Tests of in-process <see cref="PeerNet.Sharing.Driver.ShareSwarm"/>s meeting on a loopback hub, with temporary files.</summary>
public abstract class SwarmOnHubTest : IAsyncLifetime
{
    private protected TestFiles Files { get; } = new();

    private protected SharingHub Hub { get; private set; } = null!;

    public async Task InitializeAsync() => Hub = await SharingHub.StartAsync();

    public async Task DisposeAsync()
    {
        await Hub.DisposeAsync();
        Files.Dispose();
    }

    /// <summary>A signaling client connected to the hub (the caller disposes it).</summary>
    private protected async Task<SignalingClient> ConnectAsync()
    {
        var signaling = new SignalingClient(new SignalingClientOptions { Url = Hub.Server.SignalingUrl });
        await signaling.ConnectAsync();
        return signaling;
    }
}
