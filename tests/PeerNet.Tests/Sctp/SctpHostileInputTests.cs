using System.Buffers.Binary;
using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

public class SctpHostileInputTests
{
    private static byte[] Build(ushort sourcePort, ushort destinationPort, uint tag, params byte[][] chunks)
    {
        var packet = new byte[SctpPacket.HeaderLength + chunks.Sum(c => SctpChunk.Pad(c.Length))];
        SctpPacket.WriteHeader(packet, sourcePort, destinationPort, tag);
        var offset = SctpPacket.HeaderLength;
        foreach (var c in chunks)
        {
            c.CopyTo(packet, offset);
            offset += SctpChunk.Pad(c.Length);
        }

        SctpPacket.Seal(packet);
        return packet;
    }

    private static byte[] Chunk(byte type, byte flags, byte[] value)
    {
        var chunk = new byte[4 + value.Length];
        chunk[0] = type;
        chunk[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)chunk.Length);
        value.CopyTo(chunk, 4);
        return chunk;
    }

    private static byte[] HeartbeatChunkBytes()
    {
        var chunk = new byte[64];
        var n = HeartbeatChunk.WriteRequest(chunk, "probe-probe-probe"u8);
        return chunk[..n];
    }

    /// <summary>Connected link plus the verification tag A→B packets carry (B's own tag).</summary>
    private static (SimulatedLink Link, uint TagToB) ConnectedWithTag(int seed)
    {
        uint tag = 0;
        var link = new SimulatedLink(seed);
        link.Filter = (toB, p) =>
        {
            if (toB)
            {
                tag = BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(4));
            }

            return true;
        };
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 10_000));
        link.A.Send(0, 51, "x"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => link.Has(false, SctpEventKind.MessageReceived), 10_000));
        link.Filter = null;
        return (link, tag);
    }

    private static List<SctpChunkType> Replies(SctpAssociation association)
    {
        var types = new List<SctpChunkType>();
        var buffer = new byte[1500];
        int n;
        while ((n = association.PollTransmit(buffer)) > 0)
        {
            Assert.True(SctpPacket.HasValidChecksum(buffer.AsSpan(0, n)));
            foreach (var c in SctpPacket.EnumerateChunks(buffer.AsSpan(0, n)))
            {
                types.Add(c.Type);
            }
        }

        return types;
    }

    [Fact]
    public void EveryTruncationOfAValidPacketIsRejectedOrParsedWithoutThrowing()
    {
        var sack = new byte[64];
        var sackLength = SackChunk.Write(sack, 5, 100, [new(2, 4)], [3u]);
        var data = new byte[64];
        var dataLength = DataChunk.Write(data, 3, 9, 1, 2, 51, "hello world"u8);
        var packet = Build(5000, 5000, 7, sack[..sackLength], data[..dataLength], HeartbeatChunkBytes());

        // A cut is harmless only right after a chunk (its padding may go missing); anywhere else it must be reported.
        var boundaries = new HashSet<int> { SctpPacket.HeaderLength };
        var offset = SctpPacket.HeaderLength;
        foreach (var chunk in SctpPacket.EnumerateChunks(packet))
        {
            for (var end = offset + chunk.Raw.Length; end <= offset + SctpChunk.Pad(chunk.Raw.Length); end++)
            {
                boundaries.Add(end);
            }

            offset += SctpChunk.Pad(chunk.Raw.Length);
        }

        for (var length = 0; length <= packet.Length; length++)
        {
            var e = SctpPacket.EnumerateChunks(packet.AsSpan(0, length));
            while (e.MoveNext())
            {
            }

            if (length >= SctpPacket.HeaderLength)
            {
                Assert.Equal(boundaries.Contains(length), e.Error == SctpDropReason.None);
            }

            Assert.Equal(length >= SctpPacket.HeaderLength + SctpChunk.HeaderLength, SctpPacket.TryReadHeader(packet.AsSpan(0, length), out _, out var reason) || reason == SctpDropReason.BadChecksum);
            Assert.Equal(length == packet.Length, SctpPacket.HasValidChecksum(packet.AsSpan(0, length)));
        }
    }

    [Fact]
    public void LyingLengthsAreRejectedByEveryChunkReader()
    {
        Assert.False(SctpPacket.TryReadHeader(new byte[15], out _, out var r));
        Assert.Equal(SctpDropReason.TooShort, r);

        // Chunk length 0, 3, and past the end.
        foreach (var declared in new ushort[] { 0, 3, 200 })
        {
            var packet = Build(5000, 5000, 1, HeartbeatChunkBytes());
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(14), declared);
            var e = SctpPacket.EnumerateChunks(packet);
            while (e.MoveNext())
            {
            }

            Assert.Equal(SctpDropReason.BadChunkLength, e.Error);
        }

        Assert.False(DataChunk.TryRead(new SctpChunk(Chunk(0, 3, new byte[11])), out _));
        Assert.False(InitChunk.TryRead(new SctpChunk(Chunk(1, 0, new byte[15])), out _));

        // INIT whose parameter claims more than there is.
        var init = Chunk(1, 0, [.. new byte[16], 0x00, 0x07, 0x00, 0x40, 1, 2, 3, 4]);
        Assert.False(InitChunk.TryRead(new SctpChunk(init), out _));

        // SACK whose counts disagree with its length, both ways.
        var sack = new byte[32];
        var n = SackChunk.Write(sack, 1, 1, [new(2, 3)], []);
        BinaryPrimitives.WriteUInt16BigEndian(sack.AsSpan(12), 2);
        Assert.False(SackChunk.TryRead(new SctpChunk(sack.AsSpan(0, n)), out _));
        BinaryPrimitives.WriteUInt16BigEndian(sack.AsSpan(12), 0);
        Assert.False(SackChunk.TryRead(new SctpChunk(sack.AsSpan(0, n)), out _));

        Assert.False(ForwardTsnChunk.TryRead(new SctpChunk(Chunk(192, 0, new byte[6])), out _));
        Assert.False(ForwardTsnChunk.TryRead(new SctpChunk(Chunk(192, 0, new byte[3])), out _));
        Assert.False(ShutdownChunk.TryRead(new SctpChunk(Chunk(7, 0, new byte[5])), out _));
        Assert.False(ShutdownChunk.IsValidEmpty(new SctpChunk(Chunk(8, 0, new byte[4]))));
        Assert.False(HeartbeatChunk.TryRead(new SctpChunk(Chunk(4, 0, [])), out _));
        Assert.False(HeartbeatChunk.TryRead(new SctpChunk(Chunk(4, 0, [0, 1, 0, 9, 1])), out _));
        Assert.False(ErrorCauses.TryRead(new SctpChunk(Chunk(6, 0, [0, 1, 0, 2])), out _));
        Assert.False(ReConfigChunk.TryRead(new SctpChunk(Chunk(130, 0, [])), out _));
        var three = new byte[36];
        for (var i = 0; i < 3; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(three.AsSpan(i * 12), 16);
            BinaryPrimitives.WriteUInt16BigEndian(three.AsSpan((i * 12) + 2), 12);
        }

        Assert.False(ReConfigChunk.TryRead(new SctpChunk(Chunk(130, 0, three)), out _));
        Assert.False(ReConfigChunk.TryReadOutgoingResetRequest(new SctpParameter([0, 13, 0, 17, .. new byte[13]]), out _));
        Assert.False(ReConfigChunk.TryReadResponse(new SctpParameter([0, 16, 0, 16, .. new byte[12]]), out _, out _));
    }

    [Fact]
    public void BadPacketsAreDroppedWithTypedReasonsAndTheAssociationKeepsWorking()
    {
        var (link, tag) = ConnectedWithTag(61);
        var b = link.B;
        var now = link.Now;
        var hb = HeartbeatChunkBytes();

        var bad = Build(5000, 5000, tag, hb);
        bad[20] ^= 0xFF;
        b.HandlePacket(bad, now);
        Assert.Equal(SctpDropReason.BadChecksum, b.Statistics.LastDropReason);

        b.HandlePacket(Build(5000, 5000, tag ^ 1, hb), now);
        Assert.Equal(SctpDropReason.WrongVerificationTag, b.Statistics.LastDropReason);

        b.HandlePacket(Build(5001, 5000, tag, hb), now);
        Assert.Equal(SctpDropReason.WrongPort, b.Statistics.LastDropReason);

        var init = new byte[64];
        var p = new SctpParameterBuilder(init.AsSpan(InitChunk.HeaderLength));
        var initLength = InitChunk.Write(init, false, 99, 100000, 10, 10, 1, p.UnpaddedLength);
        b.HandlePacket(Build(5000, 5000, 0, init[..initLength], hb), now);
        Assert.Equal(SctpDropReason.BadInit, b.Statistics.LastDropReason);
        b.HandlePacket(Build(5000, 5000, tag, init[..initLength]), now);
        Assert.Equal(SctpDropReason.BadInit, b.Statistics.LastDropReason);

        var zero = Build(5000, 5000, tag, hb, [0x04, 0, 0, 0]);
        b.HandlePacket(zero, now);
        Assert.Equal(SctpDropReason.BadChunkLength, b.Statistics.LastDropReason);

        var lyingSack = new byte[32];
        var n = SackChunk.Write(lyingSack, 1, 1, [], []);
        BinaryPrimitives.WriteUInt16BigEndian(lyingSack.AsSpan(14), 5);
        b.HandlePacket(Build(5000, 5000, tag, hb, lyingSack[..n]), now);
        Assert.Equal(SctpDropReason.MalformedChunk, b.Statistics.LastDropReason);

        var badCookie = Build(5000, 5000, tag, Chunk(10, 0, new byte[StateCookie.Length]));
        b.HandlePacket(badCookie, now);
        Assert.Equal(SctpDropReason.BadCookie, b.Statistics.LastDropReason);

        b.HandlePacket(new byte[3], now);
        Assert.Equal(SctpDropReason.TooShort, b.Statistics.LastDropReason);

        // None of it produced a reply, and the association still works.
        Assert.Empty(Replies(b));
        Assert.Equal(SctpAssociationState.Established, b.State);
        link.A.Send(0, 51, "still here"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => link.EventsB.Count(e => e.Kind == SctpEventKind.MessageReceived) == 2, 10_000));
        Assert.True(b.Statistics.PacketsDropped >= 9);
    }

    [Theory]
    [InlineData(0x3F, false, false)] // 00: stop, do not report
    [InlineData(0x7F, false, true)] // 01: stop, report
    [InlineData(0xBF, true, false)] // 10: skip, continue
    [InlineData(0xFF, true, true)] // 11: skip, continue, report
    public void UnrecognizedChunkTypesFollowTheHighBits(byte type, bool processesTheRest, bool reports)
    {
        var (link, tag) = ConnectedWithTag(62);
        var b = link.B;
        Replies(b);
        b.HandlePacket(Build(5000, 5000, tag, Chunk(type, 0, [1, 2, 3, 4, 5]), HeartbeatChunkBytes()), link.Now);
        var replies = Replies(b);
        Assert.Equal(processesTheRest, replies.Contains(SctpChunkType.HeartbeatAck));
        Assert.Equal(reports, replies.Contains(SctpChunkType.Error));
        Assert.Equal(SctpAssociationState.Established, b.State);
    }

    [Fact]
    public void UnrecognizedInitParametersAreReportedOrStopProcessing()
    {
        var listener = new SctpAssociation(new SctpAssociationOptions { Random = new Random(1) });
        var init = new byte[128];
        var p = new SctpParameterBuilder(init.AsSpan(InitChunk.HeaderLength));
        p.Add(0xC123, [9, 9]); // 11: skip and report
        p.Add(0x8123, [8]); // 10: skip silently
        p.Add(SctpParameterType.ForwardTsnSupported, default);
        var length = InitChunk.Write(init, false, 77, 100_000, 10, 10, 1000, p.UnpaddedLength);
        listener.HandlePacket(Build(5000, 5000, 0, init[..length]), 0);
        var buffer = new byte[1500];
        var n = listener.PollTransmit(buffer);
        Assert.True(n > 0);
        Assert.Equal(77u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)));
        var e = SctpPacket.EnumerateChunks(buffer.AsSpan(0, n));
        Assert.True(e.MoveNext());
        Assert.True(InitChunk.TryRead(e.Current, out var ack));
        Assert.True(ack.IsAck);
        var unrecognized = new List<ushort>();
        foreach (var param in new SctpParameterEnumerator(ack.Parameters))
        {
            if (param.Type == (ushort)SctpParameterType.UnrecognizedParameter)
            {
                unrecognized.Add(BinaryPrimitives.ReadUInt16BigEndian(param.Value));
            }
        }

        Assert.Equal([0xC123], unrecognized);
        Assert.Equal(SctpAssociationState.Closed, listener.State); // no state kept until COOKIE ECHO
    }

    [Fact]
    public void MalformedAndForgedPacketsNeverDisturbATransfer()
    {
        var link = SctpTransferTests.Connected(63);
        link.Loss = 0.02;
        var rng = new Random(63);
        var injected = 0;
        var pending = new List<(bool ToB, byte[] Packet)>();
        link.Filter = (toB, packet) =>
        {
            for (var k = 0; k < 3; k++)
            {
                pending.Add((toB, MakeMalformed(packet, rng)));
            }

            return true;
        };
        var data = SctpTransferTests.Pattern(2 * 1024 * 1024, 3);
        for (var offset = 0; offset < data.Length; offset += 50_000)
        {
            var size = Math.Min(50_000, data.Length - offset);
            link.A.Send(1, 53, data.AsSpan(offset, size), SctpSendOptions.Default, link.Now);
            link.B.Send(1, 53, data.AsSpan(offset, size), SctpSendOptions.Default, link.Now);
        }

        var gotA = new MemoryStream();
        var gotB = new MemoryStream();
        link.OnEvent = (isA, e) =>
        {
            if (e.Kind == SctpEventKind.MessageReceived)
            {
                (isA ? gotA : gotB).Write(e.Payload!);
            }
        };
        Assert.True(link.RunUntil(
            () =>
            {
                foreach (var (toB, packet) in pending)
                {
                    (toB ? link.B : link.A).HandlePacket(packet, link.Now);
                    injected++;
                }

                pending.Clear();
                return gotA.Length == data.Length && gotB.Length == data.Length;
            },
            600_000));
        Assert.True(injected > 5000, $"only {injected} injected");
        Assert.True(data.AsSpan().SequenceEqual(gotB.ToArray()));
        Assert.True(data.AsSpan().SequenceEqual(gotA.ToArray()));
        Assert.True(link.B.Statistics.PacketsDropped >= injected / 2 * 0.9);
        Assert.Equal(SctpAssociationState.Established, link.A.State);
    }

    /// <summary>
    /// A copy that a correct receiver must drop: bad checksum, wrong tag or port, or (with a valid
    /// checksum) a chunk length that lies, a zero-length chunk, a truncated chunk, SACK counts that lie.
    /// </summary>
    private static byte[] MakeMalformed(byte[] original, Random rng)
    {
        var p = (byte[])original.Clone();
        switch (rng.Next(7))
        {
            case 0:
                p[rng.Next(p.Length)] ^= (byte)(1 << rng.Next(8));
                return p; // checksum now wrong
            case 1:
                BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(4)) ^ (uint)rng.Next(1, int.MaxValue));
                break;
            case 2:
                BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)rng.Next(5001, 65536));
                break;
            case 3:
                BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(14), (ushort)(rng.Next(2) == 0 ? rng.Next(0, 4) : p.Length - 12 + rng.Next(1, 1000)));
                break;
            case 4:
                p = [.. p, 0x00, 0x00, 0x00, 0x00];
                break;
            case 5:
            {
                // Cut inside the first chunk (past its padding would leave a valid packet).
                var firstLength = BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(14));
                if (firstLength <= 5)
                {
                    goto case 4;
                }

                p = p[..(12 + rng.Next(1, firstLength - 1))];
                break;
            }

            default:
                if (p[12] == (byte)SctpChunkType.Sack)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(12 + 12), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(24)) + 1));
                }
                else
                {
                    goto case 3;
                }

                break;
        }

        SctpPacket.Seal(p);
        return p;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // with I-DATA and I-FORWARD-TSN on the wire (RFC 8260)
    public void RandomMutationsWithValidChecksumsNeverCrashOrHang(bool interleaving)
    {
        // Mutations that keep the checksum and tag valid are indistinguishable from a peer that says
        // odd things; the association must survive them (or end with a clean Aborted), never throw,
        // never hang, never emit a malformed packet.
        var fullStorms = 0;
        for (var seed = 0; seed < 8; seed++)
        {
            var link = SctpTransferTests.Connected(200 + seed, new SctpAssociationOptions { EnableInterleaving = interleaving }, new SctpAssociationOptions { EnableInterleaving = interleaving });
            Assert.Equal(interleaving, link.A.InterleavingNegotiated);
            var rng = new Random(seed);
            var injected = 0;
            var pending = new List<(bool ToB, byte[] Packet)>();
            link.Filter = (toB, packet) =>
            {
                if (injected + pending.Count < 1500)
                {
                    var p = (byte[])packet.Clone();
                    var flips = rng.Next(1, 4);
                    for (var i = 0; i < flips; i++)
                    {
                        p[rng.Next(12, p.Length)] = (byte)rng.Next(256);
                    }

                    if (rng.Next(4) == 0)
                    {
                        p = p[..rng.Next(12, p.Length + 1)];
                    }

                    SctpPacket.Seal(p);
                    pending.Add((toB, p));
                }

                return true;
            };
            for (var i = 0; i < 300; i++)
            {
                var options = (i % 3) switch { 0 => SctpSendOptions.Default, 1 => SctpSendOptions.Unordered, _ => new SctpSendOptions { MaxRetransmits = 1 } };
                link.A.Send((ushort)(i % 4), 53, SctpTransferTests.Pattern(1 + (i * 997 % 20_000), i), options, link.Now);
                link.B.Send((ushort)(i % 4), 53, SctpTransferTests.Pattern(1 + (i * 991 % 5_000), i), options, link.Now);
            }

            var check = new byte[1500];
            link.RunUntil(
                () =>
                {
                    foreach (var (toB, packet) in pending)
                    {
                        (toB ? link.B : link.A).HandlePacket(packet, link.Now);
                        injected++;
                    }

                    pending.Clear();
                    return (link.A.IsTerminated || link.A.TotalBufferedAmount == 0) && (link.B.IsTerminated || link.B.TotalBufferedAmount == 0) && injected >= 1500;
                },
                3_000_000);
            // With I-DATA a mutated chunk type or a fragment claiming FSN 0 is a protocol violation
            // (RFC 8260 §2.2.3): the storm may end early in a clean ABORT.
            var endedEarly = interleaving && (link.A.IsTerminated || link.B.IsTerminated);
            Assert.True(injected >= 1000 || endedEarly, $"seed {seed}: only {injected}");
            fullStorms += injected >= 1000 ? 1 : 0;

            // Both still answer: a final exchange completes, or the association ended cleanly.
            link.Filter = null;
            if (!link.A.IsTerminated && !link.B.IsTerminated)
            {
                link.A.Send(9, 53, "after the storm"u8, SctpSendOptions.Default, link.Now);
                // A mutated copy that arrived before its original took the original's TSN: that message can
                // never complete, and an ordered stream stalls behind it. Its later messages may fill B's
                // window; then B rightly refuses more (the peer corrupted its own data) and keeps answering
                // the zero-window probes. Anything else must deliver or end.
                var window = new SctpAssociationOptions().ReceiveWindow;
                var done = link.RunUntil(() => link.EventsB.Exists(e => e.Kind == SctpEventKind.MessageReceived && e.StreamId == 9) || link.A.IsTerminated || link.B.IsTerminated || link.B.ReceiveBufferedBytes >= window, 3_000_000);
                Assert.True(done, $"seed {seed}: neither delivered nor ended; A rwnd {link.A.PeerReceiveWindow} outstanding {link.A.OutstandingChunkCount} buffered {link.A.TotalBufferedAmount} {link.A.DescribeSendQueue()}; B holds {link.B.ReceiveBufferedBytes}: {link.B.DescribeReceiveBuffer()}");
            }

            foreach (var side in new[] { link.A, link.B })
            {
                Assert.True(side.State == SctpAssociationState.Established || side.IsTerminated, $"seed {seed}: {side.State}");
                var n = side.PollTransmit(check);
                Assert.True(n == 0 || SctpPacket.HasValidChecksum(check.AsSpan(0, n)));
            }

            if (link.A.IsTerminated)
            {
                Assert.True(link.Has(true, SctpEventKind.Aborted) || link.Has(true, SctpEventKind.Closed));
            }
        }

        Assert.True(fullStorms >= 4, $"only {fullStorms} of 8 associations took the whole storm");
    }

    [Fact]
    public void AListenerFedGarbageStillAcceptsARealPeer()
    {
        var rng = new Random(64);
        var listener = new SctpAssociation(new SctpAssociationOptions { Random = new Random(2) });
        var buffer = new byte[1500];
        var init = new byte[64];
        var p = new SctpParameterBuilder(init.AsSpan(InitChunk.HeaderLength));
        var initLength = InitChunk.Write(init, false, 1234, 100_000, 10, 10, 1, p.UnpaddedLength);
        var validInit = Build(5000, 5000, 0, init[..initLength]);
        for (var i = 0; i < 5000; i++)
        {
            byte[] packet;
            if (i % 2 == 0)
            {
                packet = new byte[rng.Next(0, 300)];
                rng.NextBytes(packet);
                if (packet.Length >= 12 && rng.Next(2) == 0)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(packet, 0x13881388);
                    SctpPacket.Seal(packet);
                }
            }
            else
            {
                packet = (byte[])validInit.Clone();
                packet[rng.Next(12, packet.Length)] = (byte)rng.Next(256);
                SctpPacket.Seal(packet);
            }

            listener.HandlePacket(packet, i);
            while (listener.PollTransmit(buffer) > 0)
            {
            }
        }

        Assert.Equal(SctpAssociationState.Closed, listener.State);
        Assert.False(listener.IsTerminated);

        // Now a real peer connects through a link that uses this listener as B.
        var peer = new SctpAssociation(new SctpAssociationOptions { Random = new Random(3) });
        peer.Connect(10_000);
        var connected = Exchange(peer, listener, 10_000);
        Assert.True(connected);
    }

    private static bool Exchange(SctpAssociation a, SctpAssociation b, long now)
    {
        var buffer = new byte[1500];
        for (var round = 0; round < 20; round++)
        {
            int n;
            while ((n = a.PollTransmit(buffer)) > 0)
            {
                b.HandlePacket(buffer.AsSpan(0, n), now);
            }

            while ((n = b.PollTransmit(buffer)) > 0)
            {
                a.HandlePacket(buffer.AsSpan(0, n), now);
            }
        }

        return a.State == SctpAssociationState.Established && b.State == SctpAssociationState.Established;
    }
}
