using System.Net;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>Our STUN/TURN server (<c>peernet turn</c>) running in a lab's <c>pub</c> namespace; disposing stops it.</summary>
public sealed class LabTurnServer : IAsyncDisposable
{
    public const int DefaultPort = 3478;
    public const string User = "u";
    public const string Password = "p";
    public const string Realm = "lab";

    private readonly DirectoryInfo _dataDir;

    internal LabTurnServer(LabProcess process, IPEndPoint endPoint, DirectoryInfo dataDir)
    {
        Process = process;
        EndPoint = endPoint;
        _dataDir = dataDir;
    }

    /// <summary>The server process (its output is the server's log).</summary>
    public LabProcess Process { get; }

    /// <summary>Where it listens, UDP and TCP.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary><c>stun:ADDRESS:PORT</c></summary>
    public string StunUrl => $"stun:{EndPoint}";

    /// <summary><c>turn:ADDRESS:PORT?transport=udp</c>, with <see cref="User"/> / <see cref="Password"/>.</summary>
    public string TurnUrl => $"turn:{EndPoint}?transport=udp";

    /// <summary>The built CLI of the same configuration as this test assembly.</summary>
    public static string CliPath()
    {
        // tests/PeerNet.Integration.Tests/bin/<Configuration>/net10.0/ → src/PeerNet.Cli/bin/<Configuration>/net10.0/
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var framework = baseDir.Name;
        var configuration = baseDir.Parent!.Name;
        var root = baseDir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "src", "PeerNet.Cli", "bin", configuration, framework, "PeerNet.Cli.dll");
        if (!File.Exists(path)) throw new FileNotFoundException($"the CLI is not built at {path} (dotnet build src/PeerNet.Cli -c {configuration})", path);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync().ConfigureAwait(false);
        try
        {
            _dataDir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
