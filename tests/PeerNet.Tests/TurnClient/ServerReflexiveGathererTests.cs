using System.Net;
using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.TurnClient;

public class ServerReflexiveGathererTests
{
    private static readonly StunAddress Server = StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.10:3478"));
    private static readonly StunAddress Mapped = StunAddress.FromIPEndPoint(IPEndPoint.Parse("203.0.113.5:61000"));

    [Fact]
    public void Claims_only_its_own_Binding_responses_and_reports_the_mapped_address()
    {
        var gatherer = new ServerReflexiveGatherer();
        gatherer.Start(1, Server, 0);
        var buffer = new byte[1500];
        var length = gatherer.PollTransmit(buffer, out var transmit);
        Assert.Equal(Server, transmit.Remote);
        Assert.True(StunMessageReader.TryParse(buffer.AsSpan(0, length), out var request, out _));
        Assert.Equal(StunMethod.Binding, request.Method);

        // A check response (another transaction id) is left for the ICE agent.
        Assert.False(gatherer.TryHandleResponse(1, Server, Response(StunTransactionId.NewRandom(), Mapped)));
        // Ours on another socket: not ours either.
        Assert.False(gatherer.TryHandleResponse(2, Server, Response(request.TransactionId, Mapped)));
        Assert.True(gatherer.TryHandleResponse(1, Server, Response(request.TransactionId, Mapped)));
        Assert.True(gatherer.TryPollResult(out var result));
        Assert.True(result.Succeeded);
        Assert.Equal(Mapped, result.Mapped);
        Assert.Equal(0, gatherer.Pending);
        Assert.Null(gatherer.PollTimeout());
    }

    [Fact]
    public void Retransmits_with_doubling_timeouts_and_gives_up_within_the_bound()
    {
        var gatherer = new ServerReflexiveGatherer(initialRto: 500, timeout: 5000);
        gatherer.Start(1, Server, 0);
        var buffer = new byte[1500];
        var sends = new List<long>();
        for (long now = 0; now <= 6000; now += 10)
        {
            gatherer.HandleTimeout(now);
            while (gatherer.PollTransmit(buffer, out _) > 0)
            {
                sends.Add(now);
            }
        }

        Assert.Equal(new long[] { 0, 500, 1500, 3500 }, sends);
        Assert.True(gatherer.TryPollResult(out var result));
        Assert.False(result.Succeeded);
    }

    [Fact]
    public void Hostile_responses_with_our_id_are_swallowed_without_a_result()
    {
        var gatherer = new ServerReflexiveGatherer();
        gatherer.Start(1, Server, 0);
        var buffer = new byte[1500];
        var length = gatherer.PollTransmit(buffer, out _);
        StunMessageReader.TryParse(buffer.AsSpan(0, length), out var request, out _);
        var good = Response(request.TransactionId, Mapped);
        var random = new Random(8489);
        for (var i = 0; i < 5000; i++)
        {
            var bad = (byte[])good.Clone();
            var at = random.Next(20, bad.Length);
            bad[at] ^= (byte)random.Next(1, 256);
            if (gatherer.TryHandleResponse(1, Server, bad) && gatherer.TryPollResult(out var r))
            {
                return; // a mutation that is still a valid response with our id: accepted, and that is fine
            }
        }

        Assert.True(gatherer.TryHandleResponse(1, Server, good));
        Assert.True(gatherer.TryPollResult(out var result) && result.Mapped == Mapped);
    }

    private static byte[] Response(StunTransactionId id, StunAddress mapped)
    {
        var buffer = new byte[200];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
        w.AddXorMappedAddress(mapped);
        w.AddFingerprint();
        Assert.True(w.TryGetMessage(out var message));
        return message.ToArray();
    }
}
