namespace PeerNet.Integration.Tests;

/// <summary>Where the built `peernet` CLI is, for tests that run it as a real process.</summary>
internal static class PeerNetCli
{
    /// <summary>tests/PeerNet.Integration.Tests/bin/&lt;Configuration&gt;/net10.0/ → src/PeerNet.Cli/bin/&lt;Configuration&gt;/net10.0/PeerNet.Cli.dll.</summary>
    public static string DllPath()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var framework = baseDir.Name;
        var configuration = baseDir.Parent!.Name;
        var root = baseDir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "src", "PeerNet.Cli", "bin", configuration, framework, "PeerNet.Cli.dll");
        if (!File.Exists(path)) Assert.Fail($"the CLI is not built at {path}");
        return path;
    }
}
