using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PeerNet.Rtc;
using PeerNet.Signaling;

namespace PeerNet.Cli;

/// <summary>
/// The doctor's hub checks: an HTTPS GET of the hub's page (reachability, the certificate and whether
/// it is trusted), then the signaling WebSocket's welcome (the peer id and the ICE servers handed out).
/// Failures are put in words: DNS, refused, unreachable, silent, untrusted certificate.
/// </summary>
internal static class DoctorHubCheck
{
    /// <summary>What the hub checks found.</summary>
    public sealed record Outcome(bool Reachable, bool Signaling, IReadOnlyList<RtcIceServer> IceServers);

    public static async Task<Outcome> RunAsync(string hub, bool insecure, string? pin, TimeSpan timeout, DoctorReport report,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        Uri signalingUrl;
        Uri pageUrl;
        try
        {
            signalingUrl = PeerCommandOptions.SignalingUrl(hub);
            pageUrl = new UriBuilder(signalingUrl) { Scheme = signalingUrl.Scheme == "wss" ? "https" : "http", Path = "/" }.Uri;
        }
        catch (ArgumentException e)
        {
            report.Add(new DoctorCheck("hub", DoctorStatus.Fail, e.Message) { Hint = "give the hub as https://host:port" });
            return new Outcome(false, false, []);
        }

        if (!await CheckPageAsync(pageUrl, insecure, pin, timeout, report, cancellationToken).ConfigureAwait(false))
        {
            return new Outcome(false, false, []);
        }

        var clock = Stopwatch.StartNew();
        var options = new SignalingClientOptions
        {
            Url = signalingUrl,
            AcceptAnyCertificate = insecure,
            CertificateSha256 = pin,
            AutoReconnect = false,
            ConnectTimeout = timeout,
            RequestTimeout = timeout,
        };
        await using var signaling = new SignalingClient(options, loggers.CreateLogger<SignalingClient>());
        try
        {
            await signaling.ConnectAsync(cancellationToken).ConfigureAwait(false);
            var welcome = clock.Elapsed.TotalMilliseconds;
            var rtt = await signaling.PingAsync(cancellationToken).ConfigureAwait(false);
            var servers = signaling.IceServers;
            var urls = servers.Sum(s => s.Urls.Count);
            report.Add(new DoctorCheck("signaling", DoctorStatus.Pass,
                $"{signalingUrl} welcomed us as {signaling.Id} with {urls} ICE server URL{(urls == 1 ? "" : "s")}; ping {DoctorReport.Format(rtt.TotalMilliseconds)}", welcome)
            {
                Data = new Dictionary<string, string> { ["url"] = signalingUrl.ToString(), ["id"] = signaling.Id ?? "", ["pingMs"] = rtt.TotalMilliseconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) },
            });
            return new Outcome(true, true, servers);
        }
        catch (Exception e) when (e is SignalingException or IOException or System.Net.WebSockets.WebSocketException or InvalidOperationException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            report.Add(new DoctorCheck("signaling", DoctorStatus.Fail, $"{signalingUrl}: {e.Message}", clock.Elapsed.TotalMilliseconds)
            {
                Hint = "the page answers but the WebSocket does not: a proxy in front of the hub may not pass WebSocket upgrades to /signal",
            });
            return new Outcome(true, false, []);
        }
    }

    private static async Task<bool> CheckPageAsync(Uri url, bool insecure, string? pin, TimeSpan timeout, DoctorReport report, CancellationToken cancellationToken)
    {
        string? fingerprint = null;
        var errors = SslPolicyErrors.None;
        var pinned = false;
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            AllowAutoRedirect = false,
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, policyErrors) =>
                {
                    errors = policyErrors;
                    if (certificate is null) return false;
                    fingerprint = string.Join(':', SHA256.HashData(certificate.GetRawCertData()).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
                    pinned = pin is not null && SameFingerprint(fingerprint, pin);
                    return policyErrors == SslPolicyErrors.None || insecure || pinned;
                },
            },
        };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var clock = Stopwatch.StartNew();
        var host = $"{url.Host}:{url.Port}";
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            var ms = clock.Elapsed.TotalMilliseconds;
            var status = (int)response.StatusCode;
            var data = new Dictionary<string, string> { ["url"] = url.ToString(), ["httpStatus"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (fingerprint is not null)
            {
                data["certificateSha256"] = fingerprint;
                data["certificateTrusted"] = (errors == SslPolicyErrors.None).ToString().ToLowerInvariant();
            }

            var trust = url.Scheme == "http"
                ? "plain HTTP (browsers allow WebRTC on it only for localhost)"
                : errors == SslPolicyErrors.None
                    ? $"certificate trusted by this system, SHA-256 {fingerprint}"
                    : pinned
                        ? $"certificate {Untrusted(errors)}, accepted because it matches --hub-sha256 ({fingerprint})"
                        : $"certificate {Untrusted(errors)}, accepted because of --insecure; SHA-256 {fingerprint}";
            var ok = status < 500;
            report.Add(new DoctorCheck("hub", ok ? (errors == SslPolicyErrors.None || pinned ? DoctorStatus.Pass : DoctorStatus.Warn) : DoctorStatus.Fail,
                $"{url} answered HTTP {status}; {trust}", ms)
            {
                Hint = ok && errors != SslPolicyErrors.None && !pinned && url.Scheme == "https"
                    ? $"compare this fingerprint with the one `peernet serve` printed, then use --hub-sha256 {fingerprint} instead of --insecure"
                    : ok ? null : "the hub is up but failing: see its log",
                Data = data,
            });
            return ok;
        }
        catch (HttpRequestException e)
        {
            var (message, hint) = Explain(e, host, fingerprint, errors, pin);
            report.Add(new DoctorCheck("hub", DoctorStatus.Fail, $"{url}: {message}", clock.Elapsed.TotalMilliseconds) { Hint = hint });
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            report.Add(new DoctorCheck("hub", DoctorStatus.Fail, $"{url}: no answer within {timeout.TotalSeconds:0.#} s", clock.Elapsed.TotalMilliseconds)
            {
                Hint = $"a firewall may be dropping packets to {host}, or the hub is overloaded",
            });
            return false;
        }
    }

    private static (string Message, string? Hint) Explain(HttpRequestException e, string host, string? fingerprint, SslPolicyErrors errors, string? pin)
    {
        var socket = FindInner<SocketException>(e);
        if (e.HttpRequestError == HttpRequestError.NameResolutionError || socket?.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData)
        {
            return ($"cannot resolve the host name (DNS): {socket?.Message ?? e.Message}", "check the spelling of the host, or your DNS settings");
        }

        if (socket?.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return ($"connection refused: nothing listens on {host}", "is `peernet serve` running there, and is the port right?");
        }

        if (socket?.SocketErrorCode is SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable)
        {
            return ($"{host} is unreachable from here ({socket.Message})", "check your network connection and the address");
        }

        if (socket?.SocketErrorCode == SocketError.TimedOut)
        {
            return ($"no answer from {host} (connection timed out)", "a firewall may be dropping packets to the hub's port");
        }

        if (e.HttpRequestError == HttpRequestError.SecureConnectionError || FindInner<AuthenticationException>(e) is not null)
        {
            if (fingerprint is not null && errors != SslPolicyErrors.None)
            {
                return pin is not null
                    ? ($"the certificate's SHA-256 {fingerprint} does not match --hub-sha256 {pin}", "someone may be in the middle, or the hub made a new certificate: check the fingerprint `peernet serve` printed")
                    : ($"certificate not trusted: it is {Untrusted(errors)}; SHA-256 {fingerprint}",
                        $"if this is your hub, compare the fingerprint with the one `peernet serve` printed and pass --hub-sha256 {fingerprint} (or --insecure to accept any certificate)");
            }

            return ($"TLS failed: {Innermost(e).Message}", "is it an HTTPS port? a hub started with --http speaks plain http://");
        }

        return (Innermost(e).Message, null);
    }

    private static string Untrusted(SslPolicyErrors errors)
    {
        var reasons = new List<string>();
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors)) reasons.Add("not signed by an authority this system trusts (self-signed?)");
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)) reasons.Add("issued for another host name");
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable)) reasons.Add("missing");
        return reasons.Count == 0 ? "not trusted" : string.Join(" and ", reasons);
    }

    /// <summary>Fingerprints compare without colons and case.</summary>
    public static bool SameFingerprint(string a, string b) =>
        string.Equals(a.Replace(":", "", StringComparison.Ordinal), b.Replace(":", "", StringComparison.Ordinal).Trim(), StringComparison.OrdinalIgnoreCase);

    private static T? FindInner<T>(Exception e) where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is T match) return match;
        }

        return null;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
