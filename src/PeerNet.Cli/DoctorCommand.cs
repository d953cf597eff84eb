using System.CommandLine;
using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PeerNet.Ice;
using PeerNet.Rtc;
using PeerNet.Stun.NatBehavior;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>
/// <c>peernet doctor [--hub URL]</c>: checks the hub (HTTPS, certificate, signaling welcome), each STUN
/// server (public address, NAT, RFC 5780 mapping and filtering), each TURN server (authentication,
/// allocation, a relayed round trip), then says in plain words what will and will not work.
/// Exit code 0 when every check passed (warnings included), 1 when one failed, 2 for bad usage.
/// </summary>
internal static class DoctorCommand
{
    private const int MaxStunServers = 4;
    private const int MaxTurnServers = 6;

    public static Command Create()
    {
        var hub = new Option<string?>("--hub") { Description = "The hub to check: https://host:port (or wss://host:port/signal); its ICE servers are checked too" };
        var insecure = new Option<bool>("--insecure") { Description = "Accept any hub certificate (also for turns: servers)" };
        var pin = new Option<string?>("--hub-sha256") { Description = "Accept the hub's certificate if its SHA-256 fingerprint is this (also for turns: servers)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds each check may take", DefaultValueFactory = _ => 10 };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log protocol details" };
        var iceServer = new Option<string[]>("--ice-server")
        {
            Description = "A STUN/TURN server URL to check (stun:host:port, turn:host:port?transport=udp|tcp, turns:host:port); repeatable. Replaces the hub's servers",
            AllowMultipleArgumentsPerToken = false,
        };
        var iceUsername = new Option<string?>("--ice-username") { Description = "Username for the turn:/turns: URLs of --ice-server" };
        var iceCredential = new Option<string?>("--ice-credential") { Description = "Password for the turn:/turns: URLs of --ice-server" };
        var noHubIceServers = new Option<bool>("--no-hub-ice-servers") { Description = "Do not check the STUN/TURN servers the hub hands out" };
        var json = new Option<bool>("--json") { Description = "Print the findings as one JSON document instead of lines" };

        var command = new Command("doctor", "Check the hub, STUN (public address, NAT behaviour) and TURN (authentication, relayed round trip), and say what will work.")
        {
            hub, insecure, pin, timeout, verbose, iceServer, iceUsername, iceCredential, noHubIceServers, json,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var hubUrl = result.GetValue(hub);
            var explicitServers = result.GetValue(iceServer) ?? [];
            if (hubUrl is null && explicitServers.Length == 0)
            {
                AnsiConsole.MarkupLine("[red]error:[/] nothing to check: give --hub URL, or --ice-server URLs (or both)");
                return 2;
            }

            var seconds = result.GetValue(timeout);
            if (seconds <= 0)
            {
                AnsiConsole.MarkupLine("[red]error:[/] --timeout must be at least 1 second");
                return 2;
            }

            IReadOnlyList<IceServer>? parsedExplicit = null;
            if (explicitServers.Length > 0)
            {
                try
                {
                    parsedExplicit = [.. explicitServers.Select(url => IceServer.Parse(url, result.GetValue(iceUsername), result.GetValue(iceCredential)))];
                }
                catch (FormatException e)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] --ice-server: {e.Message}");
                    return 2;
                }
            }

