using PeerNet.Sctp;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sctp;

public class SctpDiagnosticsTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(0.0, 21)]
    [InlineData(0.05, 22)]
    public void Stats(double loss, int seed)
    {
        var link = SctpTransferTests.Connected(seed);
        link.Loss = loss;
        link.Reordering = loss > 0 ? 0.1 : 0;
        var start = link.Now;
        const int total = 10 * 1024 * 1024;
        var data = SctpTransferTests.Pattern(65536, 1);
        for (var offset = 0; offset < total; offset += 65536)
        {
            link.A.Send(0, 53, data, SctpSendOptions.Default, link.Now);
        }

        long got = 0;
        link.OnEvent = (isA, e) => { if (e.Kind == SctpEventKind.MessageReceived) got += e.Payload!.Length; };
        Assert.True(link.RunUntil(() => got == total, 3_600_000));
        var s = link.A.Statistics;
        output.WriteLine($"sim {link.Now - start} ms, pkts A->B {link.PacketsAToB} B->A {link.PacketsBToA}, sent {s.DataChunksSent} rtx {s.DataChunksRetransmitted} fast {s.FastRetransmits} t3 {s.RetransmissionTimeouts} cwnd {link.A.CongestionWindow} rto {link.A.RetransmissionTimeoutMs} srtt {link.A.SmoothedRoundTripTimeMs}");
        output.WriteLine($"B: dups {link.B.Statistics.DuplicateDataChunksReceived} sacks {link.B.Statistics.SacksSent} drops {link.B.Statistics.PacketsDropped} last {link.B.Statistics.LastDropReason}");
    }
}
