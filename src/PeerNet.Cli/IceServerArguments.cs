using System.CommandLine;
using PeerNet.Rtc;

namespace PeerNet.Cli;

/// <summary>The <c>--ice-server</c> URLs of a command, with <c>--ice-username</c> / <c>--ice-credential</c> for the TURN ones.</summary>
internal static class IceServerArguments
{
    /// <summary>
    /// The servers named by <paramref name="urls"/>: stun: alone, turn:/turns: with the username and
    /// credential options.
    /// </summary>
    /// <exception cref="ArgumentException">A URL is invalid, or a TURN URL has no credentials.</exception>
    public static List<RtcIceServer> Parse(ParseResult result, Option<string[]> urls, Option<string?> username, Option<string?> credential)
    {
        var servers = new List<RtcIceServer>();
        foreach (var url in result.GetValue(urls) ?? [])
        {
            var turn = url.StartsWith("turn", StringComparison.OrdinalIgnoreCase);
            var server = turn
                ? new RtcIceServer { Urls = [url], Username = result.GetValue(username), Credential = result.GetValue(credential) }
                : new RtcIceServer { Urls = [url] };
            try
            {
                _ = PeerNet.Ice.IceServer.Parse(url, server.Username, server.Credential);
            }
            catch (FormatException e)
            {
                throw new ArgumentException($"--ice-server {url}: {e.Message}", e);
            }
            servers.Add(server);
        }
        return servers;
    }
}
