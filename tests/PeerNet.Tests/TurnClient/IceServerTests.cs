using PeerNet.Ice;
using PeerNet.Rtc;

namespace PeerNet.Tests.TurnClient;

public class IceServerTests
{
    [Theory]
    [InlineData("stun:stun.example.org", IceServerScheme.Stun, "stun.example.org", 3478, IceServerTransport.Udp)]
    [InlineData("stun:192.0.2.1:19302", IceServerScheme.Stun, "192.0.2.1", 19302, IceServerTransport.Udp)]
    [InlineData("STUN:[2001:db8::1]:3479", IceServerScheme.Stun, "2001:db8::1", 3479, IceServerTransport.Udp)]
    [InlineData("stuns:stun.example.org", IceServerScheme.Stuns, "stun.example.org", 5349, IceServerTransport.Tls)]
    [InlineData("turn:turn.example.org", IceServerScheme.Turn, "turn.example.org", 3478, IceServerTransport.Udp)]
    [InlineData("turn:turn.example.org:3480?transport=tcp", IceServerScheme.Turn, "turn.example.org", 3480, IceServerTransport.Tcp)]
    [InlineData("turn:127.0.0.1?transport=udp", IceServerScheme.Turn, "127.0.0.1", 3478, IceServerTransport.Udp)]
    [InlineData("turn:[::1]:5000?transport=TCP", IceServerScheme.Turn, "::1", 5000, IceServerTransport.Tcp)]
    [InlineData("turns:turn.example.org", IceServerScheme.Turns, "turn.example.org", 5349, IceServerTransport.Tls)]
    [InlineData("turns:turn.example.org:443?transport=tcp", IceServerScheme.Turns, "turn.example.org", 443, IceServerTransport.Tls)]
    public void Parses_RFC_7064_and_7065_URLs(string url, IceServerScheme scheme, string host, int port, IceServerTransport transport)
    {
        var server = IceServer.Parse(url, "user", "pass");
        Assert.Equal(scheme, server.Scheme);
        Assert.Equal(host, server.Host);
        Assert.Equal(port, server.Port);
        Assert.Equal(transport, server.Transport);
        Assert.Equal(server with { }, IceServer.Parse(server.ToString(), "user", "pass"));
    }

    [Theory]
    [InlineData("", "length")]
    [InlineData("stun", "scheme")]
    [InlineData("http://example.org", "scheme")]
    [InlineData("stun://example.org", "//")]
    [InlineData("stun:", "host")]
    [InlineData("stun::3478", "host")]
    [InlineData("stun:exa mple.org", "host")]
    [InlineData("stun:example.org:0", "port")]
    [InlineData("stun:example.org:65536", "port")]
    [InlineData("stun:example.org:+12", "port")]
    [InlineData("stun:example.org:", "port")]
    [InlineData("stun:2001:db8::1", "brackets")]
    [InlineData("stun:[2001:db8::1", "']'")]
    [InlineData("stun:[example.org]", "IPv6")]
    [InlineData("stun:[::1]x", "port")]
    [InlineData("stun:example.org?transport=udp", "query")]
    [InlineData("turn:example.org?transport=sctp", "transport")]
    [InlineData("turn:example.org?foo=bar", "query")]
    [InlineData("turns:example.org?transport=udp", "transport")]
    public void Invalid_URLs_name_the_bad_part(string url, string part)
    {
        var e = Assert.Throws<FormatException>(() => IceServer.Parse(url, "user", "pass"));
        Assert.Contains(part, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TURN_needs_credentials_as_browsers_require()
    {
        Assert.Contains("credential", Assert.Throws<FormatException>(() => IceServer.Parse("turn:example.org")).Message);
        Assert.Null(IceServer.Parse("stun:example.org").Username);
    }

    [Fact]
    public void Maps_browser_style_RtcIceServer_entries()
    {
        var servers = RtcIceLink.ParseIceServers(
        [
            new RtcIceServer { Urls = ["stun:127.0.0.1:3478"] },
            new RtcIceServer { Urls = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"], Username = "1764000000:peer", Credential = "c2VjcmV0" },
        ]);
        Assert.Equal(3, servers.Count);
        Assert.All(servers.Skip(1), s => Assert.Equal("1764000000:peer", s.Username));
        Assert.Equal(IceServerTransport.Tcp, servers[2].Transport);
        Assert.Throws<FormatException>(() => RtcIceLink.ParseIceServers([new RtcIceServer { Urls = ["turn:x"] }]));
    }

    [Fact]
    public void Hostile_URLs_throw_only_FormatException()
    {
        var random = new Random(7065);
        const string alphabet = "stunr:[]?=/.-_%@0123456789abcdefABCDEF:: \t\u00e9\u0000";
        var seeds = new[] { "turn:example.org:3478?transport=udp", "stun:[2001:db8::1]:3478", "turns:a.b:5349?transport=tcp" };
        for (var i = 0; i < 20_000; i++)
        {
            var chars = seeds[i % seeds.Length].ToCharArray().ToList();
            for (var m = random.Next(1, 5); m > 0; m--)
            {
                var at = random.Next(chars.Count + 1);
                switch (random.Next(3))
                {
                    case 0 when chars.Count > 0 && at < chars.Count:
                        chars.RemoveAt(at);
                        break;
                    case 1 when at < chars.Count:
                        chars[at] = alphabet[random.Next(alphabet.Length)];
                        break;
                    default:
                        chars.Insert(at, alphabet[random.Next(alphabet.Length)]);
                        break;
                }
            }

            var url = new string([.. chars]);
            try
            {
                var server = IceServer.Parse(url, "u", "p");
                Assert.InRange(server.Port, 1, 65535);
                Assert.NotEmpty(server.Host);
            }
            catch (FormatException)
            {
            }
        }

        Assert.Throws<FormatException>(() => IceServer.Parse("stun:" + new string('a', 5000)));
        Assert.Throws<FormatException>(() => IceServer.Parse("stun:" + new string('a', 300)));
    }
}
