using System.Text.Json;
using PeerNet.Rtc;

namespace PeerNet.Tests.Rtc;

public class PeerSignalTests
{
    [Fact]
    public void DescriptionRoundTripsInSimplePeerShape()
    {
        var signal = new PeerSignal.Description(new RtcSessionDescriptionInit(RtcSdpType.Offer, "v=0\r\n"));
        var json = signal.ToJson();
        Assert.Equal("""{"type":"offer","sdp":"v=0\r\n"}""", json.GetRawText());
        Assert.Equal(signal, PeerSignal.Parse(json));
    }

    [Fact]
    public void CandidateRoundTripsInSimplePeerShape()
    {
        var signal = new PeerSignal.Candidate(new RtcIceCandidateInit("candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", "0", 0));
        var json = signal.ToJson();
        Assert.Equal("""{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}""", json.GetRawText());
        Assert.Equal(signal, PeerSignal.Parse(json));
    }

    [Fact]
    public void NullCandidateIsEndOfCandidates()
    {
        var parsed = Assert.IsType<PeerSignal.Candidate>(PeerSignal.Parse(JsonDocument.Parse("""{"type":"candidate","candidate":null}""").RootElement));
        Assert.True(parsed.Value.IsEndOfCandidates);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"type":5}""")]
    [InlineData("""{"type":"offer"}""")]
    [InlineData("""{"type":"offer","sdp":7}""")]
    [InlineData("""{"type":"renegotiate"}""")]
    [InlineData("""{"type":"candidate","candidate":"x"}""")]
    public void ForeignShapesAreFormatExceptions(string json)
    {
        Assert.Throws<FormatException>(() => PeerSignal.Parse(JsonDocument.Parse(json).RootElement));
    }
}