            var options = new Settings(hubUrl, result.GetValue(insecure), result.GetValue(pin), TimeSpan.FromSeconds(seconds),
                parsedExplicit, !result.GetValue(noHubIceServers), result.GetValue(json));
            using var loggers = LoggerFactory.Create(logging => logging
                .AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss.fff ";
                })
                .SetMinimumLevel(result.GetValue(verbose) ? LogLevel.Debug : LogLevel.None));
            return await RunAsync(options, loggers, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private sealed record Settings(string? Hub, bool Insecure, string? Pin, TimeSpan Timeout, IReadOnlyList<IceServer>? IceServers, bool UseHubIceServers, bool Json);

    private static async Task<int> RunAsync(Settings settings, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var report = new DoctorReport(settings.Json);
        var clock = Stopwatch.StartNew();
        // Every check is bounded by --timeout; this bounds the run as a whole, whatever the number of servers.
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(settings.Timeout * (4 + MaxStunServers + (3 * MaxTurnServers)));
        report.Heading(settings.Hub is null ? "PeerNet doctor" : $"PeerNet doctor: {settings.Hub}");

        DoctorHubCheck.Outcome? hub = null;
        var stun = new List<NatBehaviorResult>();
        var turn = new List<DoctorTurnCheck.Outcome>();
        var stunServers = new List<IceServer>();
        var turnServers = new List<IceServer>();
        try
        {
            if (settings.Hub is { } hubUrl)
            {
                hub = await DoctorHubCheck.RunAsync(hubUrl, settings.Insecure, settings.Pin, settings.Timeout, report, loggers, bound.Token).ConfigureAwait(false);
            }

            var servers = IceServers(settings, hub, report);
            stunServers = StunTargets(servers);
            turnServers = [.. servers.Where(s => s.IsTurn).Take(MaxTurnServers)];
            foreach (var server in stunServers)
            {
                if (await DoctorStunCheck.RunAsync(server, settings.Timeout, report, bound.Token).ConfigureAwait(false) is { } found)
                {
                    stun.Add(found);
                }
            }

            var validation = TlsValidation(settings);
            foreach (var server in turnServers)
            {
                turn.Add(await DoctorTurnCheck.RunAsync(server, validation, settings.Timeout, report, bound.Token).ConfigureAwait(false));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            report.Add(new DoctorCheck("doctor", DoctorStatus.Fail, $"stopped: the checks took longer than {(settings.Timeout * (4 + MaxStunServers + (3 * MaxTurnServers))).TotalSeconds:0} s"));
        }

        Summarize(report, settings, hub, stunServers.Count, stun, turnServers.Count, turn);
        return report.Finish(clock.Elapsed);
    }

    /// <summary>--ice-server URLs, else the hub's (unless --no-hub-ice-servers); listed as a fact.</summary>
    private static List<IceServer> IceServers(Settings settings, DoctorHubCheck.Outcome? hub, DoctorReport report)
    {
        var servers = new List<IceServer>();
        string origin;
        if (settings.IceServers is { } given)
        {
            servers.AddRange(given);
            origin = "from --ice-server";
        }
        else if (hub is { Signaling: true } && settings.UseHubIceServers)
        {
            foreach (var entry in hub.IceServers)
            {
                foreach (var url in entry.Urls)
                {
                    try
                    {
                        servers.Add(IceServer.Parse(url, entry.Username, entry.Credential));
                    }
                    catch (FormatException e)
                    {
                        report.Add(new DoctorCheck("ICE servers", DoctorStatus.Warn, $"the hub handed out a bad URL: {e.Message}"));
                    }
                }
            }

            origin = "from the hub's welcome";
        }
        else
        {
            if (hub is { Signaling: true }) report.Add(new DoctorCheck("ICE servers", DoctorStatus.Info, "none checked (--no-hub-ice-servers)"));
            return servers;
        }

        report.Add(new DoctorCheck("ICE servers", DoctorStatus.Info, servers.Count == 0 ? $"none {origin}" : $"{origin}: {string.Join(", ", servers)}"));
        return servers;
    }

    // stun: servers; without any, the TURN servers reached over UDP answer Binding requests too.
    private static List<IceServer> StunTargets(List<IceServer> servers)
    {
        var targets = servers.Where(s => s.Scheme == IceServerScheme.Stun).ToList();
        if (targets.Count == 0)
        {
            targets = [.. servers.Where(s => s.Scheme == IceServerScheme.Turn && s.Transport == IceServerTransport.Udp)];
        }

        return [.. targets.DistinctBy(s => (s.Host.ToLowerInvariant(), s.Port)).Take(MaxStunServers)];
    }

    private static RemoteCertificateValidationCallback? TlsValidation(Settings settings)
    {
        if (settings.Insecure) return (_, _, _, _) => true;
        if (settings.Pin is not { } pin) return null;
        return (_, certificate, _, errors) => errors == SslPolicyErrors.None || (certificate is not null
            && DoctorHubCheck.SameFingerprint(Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())), pin));
    }

    // ---- What it means ----

    private static void Summarize(DoctorReport report, Settings settings, DoctorHubCheck.Outcome? hub, int stunCount, List<NatBehaviorResult> stun,
        int turnCount, List<DoctorTurnCheck.Outcome> turn)
    {
        if (hub is not null)
        {
            if (hub.Signaling)
            {
                report.Summarize(DoctorStatus.Pass, $"The hub works: peers can find you through {settings.Hub}.");
            }
            else
            {
                report.Summarize(DoctorStatus.Fail, "The hub cannot be used (see above): peers cannot find you through it.");
                if (settings.IceServers is null)
                {
                    report.Summarize(DoctorStatus.Info, "STUN and TURN were not checked: the hub hands out its servers only in its welcome (check others with --ice-server).");
                    return;
                }
            }
        }

        var turnWorks = turn.FirstOrDefault(t => t.Allocated && t.RoundTrip == true) ?? turn.FirstOrDefault(t => t.Allocated && t.RoundTrip is null);
        var answered = stun.FirstOrDefault(r => r.Status is NatBehaviorStatus.Completed or NatBehaviorStatus.NotSupported);
        if (stunCount == 0)
        {
            report.Summarize(DoctorStatus.Warn, "No STUN server: your public address is unknown, so only peers on your own network connect directly; the rest need TURN.");
        }
        else if (answered is null)
        {
            report.Summarize(DoctorStatus.Fail, "STUN did not answer: your public address is unknown (UDP may be blocked); only peers on your own network, or a TURN relay, can reach you.");
        }
        else if (answered.IsBehindNat == false)
        {
            report.Summarize(DoctorStatus.Pass, $"No NAT: your address {answered.MappedAddress.ToIPAddress()} is public, so direct connections will work with most peers.");
        }
        else if (answered.Mapping == NatMappingBehavior.EndpointIndependent)
        {
            var filtering = answered.Filtering == NatFilteringBehavior.EndpointIndependent ? " and filtering: peers can even reach you first" : "";
            report.Summarize(DoctorStatus.Pass, $"Direct connections will work with most peers (endpoint-independent mapping{filtering}); public address {answered.MappedAddress.ToIPAddress()}.");
        }
        else if (answered.Mapping is NatMappingBehavior.AddressDependent or NatMappingBehavior.AddressAndPortDependent)
        {
            var turnWords = turnWorks is not null ? "TURN is needed and works" : turnCount == 0 ? "TURN is needed, and none is configured" : "TURN is needed, but it does not work here";
            report.Summarize(turnWorks is not null ? DoctorStatus.Warn : DoctorStatus.Fail,
                $"Your NAT is symmetric ({DoctorStunCheck.Words(answered.Mapping)} mapping): direct connections to peers behind other symmetric NATs (and port-restricted ones) will fail; {turnWords}.");
        }
        else
        {
            var why = answered.Mapping == NatMappingBehavior.NotSupported ? "the STUN server does not support RFC 5780" : answered.Note ?? "the tests did not finish";
            report.Summarize(DoctorStatus.Info, $"Behind a NAT whose behaviour is unknown ({why}): direct connections may or may not work; TURN covers the rest.");
        }

        if (turnCount == 0)
        {
            report.Summarize(DoctorStatus.Warn, "No TURN server: peers behind symmetric NATs will not reach you, and strict firewalls will block you.");
        }
        else if (turnWorks is null)
        {
            var problem = turn.FirstOrDefault(t => t.Problem is not null)?.Problem ?? "see above";
            report.Summarize(DoctorStatus.Fail, $"TURN does not work: {problem}; peers behind symmetric NATs will not reach you.");
        }
        else
        {
            report.Summarize(DoctorStatus.Pass, turnWorks.RoundTrip == true
                ? $"TURN works ({turnWorks.Server}, relayed round trip): when a direct connection fails, it goes through the relay."
                : $"TURN allocations work ({turnWorks.Server}); the relayed round trip could not be tried here (the server's peer policy).");
            foreach (var failed in turn.Where(t => !t.Allocated || t.RoundTrip == false))
            {
                report.Summarize(DoctorStatus.Warn, $"{failed.Server} does not work ({failed.Problem ?? "no data came back through the relay"}); the other TURN URLs cover for it.");
            }
        }
    }
}
