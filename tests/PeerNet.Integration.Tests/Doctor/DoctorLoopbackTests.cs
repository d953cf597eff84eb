using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using PeerNet.Integration.Tests.NatLab;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Doctor;

/// <summary>
/// Two hubs (<c>peernet serve</c>, HTTPS, self-signed) on loopback for the doctor to examine: one with
/// RFC 5780 behaviour discovery (alternate address 127.0.0.2: lo carries all of 127/8) and relaying
/// allowed to loopback peers, one plain (no OTHER-ADDRESS, loopback peers refused).
/// </summary>
public sealed partial class DoctorHubsFixture : IAsyncLifetime
{
    private readonly List<DirectoryInfo> _dataDirs = [];

    public ServedHub Full { get; private set; } = null!;

    public ServedHub Plain { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Full = await StartAsync("--alternate-address", "127.0.0.2", "--allow-peer", "127.0.0.0/8");
        Plain = await StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Full is not null) await Full.Process.DisposeAsync();
        if (Plain is not null) await Plain.Process.DisposeAsync();
        foreach (var dir in _dataDirs)
        {
            try
            {
                dir.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task<ServedHub> StartAsync(params string[] extra)
    {
        var dataDir = Directory.CreateTempSubdirectory("peernet-doctor-hub-");
        _dataDirs.Add(dataDir);
        var process = LabProcess.Start(null, "dotnet",
            [PeerNetCli.DllPath(), "serve", "--bind", "127.0.0.1", "--port", "0", "--data-dir", dataDir.FullName, .. extra]);
        try
        {
            await process.WaitForLineAsync(line => line.Contains("Ctrl+C", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            var output = process.StandardOutput;
            var url = OpenRegex().Match(output).Groups[1].Value.TrimEnd('/');
            var turnPort = int.Parse(TurnPortRegex().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var fingerprint = FingerprintRegex().Match(output).Value;
            Assert.False(string.IsNullOrEmpty(url), output);
            Assert.False(string.IsNullOrEmpty(fingerprint), output);
            return new ServedHub(process, url, turnPort, fingerprint);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    [GeneratedRegex(@"Open\s+(https://\S+)")]
    private static partial Regex OpenRegex();

    [GeneratedRegex(@"UDP (\d+), TCP")]
    private static partial Regex TurnPortRegex();

    [GeneratedRegex(@"(?m)^([0-9A-F]{2}:){31}[0-9A-F]{2}")]
    private static partial Regex FingerprintRegex();
}

/// <summary>A running hub: its URL, STUN/TURN port and certificate fingerprint.</summary>
public sealed record ServedHub(LabProcess Process, string Url, int TurnPort, string Fingerprint);

/// <summary>
/// <c>peernet doctor</c> as a user runs it, against real hubs on loopback: everything good, bad TURN
/// credentials, a hub that is not there (refused, DNS), an untrusted certificate, a server without RFC
/// 5780 whose peer policy refuses the relayed round trip, and --json.
/// </summary>
public sealed class DoctorLoopbackTests(DoctorHubsFixture hubs, ITestOutputHelper output) : IClassFixture<DoctorHubsFixture>
{
    [Fact]
    public async Task All_good_exits_0_with_the_public_address_no_NAT_and_a_relayed_round_trip()
    {
        var (exit, text) = await DoctorAsync("--hub", hubs.Full.Url, "--hub-sha256", hubs.Full.Fingerprint);
        Assert.True(exit == 0, text);
        Assert.Contains($"certificate not signed by an authority this system trusts (self-signed?), accepted because it matches --hub-sha256", text);
        Assert.Matches(@"✓ signaling: wss://127\.0\.0\.1:\d+/signal welcomed us as \S+ with 3 ICE server URLs", text);
        Assert.Matches(@"✓ STUN 127\.0\.0\.1:\d+: local 127\.0\.0\.1:(\d+), public 127\.0\.0\.1:\1: no NAT", text);
        Assert.Contains("mapping endpoint-independent, filtering endpoint-independent (RFC 5780 with 127.0.0.2:", text);
        Assert.Matches(@"✓ TURN turn:127\.0\.0\.1:\d+\?transport=udp: authenticated as \d+:\S+; relayed address 127\.0\.0\.1:\d+", text);
        Assert.Matches(@"✓ TURN turn:127\.0\.0\.1:\d+\?transport=udp round trip: 3 of 3 echoed", text);
        Assert.Matches(@"✓ TURN turn:127\.0\.0\.1:\d+\?transport=tcp round trip: 3 of 3 echoed", text);
        Assert.Contains("No NAT: your address 127.0.0.1 is public", text);
        Assert.Contains("TURN works", text);
        Assert.Contains("All checks passed", text);
        Assert.DoesNotContain("✗", text);
    }

    [Fact]
    public async Task Bad_TURN_credentials_exit_1_saying_they_were_rejected()
    {
        var (exit, text) = await DoctorAsync("--hub", hubs.Full.Url, "--insecure",
            "--ice-server", $"turn:127.0.0.1:{hubs.Full.TurnPort}?transport=udp", "--ice-username", "nobody", "--ice-credential", "wrong");
        Assert.Equal(1, exit);
        Assert.Contains("✗ TURN turn:127.0.0.1:", text);
        Assert.Contains("TURN credentials rejected (401 Unauthorized)", text);
        Assert.Contains("TURN does not work: TURN credentials rejected", text);
        // The STUN check still ran against the TURN server's UDP port (no stun: URL was given).
        Assert.Contains("no NAT", text);
    }

    [Fact]
    public async Task A_hub_that_is_not_there_exits_1_in_plain_words()
    {
        var (exit, text) = await DoctorAsync("--hub", $"https://127.0.0.1:{FreeTcpPort()}", "--timeout", "5");
        Assert.Equal(1, exit);
        Assert.Contains("connection refused: nothing listens on 127.0.0.1:", text);
        Assert.Contains("is `peernet serve` running there", text);
        Assert.Contains("The hub cannot be used", text);
        Assert.Contains("STUN and TURN were not checked", text);

        (exit, text) = await DoctorAsync("--hub", "https://no-such-hub.invalid:8443", "--timeout", "5");
        Assert.Equal(1, exit);
        Assert.Contains("cannot resolve the host name (DNS)", text);
    }

    [Fact]
    public async Task An_untrusted_certificate_fails_and_suggests_the_fingerprint()
    {
        var (exit, text) = await DoctorAsync("--hub", hubs.Full.Url);
        Assert.Equal(1, exit);
        Assert.Contains("certificate not trusted", text);
        Assert.Contains($"--hub-sha256 {hubs.Full.Fingerprint}", text);
        Assert.Contains("--insecure", text);

        (exit, text) = await DoctorAsync("--hub", hubs.Full.Url, "--hub-sha256", "00:11:22");
        Assert.Equal(1, exit);
        Assert.Contains("does not match --hub-sha256 00:11:22", text);
    }

    [Fact]
    public async Task A_server_without_RFC_5780_is_not_supported_and_a_refused_round_trip_is_explained_not_failed()
    {
        var (exit, text) = await DoctorAsync("--hub", hubs.Plain.Url, "--insecure");
        Assert.True(exit == 0, text);
        Assert.Contains("does not offer RFC 5780 discovery (its answer has no OTHER-ADDRESS)", text);
        Assert.Contains("--alternate-address", text);
        Assert.Matches(@"! TURN turn:127\.0\.0\.1:\d+\?transport=udp round trip: not tried: the server refuses to relay to its own relayed addresses \(127\.0\.0\.1:\d+: 403", text);
        Assert.Contains("--allow-peer", text);
        Assert.Contains("TURN allocations work", text);
    }

    [Fact]
    public async Task Json_output_is_one_document_with_the_findings()
    {
        var (exit, text) = await DoctorAsync("--hub", hubs.Full.Url, "--insecure", "--json");
        Assert.True(exit == 0, text);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        var checks = root.GetProperty("checks").EnumerateArray().ToList();
        var nat = checks.Single(c => c.GetProperty("step").GetString() == "NAT behaviour");
        Assert.Equal("endpoint-independent", nat.GetProperty("data").GetProperty("mapping").GetString());
        var stun = checks.Single(c => c.GetProperty("step").GetString()!.StartsWith("STUN ", StringComparison.Ordinal));
        Assert.Equal("no", stun.GetProperty("data").GetProperty("nat").GetString());
        Assert.StartsWith("127.0.0.1:", stun.GetProperty("data").GetProperty("public").GetString());
        Assert.NotEmpty(root.GetProperty("summary").EnumerateArray());
    }

    [Fact]
    public async Task Without_a_hub_only_the_given_ice_servers_are_checked()
    {
        var (exit, text) = await DoctorAsync("--ice-server", $"stun:127.0.0.1:{hubs.Full.TurnPort}");
        Assert.True(exit == 0, text);
        Assert.DoesNotContain("signaling", text);
        Assert.Contains("from --ice-server: stun:127.0.0.1:", text);
        Assert.Contains("mapping endpoint-independent", text);
        Assert.Contains("No TURN server: peers behind symmetric NATs will not reach you", text);
    }

    [Fact]
    public async Task Nothing_to_check_is_a_usage_error()
    {
        var (exit, text) = await DoctorAsync();
        Assert.Equal(2, exit);
        Assert.Contains("nothing to check", text);
    }

    private async Task<(int ExitCode, string Output)> DoctorAsync(params string[] arguments)
    {
        var result = await LabProcess.RunAsync(null, "dotnet", [PeerNetCli.DllPath(), "doctor", .. arguments], TimeSpan.FromSeconds(90));
        output.WriteLine($"$ peernet doctor {string.Join(' ', arguments)}  → exit {result.ExitCode}");
        output.WriteLine(result.Output);
        return (result.ExitCode, result.StandardOutput);
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
