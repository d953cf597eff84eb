using PeerNet.Sdp;

namespace PeerNet.Tests.Sdp;

/// <summary>Offers built by <see cref="Jsep.CreateOffer"/> (RFC 8829 §5.2.1).</summary>
public class JsepOfferTests
{
    internal const string Fingerprint = "sha-256 0B:25:82:4F:E7:45:D5:47:06:8F:49:B4:B7:1F:F1:BC:22:5D:EB:7E:E9:8B:EC:FD:E3:19:54:0C:0F:5A:4C:1E";

    internal static JsepParameters Local => new()
    {
        IceUfrag = "Ab3d",
        IcePwd = "0123456789abcdefghijklmn",
        Fingerprints = [Fingerprint],
    };

    [Fact]
    public void Offer_has_every_line_a_data_channel_peer_needs()
    {
        var offer = Jsep.CreateOffer(Local with { SessionId = 1234567890123456789, SessionVersion = 2 });

        Assert.Equal(SdpSamples.Crlf($"""
            v=0
            o=- 1234567890123456789 2 IN IP4 127.0.0.1
            s=-
            t=0 0
            a=group:BUNDLE 0
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel
            c=IN IP4 0.0.0.0
            a=ice-ufrag:Ab3d
            a=ice-pwd:0123456789abcdefghijklmn
            a=ice-options:trickle
            a=fingerprint:{Fingerprint}
            a=setup:actpass
            a=mid:0
            a=sctp-port:5000
            a=max-message-size:262144
            """), offer.ToString());
    }

    [Fact]
    public void Offer_parses_back_into_the_same_parameters()
    {
        var parameters = Local with
        {
            Mid = "data",
            SctpPort = 5001,
            MaxMessageSize = 0,
            Candidates = ["candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host", "candidate:2 1 udp 1694498815 192.0.2.7 50000 typ srflx raddr 127.0.0.1 rport 40000"],
            EndOfCandidates = true,
        };
        string text = Jsep.CreateOffer(parameters).ToString();
        var section = DataChannelSection.Read(SessionDescription.Parse(text), SdpType.Offer);

        Assert.Equal("data", section.Mid);
        Assert.Equal(parameters.IceUfrag, section.IceUfrag);
        Assert.Equal(parameters.IcePwd, section.IcePwd);
        Assert.Equal(parameters.Fingerprints, section.Fingerprints);
        Assert.Equal(SdpSetupRole.ActPass, section.Setup);
        Assert.True(section.SupportsTrickle);
        Assert.Equal(5001, section.SctpPort);
        Assert.Equal(0, section.MaxMessageSize);
        Assert.Equal(parameters.Candidates, section.Candidates);
        Assert.True(section.EndOfCandidates);
        // RFC 8839 §4.3: the first candidate is the default one in m= and c=.
        Assert.Contains("m=application 40000 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\n", text);
        Assert.Contains("a=group:BUNDLE data\r\n", text);
        Assert.EndsWith("a=candidate:2 1 udp 1694498815 192.0.2.7 50000 typ srflx raddr 127.0.0.1 rport 40000\r\na=end-of-candidates\r\n", text);
    }

    [Fact]
    public void Session_ids_are_random_and_below_2_to_the_62()
    {
        var ids = Enumerable.Range(0, 64).Select(_ => Jsep.CreateOffer(Local).Origin.SessionId).ToList();
        Assert.All(ids, id => Assert.True(id < 1UL << 62));
        Assert.True(ids.Distinct().Count() > 60);
        Assert.Equal(0UL, Jsep.CreateOffer(Local).Origin.SessionVersion);
    }

    [Fact]
    public void Ice_lite_is_written_at_session_level()
    {
        var offer = Jsep.CreateOffer(Local with { IceLite = true });
        Assert.True(offer.HasAttribute("ice-lite"));
        Assert.True(DataChannelSection.Read(SessionDescription.Parse(offer.ToString()), SdpType.Offer).IceLite);
    }

    [Theory]
    [InlineData("abc", null)]                           // ufrag too short (RFC 8839 §5.4)
    [InlineData("ab$d", null)]                          // not an ice-char
    [InlineData(null, "tooshort")]                      // pwd shorter than 22
    [InlineData(null, "0123456789abcdefghijk\u00e9")]   // not an ice-char
    public void Bad_local_ice_credentials_are_refused(string? ufrag, string? pwd)
    {
        var parameters = Local with { IceUfrag = ufrag ?? Local.IceUfrag, IcePwd = pwd ?? Local.IcePwd };
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(parameters));
    }

    [Fact]
    public void Other_bad_local_parameters_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(Local with { Fingerprints = [] }));
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(Local with { Fingerprints = ["sha-256 nothex"] }));
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(Local with { SctpPort = 0 }));
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(Local with { MaxMessageSize = -1 }));
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(Local with { Setup = SdpSetupRole.HoldConn }));
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(Local with { Mid = "a b" }));
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(Local with { Candidates = ["1 1 udp 1 127.0.0.1 1 typ host"] }));
        Assert.Throws<ArgumentException>(() => Jsep.CreateOffer(Local with { Candidates = ["candidate:1 1 udp 1 127.0.0.1 1 typ host\r\na=evil"] }));
    }
}
