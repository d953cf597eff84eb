using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

/// <summary>
/// The sender's rules one by one (RFC 9260 §6.1–§7.2, RFC 6298): initial window, slow start, fast
/// retransmit and Fast Recovery, RTO and T3 backoff with Karn's rule, delayed and immediate SACKs,
/// bundling, zero-window probing, idle decay.
/// </summary>
public class SctpCongestionControlTests
{
    private const int Mtu = 1191;

    /// <summary>Bytes a full DATA chunk occupies in cwnd accounting (header + user data of a full packet).</summary>
    private const int FullChunk = (Mtu & ~3) - SctpPacket.HeaderLength;

    private static List<uint> DataTsns(byte[] packet)
    {
        var tsns = new List<uint>();
        foreach (var chunk in SctpPacket.EnumerateChunks(packet))
        {
            if (chunk.Type == SctpChunkType.Data && DataChunk.TryRead(chunk, out var data))
            {
                tsns.Add(data.Tsn);
            }
        }

        return tsns;
    }

    private static List<SctpChunkType> ChunkTypes(byte[] packet)
    {
        var types = new List<SctpChunkType>();
        foreach (var chunk in SctpPacket.EnumerateChunks(packet))
        {
            types.Add(chunk.Type);
        }

        return types;
    }

    private static SimulatedLink Connected(int seed, SctpAssociationOptions? a = null, SctpAssociationOptions? b = null, int delayMs = 50)
    {
        var link = new SimulatedLink(seed, a, b) { DelayMs = delayMs };
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 30_000));
        return link;
    }

    private static void SendBulk(SimulatedLink link, int bytes, int messageSize = 16 * 1024)
    {
        for (var offset = 0; offset < bytes; offset += messageSize)
        {
            link.A.Send(1, 53, new byte[Math.Min(messageSize, bytes - offset)], SctpSendOptions.Default, link.Now);
        }
    }

    private static long Received(SimulatedLink link) =>
        link.EventsB.Where(e => e.Kind == SctpEventKind.MessageReceived).Sum(e => (long)e.Payload!.Length);

    [Fact]
    public void InitialWindowIsTenMtusAndTheRfcFormulaOnRequest()
    {
        var link = Connected(1);
        Assert.Equal(10 * Mtu, link.A.CongestionWindow);
        Assert.Equal(10 * Mtu, link.B.CongestionWindow);
        var rfc = Connected(2, new SctpAssociationOptions { InitialCongestionWindowMtus = 0 });
        Assert.Equal(Math.Min(4 * Mtu, Math.Max(2 * Mtu, 4380)), rfc.A.CongestionWindow); // RFC 9260 §7.2.1
    }

    [Fact]
    public void TheFirstFlightFillsTheInitialWindowAndNoMore()
    {
        var link = Connected(3);
        var firstFlight = 0;
        var sackSeen = false;
        link.Filter = (toB, packet) =>
        {
            if (!toB && ChunkTypes(packet).Contains(SctpChunkType.Sack))
            {
                sackSeen = true;
            }
            else if (toB && !sackSeen)
            {
                firstFlight += DataTsns(packet).Count;
            }

            return true;
        };
        SendBulk(link, 200_000);
        Assert.True(link.RunUntil(() => Received(link) == 200_000, 60_000));

        // §6.1 B: new data while flightsize < cwnd, so the flight ends with the chunk that crosses cwnd.
        Assert.Equal((10 * Mtu + FullChunk - 1) / FullChunk, firstFlight);
    }

    [Fact]
    public void SlowStartGrowsByAtMostOneMtuPerSack()
    {
        var link = Connected(4);
        var samples = new List<long>();
        link.OnEvent = (_, _) => { };
        var last = link.A.CongestionWindow;
        // Sampled as each packet (one SACK) has been processed by A. Sampling at A's sends would see
        // two SACKs' growth whenever pacing held A back between them.
        link.Delivered = toB =>
        {
            if (!toB)
            {
                var cwnd = link.A.CongestionWindow;
                Assert.InRange(cwnd - last, 0, Mtu);
                samples.Add(cwnd);
                last = cwnd;
            }
        };
        SendBulk(link, 500_000);
        Assert.True(link.RunUntil(() => Received(link) == 500_000, 60_000));
        Assert.True(link.A.CongestionWindow > 30 * Mtu, $"cwnd only reached {link.A.CongestionWindow}");
        Assert.Equal(0, link.A.Statistics.RetransmissionTimeouts);
    }

    [Fact]
    public void OneLossIsRepairedByFastRetransmitNotByTimeout()
    {
        var link = Connected(5);
        uint? victim = null;
        var victimSends = 0;
        long cwndBefore = 0;
        var reductions = 0;
        var wasInRecovery = false;
        link.Filter = (toB, packet) =>
        {
            if (!toB)
            {
                return true;
            }

            TrackRecovery(link.A, ref cwndBefore, ref reductions, ref wasInRecovery);

            foreach (var tsn in DataTsns(packet))
            {
                victim ??= tsn + 20;
                if (tsn == victim && ++victimSends == 1)
                {
                    return false; // lose its first transmission only
                }
            }

            return true;
        };
        SendBulk(link, 300_000);
        Assert.True(link.RunUntil(() => Received(link) == 300_000, 60_000));
        Assert.Equal(2, victimSends);
        Assert.Equal(1, reductions);
        Assert.Equal(1, link.A.Statistics.FastRetransmits);
        Assert.Equal(0, link.A.Statistics.RetransmissionTimeouts);
        Assert.Equal(1, link.A.Statistics.DataChunksRetransmitted);
        AssertHalved(cwndBefore, link.A.SlowStartThreshold);
        Assert.False(link.A.InFastRecovery); // exited at the recovery point
    }

    /// <summary>
    /// Samples cwnd at each packet A sends; remembers the last value before Fast Recovery began. The
    /// SACK that starts it may first grow cwnd by up to an MTU (§7.2.4 note), then halves it.
    /// </summary>
    private static void TrackRecovery(SctpAssociation a, ref long cwndBefore, ref int reductions, ref bool wasInRecovery)
    {
        var inRecovery = a.InFastRecovery;
        if (inRecovery && !wasInRecovery)
        {
            reductions++;
            Assert.Equal(a.SlowStartThreshold, a.CongestionWindow); // cwnd = ssthresh on entry (§7.2.3)
        }
        else if (!inRecovery && reductions == 0)
        {
            cwndBefore = a.CongestionWindow;
        }

        wasInRecovery = inRecovery;
    }

    /// <summary>§7.2.3: ssthresh = max(cwnd / 2, 4 MTU), cwnd being the one before the loss (plus that SACK's growth).</summary>
    private static void AssertHalved(long cwndBefore, long ssthresh) =>
        Assert.InRange(ssthresh, Math.Max(cwndBefore / 2, 4L * Mtu), Math.Max((cwndBefore + Mtu) / 2, 4L * Mtu));

    [Fact]
    public void SeveralLossesInOneWindowHalveCwndOnceAndNeedNoTimeout()
    {
        var link = Connected(6);
        uint? first = null;
        var dropped = new HashSet<uint>();
        long cwndAtLoss = 0;
        var reductions = 0;
        var wasInRecovery = false;
        link.Filter = (toB, packet) =>
        {
            if (!toB)
            {
                return true;
            }

            TrackRecovery(link.A, ref cwndAtLoss, ref reductions, ref wasInRecovery);
            foreach (var tsn in DataTsns(packet))
            {
                first ??= tsn;
                var offset = tsn - first.Value;
                if (offset is 30 or 33 or 37 && dropped.Add(tsn))
                {
                    return false;
                }
            }

            return true;
        };
        SendBulk(link, 400_000);
        Assert.True(link.RunUntil(() => Received(link) == 400_000, 60_000));
        Assert.Equal(3, dropped.Count);
        Assert.Equal(1, reductions); // §7.2.4: one reduction per Fast Recovery, however many losses
        AssertHalved(cwndAtLoss, link.A.SlowStartThreshold);
        Assert.Equal(0, link.A.Statistics.RetransmissionTimeouts);
        Assert.Equal(3, link.A.Statistics.DataChunksRetransmitted);
    }

    [Fact]
    public void RtoIsSrttPlusTheVarianceFloorOnASteadyPath()
    {
        var link = Connected(7, delayMs: 50);
        Assert.Equal(1000, link.A.RetransmissionTimeoutMs); // RTO.Initial before any measurement
        // Two-packet messages, so the SACK is immediate and the samples are the path's RTT alone.
        for (var i = 0; i < 40; i++)
        {
            link.A.Send(1, 53, new byte[2000], SctpSendOptions.Default, link.Now);
            link.Run(300);
        }

        Assert.InRange(link.A.SmoothedRoundTripTimeMs!.Value, 100, 101);
        Assert.InRange(link.A.RetransmissionTimeoutMs, 100 + 220, 100 + 230); // SRTT + max(G, 4 RTTVAR)

        var low = Connected(8, new SctpAssociationOptions { MinRtoVarianceMs = 0, MinRtoMs = 150 }, delayMs: 5);
        for (var i = 0; i < 40; i++)
        {
            low.A.Send(1, 53, new byte[2000], SctpSendOptions.Default, low.Now);
            low.Run(300);
        }

        Assert.Equal(150, low.A.RetransmissionTimeoutMs); // RTO.Min
    }

    [Fact]
    public void T3BacksOffToRtoMaxAndKarnsRuleKeepsTheRetransmissionOutOfTheRtt()
    {
        var link = Connected(9, new SctpAssociationOptions { MaxRtoMs = 4000 }, delayMs: 20);
        for (var i = 0; i < 10; i++)
        {
            link.A.Send(1, 53, new byte[2000], SctpSendOptions.Default, link.Now);
            link.Run(300);
        }

        var srtt = link.A.SmoothedRoundTripTimeMs!.Value;
        var rto = link.A.RetransmissionTimeoutMs;
        link.CutAToB = true;
        link.A.Send(1, 53, new byte[100], SctpSendOptions.Default, link.Now);
        var seen = new List<long>();
        var timeouts = 0L;
        Assert.True(link.RunUntil(
            () =>
            {
                if (link.A.Statistics.RetransmissionTimeouts != timeouts)
                {
                    timeouts = link.A.Statistics.RetransmissionTimeouts;
                    seen.Add(link.A.RetransmissionTimeoutMs);
                }

                return timeouts == 6;
            },
            60_000));

        // §6.3.3 E2: doubled each time, capped at RTO.Max.
        long expected = rto;
        foreach (var value in seen)
        {
            expected = Math.Min(expected * 2, 4000);
            Assert.Equal(expected, value);
        }

        Assert.Equal(Mtu, link.A.CongestionWindow); // E1

        // The path heals: the retransmission is acknowledged, but it gives no RTT sample (RFC 6298 §3);
        // the next new chunk does, and the RTO collapses back (RFC 6298 §5 note).
        link.CutAToB = false;
        Assert.True(link.RunUntil(() => link.A.OutstandingChunkCount == 0, 30_000));
        Assert.Equal(srtt, link.A.SmoothedRoundTripTimeMs!.Value);
        link.A.Send(1, 53, new byte[2000], SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => link.A.OutstandingChunkCount == 0, 30_000));
        Assert.InRange(link.A.RetransmissionTimeoutMs, 200, 400);
        Assert.Equal(SctpAssociationState.Established, link.A.State);
    }

    [Fact]
    public void SackIsDelayedForOnePacketAndImmediateForTheSecondForGapsAndDuplicates()
    {
        var link = Connected(10, delayMs: 10);
        var sacks = new List<long>();
        link.Filter = (toB, packet) =>
        {
            if (!toB && ChunkTypes(packet).Contains(SctpChunkType.Sack))
            {
                sacks.Add(link.Now);
            }

            return true;
        };

        // One packet: SACK after the 200 ms delay (§6.2).
        var sent = link.Now;
        link.A.Send(1, 53, new byte[100], SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => sacks.Count == 1, 5_000));
        Assert.Equal(sent + 10 + 200, sacks[0]);

        // Two packets: SACK at once on the second.
        link.Run(1_000);
        sacks.Clear();
        sent = link.Now;
        link.A.Send(1, 53, new byte[2000], SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => sacks.Count == 1, 5_000));
        Assert.Equal(sent + 10, sacks[0]);

        // A gap: the first of three packets is held back; the out-of-order ones are reported at
        // once, and so is the one that fills the gap (§6.7).
        link.Run(1_000);
        sacks.Clear();
        var held = false;
        link.ExtraDelay = (toB, packet) => toB && !held && DataTsns(packet).Count > 0 && (held = true) ? 50 : null;
        sent = link.Now;
        link.A.Send(1, 53, new byte[3000], SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => sacks.Count >= 3, 5_000));
        Assert.Equal([sent + 10, sent + 10, sent + 60], sacks.Take(3));

        // A duplicate: reported at once.
        link.Run(1_000);
        link.ExtraDelay = null;
        sacks.Clear();
        link.Duplication = 1.0;
        sent = link.Now;
        link.A.Send(1, 53, new byte[100], SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => sacks.Count >= 1, 5_000));
        Assert.Equal(sent + 10, sacks[0]);
        Assert.True(link.B.Statistics.DuplicateDataChunksReceived >= 1);
    }

    [Fact]
    public void APendingSackRidesWithData()
    {
        var link = Connected(11, delayMs: 10);
        var bundled = 0;
        var sackAlone = 0;
        link.Filter = (toB, packet) =>
        {
            var types = ChunkTypes(packet);
            if (!toB && types.Contains(SctpChunkType.Sack))
            {
                if (types.Contains(SctpChunkType.Data))
                {
                    bundled++;
                }
                else
                {
                    sackAlone++;
                }
            }

            return true;
        };

        // B answers each small message from A with one of its own 50 ms later: its delayed SACK is
        // still pending then and must travel in the answer's packet (§6.2, §6.10).
        link.OnEvent = (isA, e) =>
        {
            if (!isA && e.Kind == SctpEventKind.MessageReceived)
            {
                link.B.Send(1, 53, new byte[50], SctpSendOptions.Default, link.Now);
            }
        };
        for (var i = 0; i < 10; i++)
        {
            link.A.Send(1, 53, new byte[50], SctpSendOptions.Default, link.Now);
            link.Run(500);
        }

        Assert.Equal(10, bundled);
        Assert.Equal(0, sackAlone);
    }

    [Fact]
    public void AClosedReceiveWindowIsProbedWithOneChunkAndNeverKillsTheAssociation()
    {
        var scenario = new SimulationScenario { Name = "zero-window", Network = new() { DelayMs = 20 }, ReceiveWindow = 16 * 1024 };
        var sim = new SctpSimulation(scenario, 12);
        sim.Connect();
        sim.ReadersPaused = true;
        sim.AddBulk(400_000, 8 * 1024);
        var pausedAt = sim.Now;
        long maxFlightWhileClosed = 0;
        sim.AfterStep = () =>
        {
            if (sim.Now > pausedAt + 5_000)
            {
                maxFlightWhileClosed = Math.Max(maxFlightWhileClosed, sim.A.FlightSize);
            }
        };

        // The reader is away for ten minutes: far longer than Association.Max.Retrans timeouts take.
        Assert.False(sim.RunUntil(() => sim.A.IsTerminated, 600_000));
        Assert.Equal(SctpAssociationState.Established, sim.A.State);
        Assert.InRange(sim.B.ReceiveBufferedBytes, 16 * 1024, 16 * 1024 + 262_144);
        Assert.InRange(maxFlightWhileClosed, 1, FullChunk); // §6.1 A: one chunk in flight
        Assert.True(sim.A.Statistics.RetransmissionTimeouts > 10);

        // The reader comes back: everything arrives, nothing is left anywhere.
        sim.AfterStep = null;
        sim.ReadersPaused = false;
        Assert.True(sim.RunUntil(() => sim.BytesDeliveredToB == 400_000 && sim.Drained(), 600_000));
        Assert.Empty(sim.Violations);
    }

    [Fact]
    public void AnIdleSenderDecaysItsWindowToTheInitialWindow()
    {
        var link = Connected(13, delayMs: 20);
        SendBulk(link, 1_000_000);
        Assert.True(link.RunUntil(() => Received(link) == 1_000_000, 60_000));
        Assert.True(link.A.CongestionWindow > 20 * Mtu);
        link.Run(5_000); // many RTOs without data (§7.2.1)
        link.A.Send(1, 53, new byte[10], SctpSendOptions.Default, link.Now);
        link.Run(100);
        Assert.Equal(10 * Mtu, link.A.CongestionWindow);
    }
}
