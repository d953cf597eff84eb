using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text.Json;
using PeerNet.Sharing;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>
/// <c>peernet pin LINK --to HUB --token TOKEN</c>: asks a running <c>peernet serve --store</c> to keep
/// a replica (POST HUB/api/pins). Only the content id is sent: never the link, so never its key.
/// </summary>
internal static class RemotePin
{
    public static async Task<int> RunAsync(ShareLink link, string hubText, string? token, bool insecure, string? pin, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(hubText, UriKind.Absolute, out var hub) || hub.Scheme is not ("http" or "https"))
        {
            return ShareErrors.Report($"--to: '{hubText}' is not a hub address (https://HOST[:PORT]/)");
        }
        if (string.IsNullOrWhiteSpace(token))
        {
            return ShareErrors.Report($"--to needs the store's token: --token TOKEN or ${ServeCommand.PinTokenVariable} (the hub prints where it keeps it)");
        }
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            UseProxy = false,
            AllowAutoRedirect = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    errors == SslPolicyErrors.None || insecure
                    || certificate is not null && pin is not null
                    && DoctorHubCheck.SameFingerprint(Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())), pin),
            },
        };
        using var http = new HttpClient(handler) { Timeout = timeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(hub, "/api/pins"))
        {
            Content = JsonContent.Create(new { cid = link.ContentId.ToString() }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token.Trim());
        try
        {
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted)
            {
                using var json = JsonDocument.Parse(body);
                var state = json.RootElement.GetProperty("state").GetString();
                var what = response.StatusCode == HttpStatusCode.Accepted ? "now pinning" : $"already kept ({state})";
                AnsiConsole.MarkupLineInterpolated($"[green]pinned:[/] {hub.GetLeftPart(UriPartial.Authority)} is {what} {link.ContentId}; it fetches the sealed pieces from the swarm and serves them");
                return 0;
            }
            return ShareErrors.Report($"the hub refused the pin ({(int)response.StatusCode}): {Message(body)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException && !cancellationToken.IsCancellationRequested)
        {
            return ShareErrors.Report($"cannot reach the hub at {hub}: {e.Message}", ShareErrors.NetworkExitCode);
        }
    }

    private static string Message(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("message", out var m) ? m.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body.Length > 200 ? body[..200] : body;
        }
    }
}
