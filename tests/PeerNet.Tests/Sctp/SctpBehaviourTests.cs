using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

public class SctpBehaviourTests
{
    private static List<SctpEvent> Messages(List<SctpEvent> events, ushort stream) =>
        events.FindAll(e => e.Kind == SctpEventKind.MessageReceived && e.StreamId == stream);

    [Theory]
    [InlineData(true, 31)]
    [InlineData(false, 32)]
    public void MaxRetransmitsZeroAbandonsUnderLossWhileReliableStreamCompletes(bool ordered, int seed)
    {
        var link = SctpTransferTests.Connected(seed);
        link.Loss = 0.1;
        link.Reordering = 0.1;
        var partial = new SctpSendOptions { Ordered = ordered, MaxRetransmits = 0 };
        for (var i = 0; i < 500; i++)
        {
            var size = 100 + (i * 131 % 3000);
            var payload = new byte[size];
            BitConverter.TryWriteBytes(payload, i);
            link.A.Send(1, 53, payload, partial, link.Now);
            link.A.Send(2, 53, BitConverter.GetBytes(i), SctpSendOptions.Default, link.Now);
        }

        Assert.True(link.RunUntil(() => Messages(link.EventsB, 2).Count == 500, 600_000));
        Assert.Equal(Enumerable.Range(0, 500), Messages(link.EventsB, 2).Select(e => BitConverter.ToInt32(e.Payload)));
        Assert.True(link.A.Statistics.MessagesAbandoned > 0);
        Assert.True(link.A.Statistics.ForwardTsnsSent > 0);
        var partialIds = Messages(link.EventsB, 1).Select(e => BitConverter.ToInt32(e.Payload)).ToList();
        Assert.InRange(partialIds.Count, 1, 499);
        Assert.Equal(partialIds.Count, partialIds.Distinct().Count());
        if (ordered)
        {
            Assert.Equal(partialIds.Order(), partialIds);
        }

        // FORWARD TSN moved the receiver past the holes: a new message on the same stream arrives.
        link.Loss = 0;
        link.Reordering = 0;
        link.A.Send(1, 53, BitConverter.GetBytes(1000), partial, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsB, 1) is { Count: > 0 } m && BitConverter.ToInt32(m[^1].Payload) == 1000, 60_000));
        Assert.Equal(SctpAssociationState.Established, link.A.State);
    }

    [Fact]
    public void MaxLifetimeDropsMessagesThatCouldNotBeDelivered()
    {
        var link = SctpTransferTests.Connected(33);
        link.CutAToB = true;
        var timed = new SctpSendOptions { MaxLifetimeMs = 300 };
        for (var i = 0; i < 10; i++)
        {
            link.A.Send(1, 53, new byte[2000], timed, link.Now);
        }

        link.A.Send(2, 53, "reliable"u8, SctpSendOptions.Default, link.Now);
        link.Run(2_500);
        link.CutAToB = false;
        link.A.Send(1, 53, "late"u8, timed, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsB, 1).Count == 1 && Messages(link.EventsB, 2).Count == 1, 60_000));
        link.Run(5_000);
        Assert.Equal("late"u8.ToArray(), Assert.Single(Messages(link.EventsB, 1)).Payload);
        Assert.Equal("reliable"u8.ToArray(), Assert.Single(Messages(link.EventsB, 2)).Payload);
        Assert.Equal(10, link.A.Statistics.MessagesAbandoned);
    }

    [Fact]
    public void ExpiredMessagesThatNeverLeftAreDroppedSilently()
    {
        var link = SctpTransferTests.Connected(34);
        var timed = new SctpSendOptions { MaxLifetimeMs = 10 };
        var sent = link.Now;
        link.A.Send(1, 53, new byte[100], timed, sent);
        link.A.Send(1, 53, "fresh"u8, SctpSendOptions.Default, sent + 50); // the first expired while queued
        link.Now = sent + 50;
        Assert.True(link.RunUntil(() => Messages(link.EventsB, 1).Count == 1, 10_000));
        Assert.Equal("fresh"u8.ToArray(), Messages(link.EventsB, 1)[0].Payload);
        Assert.Equal(0, link.A.Statistics.ForwardTsnsSent);
    }

    [Theory]
    [InlineData(0.0, 41)]
    [InlineData(0.1, 42)]
    public void StreamResetBothDirectionsRestartsSequenceNumbers(double loss, int seed)
    {
        var link = SctpTransferTests.Connected(seed);
        link.Loss = loss;
        for (var i = 0; i < 5; i++)
        {
            link.A.Send(7, 51, BitConverter.GetBytes(i), SctpSendOptions.Default, link.Now);
        }

        link.A.ResetStreams([7], link.Now);
        for (var i = 5; i < 8; i++)
        {
            link.A.Send(7, 51, BitConverter.GetBytes(i), SctpSendOptions.Default, link.Now);
        }

        Assert.True(link.RunUntil(() => Messages(link.EventsB, 7).Count == 8, 300_000));
        Assert.True(link.Has(true, SctpEventKind.OutgoingStreamsReset));
        var b = link.EventsB.FindAll(e => e.Kind is SctpEventKind.MessageReceived or SctpEventKind.StreamsReset);
        Assert.Equal(9, b.Count);
        Assert.Equal(SctpEventKind.StreamsReset, b[5].Kind);
        Assert.Equal([7], b[5].StreamIds!);
        Assert.Equal(Enumerable.Range(0, 8), Messages(link.EventsB, 7).Select(e => BitConverter.ToInt32(e.Payload)));
        Assert.Equal([7], link.EventsA.Find(e => e.Kind == SctpEventKind.OutgoingStreamsReset).StreamIds!);

        // The other direction, as RFC 8831 §6.7 does when the peer sees its incoming stream reset.
        link.B.Send(7, 51, "before"u8, SctpSendOptions.Default, link.Now);
        link.B.ResetStreams([7], link.Now);
        link.B.Send(7, 51, "after"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsA, 7).Count == 2, 300_000));
        Assert.True(link.RunUntil(() => link.Has(false, SctpEventKind.OutgoingStreamsReset), 300_000));
        var a = link.EventsA.FindAll(e => e.Kind is SctpEventKind.MessageReceived or SctpEventKind.StreamsReset);
        Assert.Equal([SctpEventKind.MessageReceived, SctpEventKind.StreamsReset, SctpEventKind.MessageReceived], a.Select(e => e.Kind));
        Assert.Equal("after"u8.ToArray(), a[2].Payload);
    }

    [Fact]
    public void BufferedAmountDecreasedFiresAtOrBelowTheThresholdAndReachesZero()
    {
        var link = SctpTransferTests.Connected(43);
        link.A.SetBufferedAmountLowThreshold(3, 100_000);
        for (var i = 0; i < 10; i++)
        {
            link.A.Send(3, 53, new byte[100_000], SctpSendOptions.Default, link.Now);
        }

        Assert.Equal(1_000_000, link.A.GetBufferedAmount(3));
        Assert.True(link.RunUntil(() => link.A.GetBufferedAmount(3) == 0 && link.EventsA.Exists(e => e.Kind == SctpEventKind.BufferedAmountDecreased && e.BufferedAmount == 0), 60_000));
        var events = link.EventsA.FindAll(e => e.Kind == SctpEventKind.BufferedAmountDecreased);
        Assert.All(events, e => Assert.InRange(e.BufferedAmount, 0, 100_000));
        Assert.Equal(events.Select(e => e.BufferedAmount).OrderDescending(), events.Select(e => e.BufferedAmount));
        Assert.Equal(0, events[^1].BufferedAmount);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void ShutdownDeliversQueuedDataThenCloses(bool fromA, bool fromB)
    {
        var link = SctpTransferTests.Connected(44);
        link.Loss = 0.05;
        var payload = SctpTransferTests.Pattern(200_000, 5);
        link.A.Send(1, 53, payload, SctpSendOptions.Default, link.Now);
        link.B.Send(1, 53, payload, SctpSendOptions.Default, link.Now);
        if (fromA)
        {
            link.A.Shutdown(link.Now);
        }

        if (fromB)
        {
            link.B.Shutdown(link.Now);
        }

        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Closed) && link.Has(false, SctpEventKind.Closed), 600_000));
        Assert.Equal(payload, Messages(link.EventsB, 1).Single().Payload);
        Assert.Equal(payload, Messages(link.EventsA, 1).Single().Payload);
        Assert.True(link.A.IsTerminated);
        Assert.True(link.B.IsTerminated);
        Assert.Null(link.A.PollTimeout());
        Assert.Throws<InvalidOperationException>(() => link.A.Send(1, 53, [1], SctpSendOptions.Default, link.Now));
    }

    [Fact]
    public void AbortReachesThePeerWithTheReason()
    {
        var link = SctpTransferTests.Connected(45);
        link.A.Abort("user went away", link.Now);
        Assert.True(link.RunUntil(() => link.Has(false, SctpEventKind.Aborted), 10_000));
        Assert.Contains("user went away", link.EventsB.Find(e => e.Kind == SctpEventKind.Aborted).Reason);
        Assert.True(link.Has(true, SctpEventKind.Aborted));
        Assert.True(link.B.IsTerminated);
    }

    [Fact]
    public void PeerGoneFailsAfterMaxRetransmissions()
    {
        var link = SctpTransferTests.Connected(46);
        link.CutAToB = link.CutBToA = true;
        var start = link.Now;
        link.A.Send(1, 53, new byte[10], SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Aborted), 1_000_000));
        Assert.InRange(link.Now - start, 100_000, 500_000); // 1+2+4+...+60 s, 11 timeouts
        Assert.Contains("retransmissions", link.EventsA.Find(e => e.Kind == SctpEventKind.Aborted).Reason);
        Assert.Equal(11, link.A.Statistics.RetransmissionTimeouts);
    }

    [Fact]
    public void IdlePeerGoneIsDetectedByHeartbeats()
    {
        var link = SctpTransferTests.Connected(47);
        link.Run(200_000);
        Assert.NotNull(link.A.SmoothedRoundTripTimeMs);
        Assert.Equal(SctpAssociationState.Established, link.A.State);
        link.CutBToA = true;
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Aborted), 3_000_000));
        Assert.Contains("heartbeat", link.EventsA.Find(e => e.Kind == SctpEventKind.Aborted).Reason);
    }

    [Fact]
    public void HandshakeToNobodyGivesUp()
    {
        var link = new SimulatedLink(48) { CutAToB = true };
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Aborted), 2_000_000));
        Assert.Contains("INIT", link.EventsA.Find(e => e.Kind == SctpEventKind.Aborted).Reason);
    }

    [Fact]
    public void StaleCookieIsReportedAndTheHandshakeStartsOver()
    {
        var link = new SimulatedLink(49, null, new SctpAssociationOptions { CookieLifetimeMs = 500 });
        var delayed = false;
        link.ExtraDelay = (toB, packet) =>
        {
            if (toB && packet[12] == (byte)SctpChunkType.CookieEcho && !delayed)
            {
                delayed = true;
                return 2_000;
            }

            return null;
        };
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 60_000));
        Assert.True(link.B.Statistics.GetDrops(SctpDropReason.StaleCookie) >= 1);
        link.A.Send(1, 53, "hi"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsB, 1).Count == 1, 10_000));
    }

    [Fact]
    public void HandshakeSurvivesLossAndDuplication()
    {
        for (var seed = 100; seed < 140; seed++)
        {
            var link = new SimulatedLink(seed) { Loss = 0.3, Duplication = 0.3, Reordering = 0.3 };
            link.A.Connect(link.Now);
            if (seed % 2 == 0)
            {
                link.B.Connect(link.Now);
            }

            Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 600_000), $"seed {seed}");
            link.A.Send(1, 53, "x"u8, SctpSendOptions.Default, link.Now);
            link.B.Send(1, 53, "y"u8, SctpSendOptions.Default, link.Now);
            Assert.True(link.RunUntil(() => Messages(link.EventsA, 1).Count == 1 && Messages(link.EventsB, 1).Count == 1, 600_000), $"seed {seed}");
            Assert.Single(link.EventsA, e => e.Kind == SctpEventKind.Connected);
            Assert.Single(link.EventsB, e => e.Kind == SctpEventKind.Connected);
        }
    }
}
