using PeerNet.Hub;

namespace PeerNet.Integration.Tests;

/// <summary>A hub running in-process on an ephemeral loopback port, with its own temporary data directory.</summary>
public sealed class TestHub : IAsyncDisposable
{
    private TestHub(HubServer server, string dataDir)
    {
        Server = server;
        DataDir = dataDir;
    }

    public HubServer Server { get; }

    public string DataDir { get; }

    /// <summary>The web app, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Url => Server.Url;

    public Uri SignalingUrl => Server.SignalingUrl;

    public static async Task<TestHub> StartAsync(Action<HubOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var dataDir = Directory.CreateTempSubdirectory("peernet-hub-").FullName;
        try
        {
            var options = new HubOptions { Bind = "127.0.0.1", Port = 0, Http = true, DataDir = dataDir };
            configure?.Invoke(options);
            var server = await HubServer.StartAsync(options, cancellationToken, logging => { });
            return new TestHub(server, dataDir);
        }
        catch
        {
            Directory.Delete(dataDir, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Server.DisposeAsync();
        }
        finally
        {
            try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
        }
    }
}
