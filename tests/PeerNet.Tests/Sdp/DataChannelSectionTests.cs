using PeerNet.Sdp;

namespace PeerNet.Tests.Sdp;

/// <summary>The typed view of a data-channel m= section (RFC 8841, RFC 8839, RFC 8842, RFC 8122).</summary>
public class DataChannelSectionTests
{
    private const string Fingerprint = "sha-256 0B:25:82:4F:E7:45:D5:47:06:8F:49:B4:B7:1F:F1:BC:22:5D:EB:7E:E9:8B:EC:FD:E3:19:54:0C:0F:5A:4C:1E";

    [Fact]
    public void Chromium_offer_with_candidates()
    {
        var section = DataChannelSection.Read(SessionDescription.Parse(SdpSamples.ChromiumDataOfferWithCandidates), SdpType.Offer);

        Assert.Equal(0, section.MediaIndex);
        Assert.Equal("1", section.Mid);
        Assert.Equal("UDP/DTLS/SCTP", section.Protocol);
        Assert.False(section.IsLegacy);
        Assert.Equal("FXmg", section.IceUfrag);
        Assert.Equal("bIF4j+FkBN24jr1uLLUBY1JS", section.IcePwd);
        Assert.False(section.IceLite);
        Assert.Equal(["trickle"], section.IceOptions);
        Assert.True(section.SupportsTrickle);
        Assert.Equal(["sha-256 A9:54:33:46:3D:B6:76:C3:D2:AE:50:2B:3E:D2:35:FA:EC:1C:A7:33:D9:E0:16:32:C2:D8:C0:2A:F8:35:B4:0C"], section.Fingerprints);
        Assert.Equal(SdpSetupRole.ActPass, section.Setup);
        Assert.Equal(5000, section.SctpPort);
        Assert.Equal(262144, section.MaxMessageSize);
        Assert.Equal(
            [
                "candidate:1155467407 1 udp 2122260223 127.0.0.1 54200 typ host generation 0 network-id 1 network-cost 50",
                "candidate:3128286235 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1 network-cost 50",
            ],
            section.Candidates);
        Assert.False(section.EndOfCandidates);
    }

    [Fact]
    public void Aiortc_legacy_offer_reads_the_port_from_the_format_and_the_size_from_its_attribute()
    {
        var section = DataChannelSection.Read(SessionDescription.Parse(SdpSamples.AiortcLegacyOffer), SdpType.Offer);

        Assert.True(section.IsLegacy);
        Assert.Equal("DTLS/SCTP", section.Protocol);
        Assert.Equal(5000, section.SctpPort);
        Assert.Equal(65536, section.MaxMessageSize);
        Assert.Equal("uoEa", section.IceUfrag);
        Assert.Equal(SdpSetupRole.ActPass, section.Setup);
        Assert.Empty(section.IceOptions);
        Assert.False(section.SupportsTrickle);
        Assert.Equal(["candidate:16572de626da4e5384a0ce2d0d93678a 1 udp 2130706431 127.0.0.1 60875 typ host"], section.Candidates);
        Assert.True(section.EndOfCandidates);
    }

    [Fact]
    public void Aiortc_answer()
    {
        var section = DataChannelSection.Read(SessionDescription.Parse(SdpSamples.AiortcAnswer), SdpType.Answer);
        Assert.Equal(SdpSetupRole.Active, section.Setup);
        Assert.Equal(65536, section.MaxMessageSize);
        Assert.Equal("0", section.Mid);
    }

    [Fact]
    public void Chromium_answer_to_a_peernet_offer()
    {
        var section = DataChannelSection.Read(SessionDescription.Parse(SdpSamples.ChromiumAnswerToPeerNetOffer), SdpType.Answer);
        Assert.Equal(SdpSetupRole.Active, section.Setup);
        Assert.Equal(262144, section.MaxMessageSize);
        Assert.Equal("0", section.Mid);
        Assert.Empty(section.Candidates);
        Assert.True(section.SupportsTrickle);
    }

