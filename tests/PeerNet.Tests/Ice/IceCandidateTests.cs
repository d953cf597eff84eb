using System.Net;
using PeerNet.Ice;

namespace PeerNet.Tests.Ice;

public class IceCandidateTests
{
    public static TheoryData<string> RealCandidates => new(Lines);

    private static readonly string[] Lines =
    [
        // Chromium: host with network info, mDNS host, srflx, relay, IPv6, TCP active.
        "candidate:2999745851 1 udp 2122260223 192.168.56.1 56143 typ host generation 0 ufrag 9FrV network-id 1 network-cost 10",
        "candidate:3098319384 1 udp 2113937151 4a9b4c3e-d66f-4b61-8d2a-3a8c1b5f6e6d.local 54321 typ host generation 0 ufrag abcd network-cost 999",
        "candidate:842163049 1 udp 1677729535 203.0.113.5 54400 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag WbBI network-cost 999",
        "candidate:1863734219 1 udp 41885439 198.51.100.9 61234 typ relay raddr 203.0.113.5 rport 54400 generation 0 ufrag WbBI network-id 1",
        "candidate:3496617460 1 udp 2122197247 2001:db8:85a3::8a2e:370:7334 51234 typ host generation 0 ufrag ab12 network-id 2",
        "candidate:1234 1 tcp 1518280447 192.168.1.10 9 typ host tcptype active generation 0 ufrag ab12 network-id 1",
        "candidate:4 1 tcp 1518214911 ::1 38233 typ host tcptype passive generation 0 ufrag ab12 network-id 3",

        // aioice / aiortc: 32-hex foundations, no extensions, or generation only.
        "candidate:5b5f4f2f0c3e1b6ad0b2a1c7b1a0e8c9 1 udp 2130706431 192.168.1.2 41234 typ host",
        "candidate:7a1f0c6be0e1f24a5c3d6b8f9e2d1c0a 1 udp 1694498815 198.51.100.20 41234 typ srflx raddr 192.168.1.2 rport 41234",
        "candidate:e5a1d7d0a9c4b3f2e1d0c9b8a7f6e5d4 1 udp 16777215 198.51.100.30 50000 typ relay raddr 192.168.1.2 rport 41235 generation 0",
        "candidate:0f1e2d3c4b5a69788796a5b4c3d2e1f0 1 udp 2130706431 127.0.0.1 51000 typ host",
    ];

    [Theory]
    [MemberData(nameof(RealCandidates))]
    public void Real_candidates_round_trip(string line)
    {
        var candidate = IceCandidate.Parse(line);
        Assert.Equal(line, candidate.ToString());
        Assert.Equal(candidate.ToString(), IceCandidate.Parse("a=" + line).ToString());
    }

    [Fact]
    public void Fields_of_a_chromium_host_candidate()
    {
        var c = IceCandidate.Parse("candidate:2999745851 1 udp 2122260223 192.168.56.1 56143 typ host generation 0 ufrag 9FrV network-id 1 network-cost 10");
        Assert.Equal("2999745851", c.Foundation);
        Assert.Equal(1, c.Component);
        Assert.Equal(IceProtocol.Udp, c.Protocol);
        Assert.Equal(2122260223u, c.Priority);
        Assert.Equal("192.168.56.1", c.Address);
        Assert.Equal(56143, c.Port);
        Assert.Equal(IceCandidateType.Host, c.Type);
        Assert.Equal(0, c.Generation);
        Assert.Equal("9FrV", c.UsernameFragment);
        Assert.Equal(1, c.NetworkId);
        Assert.Equal(10, c.NetworkCost);
        Assert.False(c.IsMdnsHostName);
        Assert.True(c.TryGetIPAddress(out var ip));
        Assert.Equal(IPAddress.Parse("192.168.56.1"), ip);
    }

    [Fact]
    public void Mdns_relay_and_tcp_fields()
    {
        var mdns = IceCandidate.Parse("candidate:3098319384 1 udp 2113937151 4a9b4c3e-d66f-4b61-8d2a-3a8c1b5f6e6d.local 54321 typ host generation 0");
        Assert.True(mdns.IsMdnsHostName);
        Assert.False(mdns.TryGetIPAddress(out _));
        Assert.False(mdns.TryGetTransportAddress(out _));

        var relay = IceCandidate.Parse("candidate:1 1 UDP 41885439 198.51.100.9 61234 typ relay raddr 203.0.113.5 rport 54400");
        Assert.Equal(IceCandidateType.Relay, relay.Type);
        Assert.Equal("203.0.113.5", relay.RelatedAddress);
        Assert.Equal(54400, relay.RelatedPort);
        Assert.Equal(IceProtocol.Udp, relay.Protocol);

        var tcp = IceCandidate.Parse("candidate:1 1 tcp 1518280447 192.168.1.10 9 typ host tcptype so");
        Assert.Equal(IceProtocol.Tcp, tcp.Protocol);
        Assert.Equal(IceTcpCandidateType.SimultaneousOpen, tcp.TcpType);
    }

