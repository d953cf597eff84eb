using System.Text;
using Microsoft.Extensions.Logging;
using PeerNet.Hub;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>A hub on loopback (plain HTTP, ephemeral port) whose every log line, at Trace level, is kept: to check it never holds a key.</summary>
internal sealed class SharingHub : IAsyncDisposable
{
    private readonly StringBuilder _log = new();

    private SharingHub(string dataDir) => DataDir = dataDir;

    public HubServer Server { get; private set; } = null!;

    public string DataDir { get; }

    public Uri Url => Server.Url;

    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public static async Task<SharingHub> StartAsync()
    {
        var hub = new SharingHub(Directory.CreateTempSubdirectory("peernet-hub-").FullName);
        var options = new HubOptions { Bind = "127.0.0.1", Port = 0, Http = true, DataDir = hub.DataDir };
        hub.Server = await HubServer.StartAsync(options, CancellationToken.None, logging => logging
            .SetMinimumLevel(LogLevel.Trace)
            .AddProvider(new Provider(hub)));
        return hub;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }

    private sealed class Provider(SharingHub hub) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(hub, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(SharingHub hub, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (hub._log) hub._log.Append(logLevel).Append(' ').Append(category).Append(": ").Append(formatter(state, exception)).AppendLine(exception?.ToString());
        }
    }
}