    [Fact]
    public void In_an_audio_video_data_offer_the_data_section_is_found_by_shape_not_position()
    {
        var section = DataChannelSection.Read(SessionDescription.Parse(SdpSamples.ChromiumAudioVideoDataOffer), SdpType.Offer);
        Assert.Equal(2, section.MediaIndex);
        Assert.Equal("2", section.Mid);
        Assert.Equal("t2Yh", section.IceUfrag);
    }

    [Theory]
    [InlineData(null, 65536)]             // RFC 8841 §6.1: absent means 64 KiB
    [InlineData("1073741823", 1073741823)]
    [InlineData("0", 0)]                   // RFC 8841 §6.1: 0 means no limit
    public void Max_message_size(string? value, long expected)
    {
        string extra = value is null ? "" : $"a=max-message-size:{value}\n";
        var section = DataChannelSection.Read(SessionDescription.Parse(Minimal("a=setup:actpass\n" + extra)), SdpType.Offer);
        Assert.Equal(expected, section.MaxMessageSize);
    }

    [Fact]
    public void Sctp_port_defaults_to_5000_and_can_be_set()
    {
        Assert.Equal(5000, DataChannelSection.Read(SessionDescription.Parse(Minimal("")), SdpType.Offer).SctpPort);
        Assert.Equal(5001, DataChannelSection.Read(SessionDescription.Parse(Minimal("a=sctp-port:5001\n")), SdpType.Offer).SctpPort);
    }

    [Fact]
    public void Absent_setup_means_active()
    {
        // RFC 4145 §4.
        Assert.Equal(SdpSetupRole.Active, DataChannelSection.Read(SessionDescription.Parse(Minimal("")), SdpType.Offer).Setup);
    }

    [Fact]
    public void Session_level_values_apply_when_the_section_has_none_and_media_level_values_win()
    {
        string other = Fingerprint.Replace("0B:25", "AA:AA");
        string session = $"""
            v=0
            o=- 1 1 IN IP4 127.0.0.1
            s=-
            t=0 0
            a=ice-lite
            a=ice-ufrag:sess
            a=ice-pwd:sessionsessionsession1
            a=ice-options:trickle
            a=fingerprint:{Fingerprint}
            a=setup:passive
            a=end-of-candidates
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel
            c=IN IP4 0.0.0.0
            a=mid:0
            """;
        var inherited = DataChannelSection.Read(SessionDescription.Parse(session), SdpType.Offer);
        Assert.Equal("sess", inherited.IceUfrag);
        Assert.Equal("sessionsessionsession1", inherited.IcePwd);
        Assert.True(inherited.IceLite);
        Assert.Equal(["trickle"], inherited.IceOptions);
        Assert.Equal([Fingerprint], inherited.Fingerprints);
        Assert.Equal(SdpSetupRole.Passive, inherited.Setup);
        Assert.True(inherited.EndOfCandidates);

        var overridden = DataChannelSection.Read(SessionDescription.Parse(session + $"""

            a=ice-ufrag:media
            a=ice-pwd:mediamediamediamedia22
            a=ice-options:ice2 renomination
            a=fingerprint:{other}
            a=fingerprint:sha-1 01:02:03
            a=setup:active
            """), SdpType.Offer);
        Assert.Equal("media", overridden.IceUfrag);
        Assert.Equal("mediamediamediamedia22", overridden.IcePwd);
        Assert.Equal(["ice2", "renomination"], overridden.IceOptions);
        Assert.False(overridden.SupportsTrickle);
        Assert.Equal([other, "sha-1 01:02:03"], overridden.Fingerprints);
        Assert.Equal(SdpSetupRole.Active, overridden.Setup);
    }

