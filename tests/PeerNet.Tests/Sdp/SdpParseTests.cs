using PeerNet.Sdp;

namespace PeerNet.Tests.Sdp;

/// <summary>RFC 8866 parsing and writing, on descriptions captured from Chromium and aiortc.</summary>
public class SdpParseTests
{
    internal static readonly string[] SampleNames =
    [
        nameof(SdpSamples.ChromiumDataOffer),
        nameof(SdpSamples.ChromiumDataOfferWithCandidates),
        nameof(SdpSamples.ChromiumAudioVideoDataOffer),
        nameof(SdpSamples.ChromiumDataAnswer),
        nameof(SdpSamples.ChromiumAnswerToLegacyOffer),
        nameof(SdpSamples.AiortcLegacyOffer),
        nameof(SdpSamples.AiortcAnswer),
        nameof(SdpSamples.ChromiumAnswerToPeerNetOffer),
    ];

    public static TheoryData<string> Samples => new(SampleNames);

    internal static string Sample(string name) =>
        (string)typeof(SdpSamples).GetProperty(name)!.GetValue(null)!;

    [Theory]
    [MemberData(nameof(Samples))]
    public void Real_descriptions_round_trip_byte_for_byte(string name)
    {
        string sdp = Sample(name);
        Assert.Equal(sdp, SessionDescription.Parse(sdp).ToString());
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Lf_line_endings_are_accepted_and_written_back_as_crlf(string name)
    {
        string sdp = Sample(name);
        Assert.Equal(sdp, SessionDescription.Parse(sdp.Replace("\r\n", "\n")).ToString());
    }

    [Fact]
    public void Chromium_data_offer_is_read_into_the_model()
    {
        var description = SessionDescription.Parse(SdpSamples.ChromiumDataOffer);

        Assert.Equal(0, description.Version);
        Assert.Equal(new SdpOrigin("-", 5898213133976403702, 2, "IN", "IP4", "127.0.0.1"), description.Origin);
        Assert.Equal("-", description.SessionName);
        Assert.Equal([SdpTiming.Unbounded], description.Timings);
        Assert.Null(description.Connection);
        Assert.Equal(["0"], description.BundleGroup);
        Assert.Equal(new SdpAttribute("extmap-allow-mixed"), description.Attributes[1]);
        Assert.Equal(new SdpAttribute("msid-semantic", " WMS"), description.Attributes[2]);

        var media = Assert.Single(description.Media);
        Assert.Equal("application", media.Media);
        Assert.Equal(9, media.Port);
        Assert.Null(media.PortCount);
        Assert.Equal("UDP/DTLS/SCTP", media.Protocol);
        Assert.Equal(["webrtc-datachannel"], media.Formats);
        Assert.Equal(SdpConnection.Unspecified, media.Connection);
        Assert.Equal("0", media.Mid);
        Assert.False(media.IsRejected);
        Assert.Equal("5bRm", media.GetAttribute("ice-ufrag")?.Value);
        Assert.Equal("262144", media.GetAttribute("max-message-size")?.Value);
        Assert.Null(media.GetAttribute("sctpmap"));
    }

    [Fact]
    public void Chromium_audio_video_data_offer_keeps_every_section_and_attribute()
    {
        var description = SessionDescription.Parse(SdpSamples.ChromiumAudioVideoDataOffer);

        Assert.Equal(["audio", "video", "application"], description.Media.Select(m => m.Media));
        Assert.Equal(["0", "1", "2"], description.Media.Select(m => m.Mid));
        Assert.Equal(["0", "1", "2"], description.BundleGroup);
        Assert.Equal(["111", "63", "9", "0", "8", "13", "110", "126"], description.Media[0].Formats);
        Assert.Equal(56930, description.Media[0].Port);
        Assert.Equal(new SdpConnection("IN", "IP4", "127.0.0.1"), description.Media[0].Connection);
        Assert.Equal(8, description.Media[0].GetAttributes("rtpmap").Count());
        Assert.Equal("ccm fir", description.Media[1].GetAttributes("rtcp-fb").ElementAt(2).Value?[3..]);
        Assert.Equal(2, description.Media[2].GetAttributes("candidate").Count());
    }

    [Fact]
    public void Unknown_line_types_and_attributes_are_kept_in_place()
    {
        string sdp = SdpSamples.Crlf("""
            v=0
            o=alice 1 1 IN IP6 ::1
            s=A session
            i=About it
            u=https://example.com/
            e=alice@example.com
            p=+1 555 0100
            c=IN IP4 203.0.113.1/127
            b=CT:128
            t=3034423619 3042462419
            r=604800 3600 0 90000
            t=0 0
            z=2882844526 -1h
            k=prompt
            y=an unknown line type
            a=recvonly
            a=x-custom:value with: colons
            a=empty-value:
            m=audio 49170/2 RTP/AVP 0
            i=Voice
            c=IN IP4 203.0.113.2
            b=AS:64
            k=prompt
            q=another unknown
            a=rtpmap:0 PCMU/8000
            m=text 0 RTP/AVP 98
            a=bundle-only
            """);
        var description = SessionDescription.Parse(sdp);

        Assert.Equal(sdp, description.ToString());
        Assert.Equal(2, description.Timings.Count);
        Assert.Equal(["604800 3600 0 90000"], description.Timings[0].RepeatTimes);
        Assert.Equal(new SdpBandwidth("CT", 128), Assert.Single(description.Bandwidths));
        Assert.Contains(new SdpLine('y', "an unknown line type"), description.OtherLines);
        Assert.Equal("value with: colons", description.GetAttribute("x-custom")?.Value);
        Assert.Equal("", description.GetAttribute("empty-value")?.Value);
        Assert.Null(description.GetAttribute("recvonly")?.Value);
        Assert.True(description.HasAttribute("recvonly"));
        Assert.Equal(2, description.Media[0].PortCount);
        Assert.Equal([new SdpLine('i', "Voice"), new SdpLine('k', "prompt"), new SdpLine('q', "another unknown")], description.Media[0].OtherLines);
        // RFC 8843 §6: port 0 with a=bundle-only is not a rejection.
        Assert.False(description.Media[1].IsRejected);
    }

    [Fact]
    public void Trailing_blank_lines_and_a_missing_final_line_ending_are_accepted()
    {
        string sdp = SdpSamples.ChromiumDataOffer;
        Assert.Equal(sdp, SessionDescription.Parse(sdp + "\r\n\r\n").ToString());
        Assert.Equal(sdp, SessionDescription.Parse(sdp.TrimEnd()).ToString());
    }

    [Fact]
    public void A_description_built_in_code_is_written_in_rfc_order()
    {
        var description = new SessionDescription(new SdpOrigin("-", 42, 7));
        var media = new MediaDescription("application", 9, "UDP/DTLS/SCTP", ["webrtc-datachannel"]) { Connection = SdpConnection.Unspecified };
        media.AddAttribute("mid", "data");
        description.Media.Add(media);
        description.AddAttribute("group", "BUNDLE data");

        Assert.Equal(SdpSamples.Crlf("""
            v=0
            o=- 42 7 IN IP4 127.0.0.1
            s=-
            t=0 0
            a=group:BUNDLE data
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel
            c=IN IP4 0.0.0.0
            a=mid:data
            """), description.ToString());
        Assert.Same(media, description.FindMedia("data"));
    }

    [Fact]
    public void Builders_refuse_values_that_would_inject_lines()
    {
        Assert.Throws<ArgumentException>(() => new SdpAttribute("x", "a\r\na=evil"));
        Assert.Throws<ArgumentException>(() => new SdpAttribute("bad name"));
        Assert.Throws<ArgumentException>(() => new SdpOrigin("a b", 1, 1));
        Assert.Throws<ArgumentException>(() => new SdpLine('a', "x"));
        Assert.Throws<ArgumentException>(() => new SessionDescription(new SdpOrigin("-", 1, 1)).SessionName = "x\ny");
        Assert.Throws<ArgumentOutOfRangeException>(() => new MediaDescription("audio", 70000, "RTP/AVP", ["0"]));
        Assert.Throws<ArgumentException>(() => new MediaDescription("audio", 9, "RTP//AVP", ["0"]));
    }

    [Fact]
    public void TryParse_reports_the_error_instead_of_throwing()
    {
        Assert.True(SessionDescription.TryParse(SdpSamples.AiortcAnswer, out var description, out _));
        Assert.Single(description.Media);
        Assert.False(SessionDescription.TryParse("v=1\r\n", out _, out var error));
        Assert.Equal(1, error.LineNumber);
    }
}
