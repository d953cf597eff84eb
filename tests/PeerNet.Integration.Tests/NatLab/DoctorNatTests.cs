using System.Globalization;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>
/// <c>peernet doctor</c> behind the lab's routers: a hub (<c>peernet serve</c>, HTTPS, its STUN/TURN with
/// RFC 5780 on the alternate address 203.0.113.2) in the public segment, the doctor in host A. Behind the
/// endpoint-independent router it must say so; behind the symmetric one it must say address-and-port-
/// dependent mapping and that TURN is needed (and works). Both routers filter address-and-port dependently.
/// </summary>
[Collection(NatLabCollection.Name)]
public sealed class DoctorNatTests(ITestOutputHelper output)
{
    private const int HubPort = 8443;
    private const int TurnPort = 3478;

    [Fact]
    public async Task Behind_the_endpoint_independent_router_it_reports_endpoint_independent_mapping()
    {
        var (exitCode, text) = await DoctorBehindAsync(NatKind.EndpointIndependent);
        Assert.True(exitCode == 0, text);
        Assert.Matches(@"✓ STUN 203\.0\.113\.1:3478: local 10\.0\.1\.2:\d+, public 203\.0\.113\.10:\d+: behind a NAT", text);
        Assert.Contains("mapping endpoint-independent, filtering address-and-port-dependent (RFC 5780 with 203.0.113.2:", text);
        Assert.Contains("Direct connections will work with most peers (endpoint-independent mapping)", text);
        Assert.Contains("round trip: 3 of 3 echoed", text);
        Assert.DoesNotContain("symmetric", text);
    }

    [Fact]
    public async Task Behind_the_symmetric_router_it_reports_address_and_port_dependent_mapping_and_that_TURN_is_needed()
    {
        var (exitCode, text) = await DoctorBehindAsync(NatKind.Symmetric);
        Assert.True(exitCode == 0, text); // a symmetric NAT is a finding, not a failed check: TURN works
        Assert.Matches(@"✓ STUN 203\.0\.113\.1:3478: local 10\.0\.1\.2:\d+, public 203\.0\.113\.10:\d+: behind a NAT", text);
        Assert.Contains("! NAT behaviour: mapping address-and-port-dependent (a symmetric NAT), filtering address-and-port-dependent", text);
        Assert.Contains("Your NAT is symmetric (address-and-port-dependent mapping)", text);
        Assert.Contains("TURN is needed and works", text);
        Assert.Contains("round trip: 3 of 3 echoed", text);
    }

    private async Task<(int ExitCode, string Text)> DoctorBehindAsync(NatKind nat)
    {
        await using var lab = await NatLab.CreateAsync(new NatLabOptions { RouterA = nat, RouterB = NatKind.EndpointIndependent });
        var cli = LabTurnServer.CliPath();
        var dataDir = Directory.CreateTempSubdirectory($"{lab.Id}-hub-");
        try
        {
            var port = HubPort.ToString(CultureInfo.InvariantCulture);
            await using var hub = lab.Public.Start("dotnet",
            [
                cli, "serve", "--bind", NatLab.ServerAddress.ToString(), "--port", port, "--data-dir", dataDir.FullName,
                "--turn-port", TurnPort.ToString(CultureInfo.InvariantCulture), "--allow-peer", NatLab.PublicRange,
                "--alternate-address", NatLab.AlternateServerAddress.ToString(),
            ]);
            await hub.WaitForLineAsync(line => line.Contains("Ctrl+C", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            var result = await lab.HostA.RunAsync("dotnet", [cli, "doctor", "--hub", $"https://{NatLab.ServerAddress}:{port}", "--insecure", "--timeout", "10"],
                TimeSpan.FromSeconds(120));
            output.WriteLine($"--- doctor behind a {nat} router (exit {result.ExitCode}):");
            output.WriteLine(result.Output);
            return (result.ExitCode, result.StandardOutput);
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
}