    [Fact]
    public void Firefox_uppercase_transport_and_trailing_crlf_are_accepted()
    {
        var c = IceCandidate.Parse("a=candidate:0 1 UDP 2122252543 192.168.1.2 49203 typ host\r\n");
        Assert.Equal("candidate:0 1 udp 2122252543 192.168.1.2 49203 typ host", c.ToString());
    }

    [Fact]
    public void Priority_formula_of_rfc_8445()
    {
        Assert.Equal(2130706431u, IceCandidate.ComputePriority(IceCandidateType.Host, 65535, 1));
        Assert.Equal((110u << 24) + (65535u << 8) + 255, IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, 65535, 1));
        Assert.Equal((100u << 24) + 256 - 2, IceCandidate.ComputePriority(IceCandidateType.ServerReflexive, 0, 2));
        Assert.Equal(255u, IceCandidate.ComputePriority(IceCandidateType.Relay, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => IceCandidate.ComputePriority(IceCandidateType.Host, 65536));
        Assert.Throws<ArgumentOutOfRangeException>(() => IceCandidate.ComputePriority(IceCandidateType.Host, 1, 0));
    }

    [Fact]
    public void Foundations_are_equal_exactly_for_same_type_base_protocol_and_server()
    {
        var a = IPAddress.Parse("192.168.1.2");
        var f = IceCandidate.ComputeFoundation(IceCandidateType.Host, a);
        Assert.Equal(f, IceCandidate.ComputeFoundation(IceCandidateType.Host, IPAddress.Parse("192.168.1.2")));
        Assert.NotEqual(f, IceCandidate.ComputeFoundation(IceCandidateType.ServerReflexive, a));
        Assert.NotEqual(f, IceCandidate.ComputeFoundation(IceCandidateType.Host, IPAddress.Parse("192.168.1.3")));
        Assert.NotEqual(f, IceCandidate.ComputeFoundation(IceCandidateType.Host, a, IceProtocol.Tcp));
        Assert.NotEqual(IceCandidate.ComputeFoundation(IceCandidateType.ServerReflexive, a, server: "stun:a"),
            IceCandidate.ComputeFoundation(IceCandidateType.ServerReflexive, a, server: "stun:b"));
        Assert.True(f.Length <= 32 && f.All(char.IsAsciiDigit));
    }

    [Fact]
    public void Round_trips_through_with_for_a_resolved_mdns_name()
    {
        var mdns = IceCandidate.Parse("candidate:1 1 udp 2113937151 abc.local 5000 typ host generation 0");
        var resolved = mdns with { Address = "192.168.1.20" };
        Assert.Equal("candidate:1 1 udp 2113937151 192.168.1.20 5000 typ host generation 0", resolved.ToString());
    }

