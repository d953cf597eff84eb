using System.Buffers.Binary;
using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

/// <summary>
/// Well-formed chunks with hostile content, with valid checksums and tags: TSNs far outside the
/// window, acknowledgements of data never sent, FORWARD TSNs that skip too far, forged tags on
/// ABORT, and every chunk type in states where it makes no sense. Each is dropped (or ignored) and
/// the association keeps working; the sender's bookkeeping stays consistent.
/// </summary>
public class SctpHostileChunkTests
{
    private static byte[] Packet(uint tag, byte[] chunk)
    {
        var packet = new byte[SctpPacket.HeaderLength + SctpChunk.Pad(chunk.Length)];
        SctpPacket.WriteHeader(packet, 5000, 5000, tag);
        chunk.CopyTo(packet, SctpPacket.HeaderLength);
        SctpPacket.Seal(packet);
        return packet;
    }

    private static byte[] Chunk(SctpChunkType type, byte flags, byte[] value)
    {
        var chunk = new byte[4 + value.Length];
        chunk[0] = (byte)type;
        chunk[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)chunk.Length);
        value.CopyTo(chunk, 4);
        return chunk;
    }

    private static byte[] Data(uint tsn, ushort stream, ushort ssn, byte[] payload)
    {
        var chunk = new byte[DataChunk.HeaderLength + payload.Length + 3];
        var n = DataChunk.Write(chunk, DataChunk.BeginningFlag | DataChunk.EndingFlag, tsn, stream, ssn, 51, payload);
        return chunk[..n];
    }

    private static byte[] Sack(uint cumulative, uint window, params SctpGapAckBlock[] gaps)
    {
        var chunk = new byte[SackChunk.GetLength(gaps.Length, 0)];
        SackChunk.Write(chunk, cumulative, window, gaps, []);
        return chunk;
    }

    private static byte[] ForwardTsn(uint newCumulative)
    {
        var chunk = new byte[ForwardTsnChunk.HeaderLength + 4];
        var n = ForwardTsnChunk.Write(chunk, newCumulative, []);
        return chunk[..n];
    }

    /// <summary>A connected link; the tags each side expects, and the TSNs in use each way.</summary>
    private sealed class Observed
    {
        public uint TagOfA;
        public uint TagOfB;
        public uint LastTsnToB;
        public uint LastCumulativeFromB;
    }

    private static (SimulatedLink Link, Observed Seen) Connected(int seed)
    {
        var seen = new Observed();
        var link = new SimulatedLink(seed);
        link.Filter = (toB, p) =>
        {
            var tag = BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(4));
            if (tag != 0)
            {
                if (toB)
                {
                    seen.TagOfB = tag;
                }
                else
                {
                    seen.TagOfA = tag;
                }
            }

            foreach (var c in SctpPacket.EnumerateChunks(p))
            {
                if (toB && c.Type == SctpChunkType.Data && DataChunk.TryRead(c, out var d))
                {
                    seen.LastTsnToB = d.Tsn;
                }
                else if (!toB && c.Type == SctpChunkType.Sack && SackChunk.TryRead(c, out var s))
                {
                    seen.LastCumulativeFromB = s.CumulativeTsnAck;
                }
            }

            return true;
        };
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 10_000));
        link.A.Send(1, 51, "x"u8, SctpSendOptions.Default, link.Now);
        link.B.Send(1, 51, "y"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => link.Has(false, SctpEventKind.MessageReceived) && link.Has(true, SctpEventKind.MessageReceived) && link.A.OutstandingChunkCount == 0, 10_000));
        return (link, seen);
    }

    private static void StillWorks(SimulatedLink link, string text)
    {
        var before = link.EventsB.Count(e => e.Kind == SctpEventKind.MessageReceived);
        link.A.Send(2, 51, System.Text.Encoding.UTF8.GetBytes(text), SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => link.EventsB.Count(e => e.Kind == SctpEventKind.MessageReceived) == before + 1, 30_000), text);
        Assert.Equal(text, System.Text.Encoding.UTF8.GetString(link.EventsB.Last(e => e.Kind == SctpEventKind.MessageReceived).Payload!));
        Assert.Equal(SctpAssociationState.Established, link.A.State);
        Assert.Equal(SctpAssociationState.Established, link.B.State);
        link.A.CheckInvariants();
        link.B.CheckInvariants();
    }

    [Fact]
    public void DataWithTsnsFarOutsideTheWindowIsDropped()
    {
        var (link, seen) = Connected(70);
        var cumulative = seen.LastTsnToB;
        foreach (var offset in new uint[] { 65_536, 100_000, 1u << 31, (1u << 31) + 1, uint.MaxValue - 65_535 })
        {
            link.B.HandlePacket(Packet(seen.TagOfB, Data(cumulative + offset, 3, 0, [1, 2, 3])), link.Now);
        }

        // Far ahead: beyond what gap reports can describe, dropped. Half the TSN space away or behind:
        // serial arithmetic says old, so a duplicate (reported, not delivered).
        Assert.Equal(2, link.B.Statistics.GetDrops(SctpDropReason.ReceiveWindowFull));
        Assert.Equal(3, link.B.Statistics.DuplicateDataChunksReceived);
        Assert.DoesNotContain(link.EventsB, e => e.Kind == SctpEventKind.MessageReceived && e.StreamId == 3);
        StillWorks(link, "after far TSNs");
        Assert.DoesNotContain(link.EventsB, e => e.Kind == SctpEventKind.MessageReceived && e.StreamId == 3);
    }

    [Fact]
    public void SacksForDataNeverSentOrLongAgoChangeNothing()
    {
        var (link, seen) = Connected(71);

        // Data in flight that the forged SACKs must not acknowledge away.
        link.CutAToB = true;
        link.A.Send(1, 51, new byte[3000], SctpSendOptions.Default, link.Now);
        link.Run(10);
        var outstanding = link.A.OutstandingChunkCount;
        Assert.True(outstanding >= 3);
        var first = seen.LastCumulativeFromB + 1;
        var a = link.A;
        a.HandlePacket(Packet(seen.TagOfA, Sack(first + 1000, 100_000)), link.Now); // beyond what was sent
        Assert.Equal(SctpDropReason.MalformedChunk, a.Statistics.LastDropReason);
        a.HandlePacket(Packet(seen.TagOfA, Sack(first - 1000, 100_000)), link.Now); // long ago: ignored
        a.HandlePacket(Packet(seen.TagOfA, Sack(first - 1, 100_000, new SctpGapAckBlock(500, 900), new SctpGapAckBlock(7, 3))), link.Now); // past the end, inverted
        Assert.Equal(outstanding, a.OutstandingChunkCount);
        a.CheckInvariants();

        link.CutAToB = false;
        Assert.True(link.RunUntil(() => link.EventsB.Count(e => e.Kind == SctpEventKind.MessageReceived) == 2, 30_000));
        StillWorks(link, "after forged SACKs");
    }

    [Fact]
    public void AForwardTsnBeyondTheWindowIsDroppedNotObeyed()
    {
        var (link, seen) = Connected(72);
        link.B.HandlePacket(Packet(seen.TagOfB, ForwardTsn(seen.LastTsnToB + 1_000_000)), link.Now);
        Assert.Equal(SctpDropReason.MalformedChunk, link.B.Statistics.LastDropReason);
        StillWorks(link, "after a far FORWARD TSN"); // had it been obeyed, this TSN would count as old
    }

    [Fact]
    public void ForgedAbortsAreDropped()
    {
        var (link, seen) = Connected(73);
        var abort = Chunk(SctpChunkType.Abort, 0, []);
        var reflected = Chunk(SctpChunkType.Abort, ErrorCauses.TFlag, []);
        link.B.HandlePacket(Packet(seen.TagOfB ^ 0x10000, abort), link.Now); // wrong tag
        link.B.HandlePacket(Packet(seen.TagOfB, reflected), link.Now); // T bit needs the sender's (A's) tag
        link.B.HandlePacket(Packet(0, abort), link.Now);
        link.B.HandlePacket(Packet(seen.TagOfA ^ 1, reflected), link.Now);
        Assert.Equal(4, link.B.Statistics.GetDrops(SctpDropReason.WrongVerificationTag));
        StillWorks(link, "after forged aborts");

        link.B.HandlePacket(Packet(seen.TagOfA, reflected), link.Now); // a real reflected ABORT ends it
        Assert.True(link.B.IsTerminated);
    }

    [Fact]
    public void ChunksThatDoNotBelongToTheStateAreIgnored()
    {
        var (link, seen) = Connected(74);
        var init = new byte[64];
        var p = new SctpParameterBuilder(init.AsSpan(InitChunk.HeaderLength));
        var initAck = init[..InitChunk.Write(init, true, 99, 100_000, 10, 10, 1, p.UnpaddedLength)];
        byte[][] outOfPlace =
        [
            initAck,
            Chunk(SctpChunkType.CookieAck, 0, []),
            Chunk(SctpChunkType.ShutdownAck, 0, []),
            Chunk(SctpChunkType.ShutdownComplete, 0, []),
            Chunk(SctpChunkType.HeartbeatAck, 0, [0, 1, 0, 20, .. new byte[16]]),
            Chunk(SctpChunkType.Error, 0, [0, 3, 0, 8, 0, 0, 0, 1]), // Stale Cookie while established
        ];
        foreach (var chunk in outOfPlace)
        {
            link.B.HandlePacket(Packet(seen.TagOfB, chunk), link.Now);
            link.A.HandlePacket(Packet(seen.TagOfA, chunk), link.Now);
        }

        StillWorks(link, "after out-of-state chunks");
    }

    [Fact]
    public void ANewAssociationIgnoresDataSacksAndTeardownBeforeItIsUp()
    {
        var a = new SctpAssociation(new SctpAssociationOptions { Random = new Random(75) });
        var b = new SctpAssociation(new SctpAssociationOptions { Random = new Random(76) });
        a.Connect(0);
        var buffer = new byte[1500];
        var n = a.PollTransmit(buffer);
        Assert.True(n > 0);
        var e = SctpPacket.EnumerateChunks(buffer.AsSpan(0, n));
        e.MoveNext();
        Assert.True(InitChunk.TryRead(e.Current, out var initChunk));
        var tagOfA = initChunk.InitiateTag;
        var initPacket = buffer[..n];

        byte[][] early =
        [
            Data(initChunk.InitialTsn, 1, 0, [1]),
            Sack(initChunk.InitialTsn, 100_000),
            ForwardTsn(initChunk.InitialTsn + 5),
            Chunk(SctpChunkType.Shutdown, 0, [0, 0, 0, 1]),
            Chunk(SctpChunkType.ShutdownAck, 0, []),
            Chunk(SctpChunkType.CookieAck, 0, []),
            Chunk(SctpChunkType.Heartbeat, 0, [0, 1, 0, 8, 1, 2, 3, 4]),
        ];
        foreach (var chunk in early)
        {
            a.HandlePacket(Packet(tagOfA, chunk), 1); // COOKIE-WAIT
            b.HandlePacket(Packet(12345, chunk), 1); // CLOSED: out of the blue
        }

        Assert.Equal(SctpAssociationState.CookieWait, a.State);
        Assert.Equal(SctpAssociationState.Closed, b.State);
        Assert.False(a.IsTerminated || b.IsTerminated);
        while (a.PollTransmit(buffer) > 0)
        {
        }

        while (b.PollTransmit(buffer) > 0)
        {
        }

        // The real handshake still completes.
        b.HandlePacket(initPacket, 2);
        for (var round = 0; round < 5; round++)
        {
            while ((n = b.PollTransmit(buffer)) > 0)
            {
                a.HandlePacket(buffer.AsSpan(0, n), 3);
            }

            while ((n = a.PollTransmit(buffer)) > 0)
            {
                b.HandlePacket(buffer.AsSpan(0, n), 3);
            }
        }

        Assert.Equal(SctpAssociationState.Established, a.State);
        Assert.Equal(SctpAssociationState.Established, b.State);
        while (b.TryPollEvent(out var ev))
        {
            Assert.NotEqual(SctpEventKind.MessageReceived, ev.Kind);
        }
    }
}