    [Theory]
    [InlineData("a=ice-ufrag:abcd\n", "the offer has no a=ice-pwd for mid 0")]
    [InlineData("a=ice-pwd:abcdefghijklmnopqrstuv\n", "the offer has no a=ice-ufrag for mid 0")]
    public void Missing_ice_credentials_are_named(string credentials, string message)
    {
        string sdp = Minimal("", credentials: credentials);
        var error = Assert.Throws<SdpNegotiationException>(() => DataChannelSection.Read(SessionDescription.Parse(sdp), SdpType.Offer));
        Assert.Equal(message, error.Message);
        Assert.Equal("0", error.Mid);
    }

    [Fact]
    public void Missing_fingerprint_is_named()
    {
        string sdp = Minimal("", fingerprint: false);
        var error = Assert.Throws<SdpNegotiationException>(() => DataChannelSection.Read(SessionDescription.Parse(sdp), SdpType.Offer));
        Assert.Equal("the offer has no a=fingerprint for mid 0", error.Message);
        error = Assert.Throws<SdpNegotiationException>(() => DataChannelSection.Read(SessionDescription.Parse(sdp), SdpType.Answer));
        Assert.Equal("the answer has no a=fingerprint for mid 0", error.Message);
    }

    [Fact]
    public void No_data_section_or_a_rejected_one_is_a_clear_error()
    {
        var audioOnly = SessionDescription.Parse(SdpSamples.ChromiumAudioVideoDataOffer);
        audioOnly.Media.RemoveAt(2);
        var error = Assert.Throws<SdpNegotiationException>(() => DataChannelSection.Read(audioOnly, SdpType.Offer));
        Assert.Contains("has no data channel m= section", error.Message);

        var rejected = SessionDescription.Parse(SdpSamples.ChromiumDataAnswer);
        rejected.Media[0].Port = 0;
        error = Assert.Throws<SdpNegotiationException>(() => DataChannelSection.Read(rejected, SdpType.Answer));
        Assert.Equal("the answer rejected its data channel m= section (port 0)", error.Message);
    }

    [Theory]
    [InlineData("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", true)]
    [InlineData("m=application 9 TCP/DTLS/SCTP webrtc-datachannel", true)]
    [InlineData("m=application 9 DTLS/SCTP 5000\na=sctpmap:5000 webrtc-datachannel 65535", true)]
    [InlineData("m=application 9 DTLS/SCTP 5000", false)]                      // no sctpmap
    [InlineData("m=application 9 DTLS/SCTP 5000\na=sctpmap:5001 webrtc-datachannel", false)]
    [InlineData("m=application 9 UDP/DTLS/SCTP something-else", false)]
    [InlineData("m=application 9 UDP/DTLS/SCTP webrtc-datachannel other", false)]
    [InlineData("m=application 9 UDP/BFCP *", false)]
    [InlineData("m=audio 9 UDP/DTLS/SCTP webrtc-datachannel", false)]
    public void Which_sections_carry_data_channels(string lines, bool expected)
    {
        var description = SessionDescription.Parse("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n" + lines + "\n");
        Assert.Equal(expected, DataChannelSection.IsDataChannelMedia(description.Media[0]));
    }

    [Fact]
    public void A_description_built_in_code_is_checked_too()
    {
        var description = SessionDescription.Parse(Minimal(""));
        description.Media[0].Attributes.RemoveAll(a => a.Name == "ice-ufrag");
        description.Media[0].AddAttribute("ice-ufrag", "ab");
        var error = Assert.Throws<SdpNegotiationException>(() => DataChannelSection.Read(description, SdpType.Offer));
        Assert.Contains("a=ice-ufrag", error.Message);
        Assert.Contains("4 to 256", error.Message);
    }

    /// <summary>A data-only description with the given extra media-level lines.</summary>
    internal static string Minimal(string extra, string credentials = "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n", bool fingerprint = true) =>
        "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\na=mid:0\n"
        + credentials + (fingerprint ? $"a=fingerprint:{Fingerprint}\n" : "") + extra;
}
