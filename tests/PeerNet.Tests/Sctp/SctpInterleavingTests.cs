using System.Buffers.Binary;
using PeerNet.Sctp;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sctp;

/// <summary>
/// User message interleaving (RFC 8260) between two associations: negotiation, I-DATA on the wire,
/// head-of-line blocking gone, the scheduler's receiver-progress rule, I-FORWARD-TSN, stream reset,
/// and chunks of the wrong kind.
/// </summary>
public class SctpInterleavingTests(ITestOutputHelper output)
{
    /// <summary>Chunks seen on the wire in each direction.</summary>
    private sealed class Wire
    {
        public readonly List<SctpChunkType> ToB = [];
        public readonly List<SctpChunkType> ToA = [];
        public readonly List<(uint Tsn, ushort Stream, uint Mid, uint Fsn, byte Flags)> IDataToB = [];
        public readonly List<byte[]> InitChunks = [];
        public uint TagOfA;
        public uint TagOfB;
        public uint LastTsnToB;
    }

    private static (SimulatedLink Link, Wire Wire) Connect(int seed, SctpAssociationOptions a, SctpAssociationOptions b, Func<bool, byte[], bool>? drop = null)
    {
        var wire = new Wire();
        var link = new SimulatedLink(seed, a, b);
        link.Filter = (toB, p) =>
        {
            var tag = BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(4));
            if (tag != 0)
            {
                if (toB)
                {
                    wire.TagOfB = tag;
                }
                else
                {
                    wire.TagOfA = tag;
                }
            }

            foreach (var c in SctpPacket.EnumerateChunks(p))
            {
                (toB ? wire.ToB : wire.ToA).Add(c.Type);
                if (c.Type is SctpChunkType.Init or SctpChunkType.InitAck)
                {
                    wire.InitChunks.Add(c.Raw.ToArray());
                }

                if (toB && c.Type == SctpChunkType.IData && IDataChunk.TryRead(c, out var d))
                {
                    wire.IDataToB.Add((d.Tsn, d.StreamId, d.MessageIdentifier, d.FragmentSequenceNumber, d.Flags));
                    wire.LastTsnToB = d.Tsn;
                }
                else if (toB && c.Type == SctpChunkType.Data && DataChunk.TryRead(c, out var dd))
                {
                    wire.LastTsnToB = dd.Tsn;
                }
            }

            return drop?.Invoke(toB, p) ?? true;
        };
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 10_000));
        return (link, wire);
    }

    private static SctpAssociationOptions Options(bool interleaving, int maxMessageSize = 262144, int receiveWindow = 1024 * 1024) =>
        new() { EnableInterleaving = interleaving, MaxMessageSize = maxMessageSize, ReceiveWindow = receiveWindow, HeartbeatIntervalMs = null };

    private static List<SctpEvent> Messages(List<SctpEvent> events) => events.FindAll(e => e.Kind == SctpEventKind.MessageReceived);

    private static byte[] Packet(uint tag, byte[] chunk)
    {
        var packet = new byte[SctpPacket.HeaderLength + SctpChunk.Pad(chunk.Length)];
        SctpPacket.WriteHeader(packet, 5000, 5000, tag);
        chunk.CopyTo(packet, SctpPacket.HeaderLength);
        SctpPacket.Seal(packet);
        return packet;
    }

    private static bool ListsExtension(byte[] init, SctpChunkType type)
    {
        foreach (var p in new SctpParameterEnumerator(init.AsSpan(InitChunk.HeaderLength)))
        {
            if (p.Type == (ushort)SctpParameterType.SupportedExtensions && p.Value.Contains((byte)type))
            {
                return true;
            }
        }

        return false;
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void IDataIsUsedOnlyWhenBothSidesOfferIt(bool aOffers, bool bOffers)
    {
        var (link, wire) = Connect(1, Options(aOffers), Options(bOffers));
        var both = aOffers && bOffers;
        Assert.Equal(both, link.A.InterleavingNegotiated);
        Assert.Equal(both, link.B.InterleavingNegotiated);
        Assert.True(link.A.PeerSupportsPartialReliability && link.B.PeerSupportsPartialReliability);

        // INIT (A) and INIT ACK (B) list I-DATA and I-FORWARD-TSN exactly when their side offers it.
        Assert.Equal(2, wire.InitChunks.Count);
        Assert.Equal(aOffers, ListsExtension(wire.InitChunks[0], SctpChunkType.IData));
        Assert.Equal(aOffers, ListsExtension(wire.InitChunks[0], SctpChunkType.IForwardTsn));
        Assert.Equal(bOffers, ListsExtension(wire.InitChunks[1], SctpChunkType.IData));
        Assert.Equal(bOffers, ListsExtension(wire.InitChunks[1], SctpChunkType.IForwardTsn));

        var big = SctpTransferTests.Pattern(50_000, 1);
        link.A.Send(1, 53, big, SctpSendOptions.Default, link.Now);
        link.A.Send(2, 51, "small"u8, SctpSendOptions.Unordered, link.Now);
        link.B.Send(3, 53, big, SctpSendOptions.Unordered, link.Now);
        link.B.Send(4, 51, "reply"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 2 && Messages(link.EventsA).Count == 2, 60_000));
        Assert.Equal(big, Messages(link.EventsB).Single(e => e.StreamId == 1).Payload);
        Assert.Equal(big, Messages(link.EventsA).Single(e => e.StreamId == 3).Payload);
        Assert.True(Messages(link.EventsB).Single(e => e.StreamId == 2).Unordered);

        var used = both ? SctpChunkType.IData : SctpChunkType.Data;
        var unused = both ? SctpChunkType.Data : SctpChunkType.IData;
        Assert.Contains(used, wire.ToB);
        Assert.Contains(used, wire.ToA);
        Assert.DoesNotContain(unused, wire.ToB);
        Assert.DoesNotContain(unused, wire.ToA);
    }

    /// <summary>
    /// A 1 MiB message on stream 1, then a 10-byte one on stream 2. With I-DATA the small one rides
    /// in the first packets and arrives after one trip; with DATA it waits for every fragment of the
    /// large one (RFC 8260 §1: head-of-line blocking at the sender).
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ASmallMessageDoesNotWaitBehindALargeOneOnAnotherStream(bool interleaving)
    {
        const int large = 1024 * 1024;
        var (link, _) = Connect(2, Options(interleaving, large), Options(interleaving, large));
        link.DelayMs = 25;
        var deliveredAt = new Dictionary<ushort, long>();
        link.OnEvent = (isA, e) =>
        {
            if (!isA && e.Kind == SctpEventKind.MessageReceived)
            {
                deliveredAt[e.StreamId] = link.Now;
            }
        };
        var start = link.Now;
        link.A.Send(1, 53, SctpTransferTests.Pattern(large, 3), SctpSendOptions.Default, link.Now);
        link.A.Send(2, 51, "0123456789"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => deliveredAt.Count == 2, 120_000));

        var order = Messages(link.EventsB).Select(e => e.StreamId).ToList();
        var smallAfter = deliveredAt[2] - start;
        var largeAfter = deliveredAt[1] - start;
        Assert.True(largeAfter > 300, $"1 MiB took {largeAfter} ms: the slow start should need several round trips");
        if (interleaving)
        {
            Assert.Equal([2, 1], order);
            Assert.True(smallAfter <= 2 * link.DelayMs, $"small message after {smallAfter} ms, large after {largeAfter} ms");
        }
        else
        {
            Assert.Equal([1, 2], order);
            Assert.True(smallAfter >= largeAfter, $"small message after {smallAfter} ms, large after {largeAfter} ms");
        }
    }

    /// <summary>
    /// §2.2.2: TSNs must let the receiver make progress. A message of several fragments starts next
    /// to another in progress only if both fit the peer's window; otherwise it waits, as with DATA.
    /// </summary>
    [Theory]
    [InlineData(1024 * 1024, true)]
    [InlineData(16 * 1024, false)]
    public void LargeMessagesInterleaveOnlyWhenThePeersWindowHoldsThem(int peerWindow, bool expectInterleaved)
    {
        var (link, wire) = Connect(3, Options(true), Options(true, receiveWindow: peerWindow));
        link.A.Send(1, 53, SctpTransferTests.Pattern(60_000, 1), SctpSendOptions.Default, link.Now);
        link.A.Send(2, 53, SctpTransferTests.Pattern(60_000, 2), SctpSendOptions.Default, link.Now);
        link.A.Send(3, 51, "tiny"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 3, 120_000));

        var firstEnds = wire.IDataToB.First(d => d.Stream == 1 && (d.Flags & DataChunk.EndingFlag) != 0).Tsn;
        var secondBegins = wire.IDataToB.First(d => d.Stream == 2).Tsn;
        var tiny = wire.IDataToB.First(d => d.Stream == 3).Tsn;
        Assert.Equal(expectInterleaved, SerialNumberLess(secondBegins, firstEnds));
        Assert.True(SerialNumberLess(tiny, firstEnds), "a single-chunk message always interleaves");
        Assert.Equal(SctpTransferTests.Pattern(60_000, 2), Messages(link.EventsB).Single(e => e.StreamId == 2).Payload);
    }

    private static bool SerialNumberLess(uint a, uint b) => (int)(a - b) < 0;

    /// <summary>
    /// RFC 8260 §2.3: a partially reliable message that loses a fragment is skipped with I-FORWARD-TSN
    /// (never FORWARD TSN), the receiver drops what it holds of it, and later messages on the stream,
    /// ordered or not, still arrive.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AnAbandonedMessageIsSkippedWithIForwardTsn(bool ordered)
    {
        var dropped = false;
        var (link, wire) = Connect(4, Options(true), Options(true), (toB, p) =>
        {
            foreach (var c in SctpPacket.EnumerateChunks(p))
            {
                if (toB && IDataChunk.TryRead(c, out var d) && c.Type == SctpChunkType.IData && d.StreamId == 7 && d.MessageIdentifier == 0 && d.FragmentSequenceNumber == 1)
                {
                    dropped = true;
                    return false; // lose the second fragment of the first message on stream 7
                }
            }

            return true;
        });
        var reliability = new SctpSendOptions { Ordered = ordered, MaxRetransmits = 0 };
        link.A.Send(7, 53, SctpTransferTests.Pattern(5000, 7), reliability, link.Now);
        link.A.Send(8, 53, SctpTransferTests.Pattern(20_000, 8), SctpSendOptions.Default, link.Now);
        link.A.Send(7, 51, "after"u8, new SctpSendOptions { Ordered = ordered }, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 2 && link.A.OutstandingChunkCount == 0, 60_000));
        Assert.True(dropped);
        Assert.Equal(["after"], Messages(link.EventsB).Where(e => e.StreamId == 7).Select(e => System.Text.Encoding.UTF8.GetString(e.Payload!)));
        Assert.Contains(SctpChunkType.IForwardTsn, wire.ToB);
        Assert.DoesNotContain(SctpChunkType.ForwardTsn, wire.ToB);
        Assert.Equal(0, link.B.ReceiveBufferedBytes);
        Assert.Equal(1, link.A.Statistics.MessagesAbandoned);
    }

    /// <summary>RFC 8260 §2.3.2: a stream reset sets both MID counters back to 0, on both sides.</summary>
    [Fact]
    public void StreamResetRestartsBothMessageIdentifiers()
    {
        var (link, wire) = Connect(5, Options(true), Options(true));
        for (var i = 0; i < 3; i++)
        {
            link.A.Send(4, 51, [(byte)i], SctpSendOptions.Default, link.Now);
            link.A.Send(4, 51, [(byte)(10 + i)], SctpSendOptions.Unordered, link.Now);
        }

        link.A.ResetStreams([4], link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.OutgoingStreamsReset) && link.Has(false, SctpEventKind.StreamsReset), 30_000));
        var before = wire.IDataToB.Count;
        link.A.Send(4, 51, [100], SctpSendOptions.Default, link.Now);
        link.A.Send(4, 51, [101], SctpSendOptions.Unordered, link.Now);
        link.A.Send(4, 51, [102], SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 9, 30_000));

        Assert.Equal([0u, 0u, 1u, 1u, 2u, 2u], wire.IDataToB.Take(before).Select(d => d.Mid));
        Assert.Equal([0u, 0u, 1u], wire.IDataToB.Skip(before).Select(d => d.Mid));
        Assert.Equal([0, 1, 2, 100, 102], Messages(link.EventsB).Where(e => !e.Unordered).Select(e => (int)e.Payload![0]));
    }

    [Fact]
    public void DataAfterIDataWasNegotiatedAborts()
    {
        var (link, wire) = Connect(6, Options(true), Options(true));
        var chunk = new byte[DataChunk.HeaderLength + 4];
        DataChunk.Write(chunk, DataChunk.BeginningFlag | DataChunk.EndingFlag, wire.LastTsnToB + 1, 1, 0, 51, [1, 2, 3, 4]);
        link.B.HandlePacket(Packet(wire.TagOfB, chunk), link.Now);
        AssertAbortedForProtocolViolation(link);
    }

    [Fact]
    public void IDataWithoutNegotiationAborts()
    {
        var (link, wire) = Connect(7, Options(true), Options(false));
        var chunk = new byte[IDataChunk.HeaderLength + 4];
        IDataChunk.Write(chunk, DataChunk.BeginningFlag | DataChunk.EndingFlag, 12345, 1, 0, 51, 0, [1, 2, 3, 4]);
        link.B.HandlePacket(Packet(wire.TagOfB, chunk), link.Now);
        AssertAbortedForProtocolViolation(link);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheOtherForwardTsnKindAborts(bool interleaving)
    {
        var (link, wire) = Connect(8, Options(interleaving), Options(interleaving));
        link.A.Send(1, 51, "x"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 1, 10_000));
        var chunk = new byte[16];
        var n = interleaving
            ? ForwardTsnChunk.Write(chunk, wire.LastTsnToB, [])
            : IForwardTsnChunk.Write(chunk, wire.LastTsnToB, []);
        link.B.HandlePacket(Packet(wire.TagOfB, chunk[..n]), link.Now);
        AssertAbortedForProtocolViolation(link);
    }

    [Fact]
    public void AFragmentClaimingTheFirstFragmentsNumberAborts()
    {
        var (link, wire) = Connect(9, Options(true), Options(true));
        var chunk = new byte[IDataChunk.HeaderLength + 4];
        IDataChunk.Write(chunk, 0, wire.LastTsnToB + 1, 1, 0, 51, 0, [1, 2, 3, 4]); // no B bit, FSN 0
        link.B.HandlePacket(Packet(wire.TagOfB, chunk), link.Now);
        AssertAbortedForProtocolViolation(link);
    }

    private static void AssertAbortedForProtocolViolation(SimulatedLink link)
    {
        Assert.True(link.B.IsTerminated);
        Assert.True(link.RunUntil(() => link.A.IsTerminated, 10_000));
        var reason = link.EventsA.Single(e => e.Kind == SctpEventKind.Aborted).Reason;
        Assert.Contains("ProtocolViolation", reason);
    }

    /// <summary>
    /// Hostile I-DATA with valid tags and checksums: lying FSNs, MIDs, flags and lengths, duplicate
    /// FSNs under new TSNs, fragments past a message's end, FSNs near 2^32, messages growing past the
    /// maximum size. Each is ignored or aborts cleanly; nothing throws, what B holds stays within its
    /// window (plus the one in-sequence message it may take beyond it), its counters stay consistent,
    /// and it can still send.
    /// </summary>
    [Fact]
    public void HostileFragmentsNeverCrashOrCorruptTheReceiver()
    {
        var survived = 0;
        for (var seed = 0; seed < 6; seed++)
        {
            var (link, wire) = Connect(100 + seed, Options(true), Options(true));
            var rng = new Random(seed);
            link.A.Send(1, 51, "x"u8, SctpSendOptions.Default, link.Now);
            Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 1, 10_000));
            var next = wire.LastTsnToB + 1;
            var sent = 0;
            for (var i = 0; i < 3000 && !link.B.IsTerminated; i++, sent++)
            {
                var payload = new byte[rng.Next(1, 1100)];
                rng.NextBytes(payload);
                var flags = (byte)rng.Next(16);
                var fsn = rng.Next(4) switch { 0 => 0u, 1 => (uint)rng.Next(1, 8), 2 => uint.MaxValue - (uint)rng.Next(3), _ => (uint)rng.Next() };
                if (fsn == 0)
                {
                    flags |= DataChunk.BeginningFlag; // FSN 0 without B aborts (tested above); keep the storm going
                }

                var chunk = new byte[IDataChunk.HeaderLength + payload.Length + 3];
                var tsn = rng.Next(8) == 0 ? next - 2 + (uint)rng.Next(0, 6) : next++; // mostly in sequence, some duplicates and gaps
                var n = IDataChunk.Write(chunk, flags, tsn, (ushort)rng.Next(20, 24), (uint)rng.Next(0, 6), 53, fsn, payload);
                if (rng.Next(16) == 0)
                {
                    // A lying length: longer than the chunk, or shorter than the header. The packet is dropped.
                    BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)(rng.Next(2) == 0 ? n + rng.Next(1, 100) : rng.Next(4, IDataChunk.HeaderLength)));
                }

                link.B.HandlePacket(Packet(wire.TagOfB, chunk[..n]), link.Now);
                Assert.True(link.B.ReceiveBufferedBytes <= (1024 * 1024) + 262144);
                if (rng.Next(100) == 0)
                {
                    link.Run(20);
                }
            }

            link.B.CheckInvariants();
            link.Run(10);
            output.WriteLine($"seed {seed}: {sent} hostile chunks, B {(link.B.IsTerminated ? "aborted" : "alive")}, {link.B.Statistics.DataChunksReceived} taken, {link.B.Statistics.MessagesReceived} delivered, holds {link.B.ReceiveBufferedBytes} bytes");
            if (link.B.IsTerminated)
            {
                Assert.Contains(link.EventsB, e => e.Kind == SctpEventKind.Aborted);
                continue;
            }

            survived++;
            link.B.Send(9, 51, "still here"u8, SctpSendOptions.Default, link.Now);
            Assert.True(link.RunUntil(() => link.EventsA.Exists(e => e.Kind == SctpEventKind.MessageReceived && e.StreamId == 9), 60_000), $"seed {seed}");
        }

        Assert.True(survived > 0, "every storm ended in an abort: the test no longer exercises reassembly");
    }
}