    [Theory]
    [InlineData("", "line")]
    [InlineData("candidate:", "foundation")]
    [InlineData("candidat:1 1 udp 1 1.2.3.4 1 typ host", "line")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ", "type")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1", "typ")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4", "port")]
    [InlineData("candidate:1 1 udp 1", "address")]
    [InlineData("candidate:1 1 udp", "priority")]
    [InlineData("candidate:1 1", "transport")]
    [InlineData("candidate:1", "component")]
    [InlineData("candidate:123456789012345678901234567890123 1 udp 1 1.2.3.4 1 typ host", "foundation")]
    [InlineData("candidate:a-b 1 udp 1 1.2.3.4 1 typ host", "foundation")]
    [InlineData("candidate:1 0 udp 1 1.2.3.4 1 typ host", "component")]
    [InlineData("candidate:1 257 udp 1 1.2.3.4 1 typ host", "component")]
    [InlineData("candidate:1 x udp 1 1.2.3.4 1 typ host", "component")]
    [InlineData("candidate:1 1 sctp 1 1.2.3.4 1 typ host", "transport")]
    [InlineData("candidate:1 1 udp 4294967296 1.2.3.4 1 typ host", "priority")]
    [InlineData("candidate:1 1 udp -1 1.2.3.4 1 typ host", "priority")]
    [InlineData("candidate:1 1 udp 99999999999 1.2.3.4 1 typ host", "priority")]
    [InlineData("candidate:1 1 udp 1 1.2.3 1 typ host", "address")]
    [InlineData("candidate:1 1 udp 1 256.1.1.1 1 typ host", "address")]
    [InlineData("candidate:1 1 udp 1 [::1] 1 typ host", "address")]
    [InlineData("candidate:1 1 udp 1 fe80::1%eth0 1 typ host", "address")]
    [InlineData("candidate:1 1 udp 1 1:2:3 1 typ host", "address")]
    [InlineData("candidate:1 1 udp 1 -bad-.local 1 typ host", "address")]
    [InlineData("candidate:1 1 udp 1 a..local 1 typ host", "address")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 65536 typ host", "port")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 -5 typ host", "port")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 type host", "typ")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ lan", "type")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ srflx raddr 1.2.3.999 rport 1", "raddr")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ srflx raddr 1.2.3.4 rport x", "rport")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ srflx raddr", "extension")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ host generation", "extension")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ host raddr 1.2.3.4 raddr 1.2.3.4", "raddr")]
    [InlineData("candidate:1 1 tcp 1 1.2.3.4 9 typ host tcptype sideways", "tcptype")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ host\tgeneration 0", "line")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ host gén 0", "line")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ host x\0 0", "line")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 1 typ host a=b 0", "extension")]
    public void Malformed_candidates_name_the_field(string line, string field)
    {
        var error = Assert.Throws<IceCandidateFormatException>(() => IceCandidate.Parse(line));
        Assert.Equal(field, error.Field);
        Assert.IsAssignableFrom<FormatException>(error);
        Assert.False(IceCandidate.TryParse(line, out _));
    }

    [Fact]
    public void Oversized_lines_and_too_many_extensions_are_refused()
    {
        Assert.Equal("line", Assert.Throws<IceCandidateFormatException>(() => IceCandidate.Parse("candidate:1 1 udp 1 1.2.3.4 1 typ host " + new string('x', 5000))).Field);
        var many = "candidate:1 1 udp 1 1.2.3.4 1 typ host" + string.Concat(Enumerable.Range(0, 40).Select(i => $" k{i} v"));
        Assert.Equal("extension", Assert.Throws<IceCandidateFormatException>(() => IceCandidate.Parse(many)).Field);
        var longName = "candidate:1 1 udp 1 " + string.Join('.', Enumerable.Repeat(new string('a', 63), 5)) + " 1 typ host";
        Assert.Equal("address", Assert.Throws<IceCandidateFormatException>(() => IceCandidate.Parse(longName)).Field);
    }

    [Fact]
    public void Random_mutations_only_ever_raise_the_format_exception()
    {
        var random = new Random(8839);
        var seeds = Lines;
        const string alphabet = "0123456789abcdefxyz .:-/+=\t\0é\u00ff[]%typhostudpraddrrport";
        for (var i = 0; i < 20_000; i++)
        {
            var chars = seeds[random.Next(seeds.Length)].ToCharArray().ToList();
            for (var m = random.Next(1, 5); m > 0; m--)
            {
                var position = random.Next(chars.Count + 1);
                switch (random.Next(3))
                {
                    case 0 when chars.Count > 0 && position < chars.Count:
                        chars.RemoveAt(position);
                        break;
                    case 1:
                        chars.Insert(position, alphabet[random.Next(alphabet.Length)]);
                        break;
                    default:
                        if (position < chars.Count)
                        {
                            chars[position] = alphabet[random.Next(alphabet.Length)];
                        }

                        break;
                }
            }

            var line = new string([.. chars]);
            try
            {
                var parsed = IceCandidate.Parse(line);

                // Whatever parses formats to something that parses to the same thing.
                Assert.Equal(parsed.ToString(), IceCandidate.Parse(parsed.ToString()).ToString());
            }
            catch (IceCandidateFormatException)
            {
            }
        }
    }

    [Fact]
    public void Generated_credentials_follow_rfc_8839()
    {
        for (var i = 0; i < 100; i++)
        {
            Assert.True(IceCredentials.IsValidUfrag(IceCredentials.GenerateUfrag()));
            Assert.True(IceCredentials.IsValidPassword(IceCredentials.GeneratePassword()));
        }

        Assert.NotEqual(IceCredentials.GeneratePassword(), IceCredentials.GeneratePassword());
        Assert.False(IceCredentials.IsValidUfrag("abc"));
        Assert.False(IceCredentials.IsValidUfrag("ab:cd"));
        Assert.False(IceCredentials.IsValidPassword("short"));
        Assert.False(IceCredentials.IsValidPassword(new string('a', 21) + "-"));
    }
}
