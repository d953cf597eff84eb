using PeerNet.Sdp;
using static PeerNet.Tests.Sdp.JsepOfferTests;

namespace PeerNet.Tests.Sdp;

/// <summary>Answers built by <see cref="Jsep.CreateAnswer"/> (RFC 8829 §5.3.1) and trickled candidates.</summary>
public class JsepAnswerTests
{
    /// <remarks>
    /// Checked against the real thing: Chromium 156, after creating an audio+video+data offer like
    /// this one, took exactly this answer in setRemoteDescription (signalingState "stable", the
    /// audio and video transceivers stopped, RTCSctpTransport.maxMessageSize 262144).
    /// </remarks>
    [Fact]
    public void Answer_to_a_chromium_audio_video_data_offer_rejects_the_media_and_bundles_only_the_data()
    {
        var offer = SessionDescription.Parse(SdpSamples.ChromiumAudioVideoDataOffer);
        var answer = Jsep.CreateAnswer(offer, Local with { SessionId = 77, SessionVersion = 2 });

        Assert.Equal(SdpSamples.Crlf($"""
            v=0
            o=- 77 2 IN IP4 127.0.0.1
            s=-
            t=0 0
            a=group:BUNDLE 2
            m=audio 0 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
            c=IN IP4 0.0.0.0
            a=mid:0
            m=video 0 UDP/TLS/RTP/SAVPF 96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 98 99 100 101 118 119 120
            c=IN IP4 0.0.0.0
            a=mid:1
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel
            c=IN IP4 0.0.0.0
            a=ice-ufrag:Ab3d
            a=ice-pwd:0123456789abcdefghijklmn
            a=ice-options:trickle
            a=fingerprint:{Fingerprint}
            a=setup:active
            a=mid:2
            a=sctp-port:5000
            a=max-message-size:262144
            """), answer.ToString());

        var parsed = SessionDescription.Parse(answer.ToString());
        Assert.True(parsed.Media[0].IsRejected);
        Assert.True(parsed.Media[1].IsRejected);
        Assert.Equal(2, DataChannelSection.Read(parsed, SdpType.Answer).MediaIndex);
    }

    [Fact]
    public void Answer_to_a_chromium_data_offer()
    {
        var answer = Jsep.CreateAnswer(SessionDescription.Parse(SdpSamples.ChromiumDataOfferWithCandidates), Local);
        var section = DataChannelSection.Read(answer, SdpType.Answer);
        Assert.Equal("1", section.Mid); // the offer's mid, not the parameters' default
        Assert.Equal(["1"], answer.BundleGroup);
        Assert.Equal(SdpSetupRole.Active, section.Setup);
    }

    /// <remarks>aiortc 1.4 took this answer to its own offer in setRemoteDescription (signalingState "stable").</remarks>
    [Fact]
    public void Answer_to_the_aiortc_legacy_offer_keeps_the_legacy_form_as_chromium_does()
    {
        var answer = Jsep.CreateAnswer(SessionDescription.Parse(SdpSamples.AiortcLegacyOffer), Local with { MaxMessageSize = 65536 });
        var media = Assert.Single(answer.Media);
        Assert.Equal("application 9 DTLS/SCTP 5000", media.MediaLine);
        Assert.Equal("5000 webrtc-datachannel 65535", media.GetAttribute("sctpmap")?.Value);
        Assert.Null(media.GetAttribute("sctp-port"));
        // Same shape as Chromium's own answer to this offer.
        var chromium = SessionDescription.Parse(SdpSamples.ChromiumAnswerToLegacyOffer).Media[0];
        Assert.Equal(chromium.MediaLine, media.MediaLine);
        Assert.Equal(chromium.GetAttribute("sctpmap"), media.GetAttribute("sctpmap"));
        Assert.Equal(chromium.GetAttribute("setup"), media.GetAttribute("setup"));
        Assert.Equal(["0"], answer.BundleGroup);
    }

    [Theory]
    [InlineData("actpass", null, SdpSetupRole.Active)]      // RFC 8829 §5.3.1: JSEP answers actpass with active
    [InlineData("actpass", SdpSetupRole.Passive, SdpSetupRole.Passive)]
    [InlineData("actpass", SdpSetupRole.Active, SdpSetupRole.Active)]
    [InlineData("active", null, SdpSetupRole.Passive)]      // RFC 8842 §5.3
    [InlineData("passive", null, SdpSetupRole.Active)]
    [InlineData(null, null, SdpSetupRole.Passive)]          // absent = active (RFC 4145 §4)
    public void Setup_negotiation(string? offered, SdpSetupRole? wanted, SdpSetupRole expected)
    {
        var offer = SessionDescription.Parse(DataChannelSectionTests.Minimal(offered is null ? "" : $"a=setup:{offered}\n"));
        var answer = Jsep.CreateAnswer(offer, Local with { Setup = wanted });
        Assert.Equal(expected, DataChannelSection.Read(answer, SdpType.Answer).Setup);
    }

