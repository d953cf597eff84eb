using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>
/// ICE across the NAT lab, end to end: a hub (<c>peernet serve</c>, HTTPS, with its STUN/TURN) in the
/// public segment, <c>peernet echo</c> behind router B and <c>peernet ping</c> behind router A. Each
/// case asserts the candidate pair ping prints: cone↔cone goes direct over reflexive candidates,
/// symmetric↔symmetric only through the relay, and without TURN it fails saying TURN is needed.
/// </summary>
[Collection(NatLabCollection.Name)]
public sealed partial class NatMatrixTests(ITestOutputHelper output)
{
    private const int HubPort = 8443;
    private const int TurnPort = 3478;

    [Fact]
    public async Task Cone_to_cone_connects_directly_over_reflexive_candidates()
    {
        var (local, remote, _) = await PingAcrossAsync(new NatLabOptions { RouterA = NatKind.EndpointIndependent, RouterB = NatKind.EndpointIndependent });
        Assert.DoesNotContain("relay", local);
        Assert.DoesNotContain("relay", remote);
        Assert.Matches("^(srflx|prflx) ", local);
        Assert.Matches("^(srflx|prflx) ", remote);
    }

    [Fact]
    public async Task Symmetric_to_cone_connects()
    {
        var (local, remote, _) = await PingAcrossAsync(new NatLabOptions { RouterA = NatKind.Symmetric, RouterB = NatKind.EndpointIndependent });
        Assert.Matches("^(srflx|prflx|relay) ", local);
        Assert.Matches("^(srflx|prflx|relay) ", remote);
    }

    [Fact]
    public async Task Symmetric_to_symmetric_connects_only_through_the_relay()
    {
        var (local, remote, _) = await PingAcrossAsync(new NatLabOptions { RouterA = NatKind.Symmetric, RouterB = NatKind.Symmetric });
        Assert.True(local.StartsWith("relay ", StringComparison.Ordinal) || remote.StartsWith("relay ", StringComparison.Ordinal), $"{local} <-> {remote}");
    }

    [Fact]
    public async Task Relay_policy_goes_through_turn_even_between_cones()
    {
        var (local, _, _) = await PingAcrossAsync(new NatLabOptions { RouterA = NatKind.EndpointIndependent, RouterB = NatKind.EndpointIndependent },
            pingArguments: ["--relay"]);
        Assert.StartsWith("relay ", local);
    }

    [Fact]
    public async Task Symmetric_to_symmetric_without_turn_fails_saying_turn_is_needed()
    {
        var stunOnly = new[] { "--no-hub-ice-servers", "--ice-server", $"stun:{NatLab.ServerAddress}:{TurnPort}" };
        var clock = Stopwatch.StartNew();
        var (exitCode, text, _) = await RunPingAsync(new NatLabOptions { RouterA = NatKind.Symmetric, RouterB = NatKind.Symmetric },
            pingArguments: [.. stunOnly, "--timeout", "15"], echoArguments: stunOnly);
        output.WriteLine($"ping exited {exitCode} after {clock.Elapsed.TotalSeconds:F1} s");
        var flat = Flatten(text);
        Assert.Equal(1, exitCode);
        Assert.Contains("connection failed at ICE", flat);
        Assert.Contains("srflx", flat);
        Assert.Contains("no relay candidates on either side", flat);
        Assert.Contains("need a TURN server", flat);
    }

    [Fact]
    public async Task Cone_to_symmetric_connects_with_200ms_rtt_and_2_percent_loss()
    {
        var (local, remote, _) = await PingAcrossAsync(new NatLabOptions
        {
            RouterA = NatKind.EndpointIndependent,
            RouterB = NatKind.Symmetric,
            DelayMilliseconds = 100,
            LossPercent = 2,
        }, timeoutSeconds: 45);
        Assert.Matches("^(srflx|prflx|relay) ", local);
        Assert.Matches("^(srflx|prflx|relay) ", remote);
    }

    /// <summary>Pings across the lab and returns the selected pair's two sides ("srflx udp 203.0.113.10:4000").</summary>
    private async Task<(string Local, string Remote, string Text)> PingAcrossAsync(NatLabOptions options, string[]? pingArguments = null, int timeoutSeconds = 20)
    {
        var (exitCode, text, _) = await RunPingAsync(options, pingArguments ?? [], [], timeoutSeconds);
        Assert.True(exitCode == 0, text);
        var flat = Flatten(text);
        var match = SelectedPairRegex().Match(flat);
        Assert.True(match.Success, text);
        var local = match.Groups["local"].Value.Trim();
        var remote = match.Groups["remote"].Value.Trim();
        output.WriteLine($"{options.RouterA} -> {options.RouterB} {string.Join(' ', pingArguments ?? [])}: selected pair: local {local}, remote {remote}");
        Assert.Contains("3 round trips", flat);
        Assert.Contains("MiB sent and echoed back", flat);
        return (local, remote, text);
    }

    private async Task<(int ExitCode, string Text, string EchoOutput)> RunPingAsync(NatLabOptions options, string[] pingArguments, string[] echoArguments, int timeoutSeconds = 20)
    {
        await using var lab = await NatLab.CreateAsync(options);
        var cli = LabTurnServer.CliPath();
        var dataDir = Directory.CreateTempSubdirectory($"{lab.Id}-hub-");
        try
        {
            var port = HubPort.ToString(CultureInfo.InvariantCulture);
            await using var hub = lab.Public.Start("dotnet",
            [
                cli, "serve", "--bind", NatLab.ServerAddress.ToString(), "--port", port, "--data-dir", dataDir.FullName,
                "--turn-port", TurnPort.ToString(CultureInfo.InvariantCulture), "--allow-peer", NatLab.PublicRange,
            ]);
            await hub.WaitForLineAsync(line => line.Contains("Ctrl+C", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            var url = $"https://{NatLab.ServerAddress}:{port}";
            var room = "matrix";
            string[] common = ["--hub", url, "--room", room, "--insecure"];
            await using var echo = lab.HostB.Start("dotnet", [cli, "echo", .. common, .. echoArguments]);
            await echo.WaitForLineAsync(line => line.Contains("answering every offer", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            string[] timeout = pingArguments.Contains("--timeout") ? [] : [ "--timeout", timeoutSeconds.ToString(CultureInfo.InvariantCulture)];
            var result = await lab.HostA.RunAsync("dotnet", [cli, "ping", .. common, "--count", "3", "--bytes", "256K", .. timeout, .. pingArguments],
                TimeSpan.FromSeconds(timeoutSeconds + 60));
            output.WriteLine($"--- ping ({options.RouterA} behind A, {options.RouterB} behind B, delay {options.DelayMilliseconds} ms, loss {options.LossPercent} %):");
            output.WriteLine(result.Output);
            output.WriteLine("--- echo:\n" + echo.Output);
            return (result.ExitCode, result.Output, echo.Output);
        }
        finally
        {
            try
            {
                dataDir.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Spectre wraps long lines at the console width; put them back together.</summary>
    private static string Flatten(string text) => WhitespaceRegex().Replace(text, " ");

    [GeneratedRegex(@"selected pair: local (?<local>.+?), remote (?<remote>.+?); DTLS")]
    private static partial Regex SelectedPairRegex();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRegex();
}