    [Theory]
    [InlineData("holdconn", null)]
    [InlineData("active", SdpSetupRole.Active)]    // both would be DTLS clients
    [InlineData("passive", SdpSetupRole.Passive)]
    [InlineData("actpass", SdpSetupRole.ActPass)]  // an answer must choose
    public void Setup_conflicts_are_refused(string offered, SdpSetupRole? wanted)
    {
        var offer = SessionDescription.Parse(DataChannelSectionTests.Minimal($"a=setup:{offered}\n"));
        var error = Assert.Throws<SdpNegotiationException>(() => Jsep.CreateAnswer(offer, Local with { Setup = wanted }));
        Assert.Contains("setup", error.Message);
        Assert.Equal("0", error.Mid);
    }

    [Fact]
    public void Only_the_first_data_section_is_accepted_and_a_rejected_one_is_skipped()
    {
        string sdp = """
            v=0
            o=- 1 1 IN IP4 127.0.0.1
            s=-
            t=0 0
            a=group:BUNDLE a b c
            a=ice-ufrag:abcd
            a=ice-pwd:abcdefghijklmnopqrstuv
            a=fingerprint:sha-256 01:02
            m=application 0 UDP/DTLS/SCTP webrtc-datachannel
            a=mid:z
            m=application 9 DTLS/SCTP 5000
            a=mid:a
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel
            a=mid:b
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel
            a=mid:c
            """;
        var answer = Jsep.CreateAnswer(SessionDescription.Parse(sdp), Local);

        Assert.Equal([0, 0, 9, 0], answer.Media.Select(m => m.Port));
        Assert.Equal(["z", "a", "b", "c"], answer.Media.Select(m => m.Mid));
        Assert.Equal("application 0 DTLS/SCTP 5000", answer.Media[1].MediaLine); // legacy without a=sctpmap: not usable
        Assert.Equal(["b"], answer.BundleGroup);
        Assert.All(answer.Media.Where(m => m.IsRejected), m => Assert.Equal([new SdpAttribute("mid", m.Mid)], m.Attributes));
    }

    [Fact]
    public void No_bundle_group_in_the_answer_when_the_offer_has_none()
    {
        var offer = SessionDescription.Parse(DataChannelSectionTests.Minimal("a=setup:actpass\n"));
        Assert.Empty(Jsep.CreateAnswer(offer, Local).BundleGroup);
        Assert.False(Jsep.CreateAnswer(offer, Local).HasAttribute("group"));
    }

    [Fact]
    public void An_offer_without_a_data_section_is_refused()
    {
        var offer = SessionDescription.Parse(SdpSamples.ChromiumAudioVideoDataOffer);
        offer.Media.RemoveAt(2);
        var error = Assert.Throws<SdpNegotiationException>(() => Jsep.CreateAnswer(offer, Local));
        Assert.Equal("the offer has no data channel m= section (m=application ... UDP/DTLS/SCTP webrtc-datachannel)", error.Message);
    }

    [Fact]
    public void An_offer_without_a_fingerprint_is_refused()
    {
        var offer = SessionDescription.Parse(DataChannelSectionTests.Minimal("", fingerprint: false));
        var error = Assert.Throws<SdpNegotiationException>(() => Jsep.CreateAnswer(offer, Local));
        Assert.Equal("the offer has no a=fingerprint for mid 0", error.Message);
    }

    [Fact]
    public void Trickled_candidates_and_end_of_candidates_are_added_to_the_data_section()
    {
        var offer = Jsep.CreateOffer(Local with { Candidates = ["candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"] });
        offer.Media[0].AddAttribute("x-after", "kept last");
        Jsep.AddCandidate(offer, "candidate:2 1 udp 1694498815 192.0.2.7 50000 typ srflx raddr 127.0.0.1 rport 40000");
        Jsep.AddCandidate(offer, "a=candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active", mid: "0");
        Jsep.AddEndOfCandidates(offer);
        Jsep.AddEndOfCandidates(offer);

        var section = DataChannelSection.Read(SessionDescription.Parse(offer.ToString()), SdpType.Offer);
        Assert.Equal(3, section.Candidates.Count);
        Assert.StartsWith("candidate:3 1 tcp", section.Candidates[2]);
        Assert.True(section.EndOfCandidates);
        Assert.Single(offer.Media[0].GetAttributes("end-of-candidates"));
        Assert.Equal(["candidate", "candidate", "candidate", "x-after", "end-of-candidates"], offer.Media[0].Attributes.Skip(8).Select(a => a.Name));

        Assert.Throws<InvalidOperationException>(() => Jsep.AddCandidate(offer, "candidate:4 1 udp 1 127.0.0.1 1 typ host"));
        Assert.Throws<ArgumentException>(() => Jsep.AddCandidate(offer, "candidate:4 1 udp 1 127.0.0.1 1 typ host", mid: "nope"));
        Assert.Throws<ArgumentException>(() => Jsep.AddCandidate(Jsep.CreateOffer(Local), "candidate:"));
    }
}
