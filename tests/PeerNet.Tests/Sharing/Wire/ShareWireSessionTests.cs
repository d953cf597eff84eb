using PeerNet.Sharing;
using PeerNet.Sharing.Wire;
using static PeerNet.Tests.Sharing.Wire.WireHarness;

namespace PeerNet.Tests.Sharing.Wire;

public class ShareWireSessionTests
{
    private static readonly TestContent Small = TestContent.Create(1, 5, 10_000, 4_321);

    [Fact]
    public void InfoBlockTravelsInChunksAndBothSidesAnnounceTheirPieces()
    {
        var content = TestContent.Create(2, 20, 1_000, infoLength: 150_000);
        var pair = new Pair(Seeder(content), Leecher(content, withInfo: false), content);
        pair.Pump();
        Assert.Contains(pair.EventsB, e => e.Kind == ShareWireEventKind.HelloReceived);
        Assert.Equal(ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces, pair.B.RemoteFlags);
        Assert.Equal(-1, pair.A.RemotePieceCount);
        Assert.False(pair.B.RequestInfo() && pair.B.RequestInfo()); // once per session

        pair.Pump();
        var info = Assert.Single(pair.EventsB, e => e.Kind == ShareWireEventKind.InfoReceived);
        Assert.Equal(content.Info, info.Data);
        Assert.Contains(pair.EventsA, e => e.Kind == ShareWireEventKind.InfoRequested);
        var chunks = pair.SentByA.Where(m => Type(m) == ShareMessageType.Info).ToList();
        Assert.Equal(3, chunks.Count);
        Assert.All(chunks, c => Assert.True(c.Length <= 9 + 65_000));

        // The downloader learns the count: its (empty) bitfield tells the seeder, which answers with its own.
        pair.B.SetInfo(content.Info, content, new PieceBitfield(content.PieceCount));
        Assert.True(pair.B.RemotePieces!.IsComplete);
        pair.Pump();
        Assert.Equal(0, pair.A.RemotePieces!.Count);
        Assert.Single(pair.SentByB, m => Type(m) == ShareMessageType.Bitfield);
        Assert.Single(pair.SentByA, m => Type(m) == ShareMessageType.Bitfield);
        Assert.DoesNotContain(pair.EventsA.Concat(pair.EventsB), e => e.Kind is ShareWireEventKind.ProtocolError or ShareWireEventKind.Closed);
    }

    [Fact]
    public void RequestedPiecesArriveInBlocksAndVerify()
    {
        var content = TestContent.Create(3, 4, 80_000, 70_000);
        var pair = new Pair(Seeder(content), Leecher(content), content);
        pair.Pump();
        pair.B.SetInterested(true);
        pair.Pump();
        Assert.True(pair.A.PeerInterested);
        Assert.False(pair.B.Request(0, 0)); // still choked
        pair.A.Unchoke();
        pair.Pump();
        Assert.Contains(pair.EventsB, e => e.Kind == ShareWireEventKind.Unchoked);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(pair.B.Request(i, 0));
        }

        Assert.False(pair.B.Request(0, 0)); // already outstanding
        pair.Pump();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(content.Pieces[i], pair.ReceivedByB[i]);
        }

        Assert.Equal(3 * 3 + 3, pair.SentByA.Count(m => Type(m) == ShareMessageType.Piece)); // 80,000 = 3 blocks of 32 KiB; 70,000 = 3
        Assert.Equal(4, pair.SentByA.Count(m => Type(m) == ShareMessageType.Proof));
        Assert.Equal(0, pair.B.OutstandingRequests);
        Assert.Equal(0, pair.A.PendingUploads);
        Assert.DoesNotContain(pair.SentByB, m => Type(m) == ShareMessageType.Bitfield); // nothing to announce
        Assert.Equal(80_000 * 3 + 70_000, pair.B.PieceBytesReceived);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ACorruptPieceIsReportedAndTheSenderToldAndDropped(bool corruptBytes)
    {
        var content = Small;
        var pair = new Pair(Seeder(content), Leecher(content), content);
        if (corruptBytes)
        {
            pair.Provide = p => { var b = content.Pieces[p].ToArray(); b[17] ^= 1; return b; };
        }

        pair.Pump();
        pair.A.Unchoke();
        pair.Pump();
        if (!corruptBytes)
        {
            // Right bytes, wrong proof: the proof of another piece.
            pair.Provide = null;
            pair.B.Request(1, 0);
            pair.A.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 1)), 0);
            Assert.Contains(Events(pair.A), e => e.Kind == ShareWireEventKind.PieceNeeded); // the harness did not see it
            pair.A.ProvidePiece(1, content.Pieces[1], content.Proof(2));
            Transmit(pair.A).ForEach(m => pair.B.HandleMessage(m, 0)); // the first request is the duplicate
        }
        else
        {
            pair.B.Request(1, 0);
        }

        pair.Pump();
        if (corruptBytes)
        {
            Assert.Contains(pair.EventsB, e => e.Kind == ShareWireEventKind.PieceFailed && e.Piece == 1);
            var error = Assert.Single(pair.EventsA, e => e.Kind == ShareWireEventKind.ErrorReceived);
            Assert.Equal((ushort)ShareErrorCode.CorruptPiece, error.ErrorCode);
            Assert.True(pair.A.IsClosed);
        }
        else
        {
            Assert.Contains(Events(pair.B).Concat(pair.EventsB), e => e.Kind == ShareWireEventKind.PieceFailed && e.Piece == 1);
        }

        Assert.True(pair.B.IsClosed);
        Assert.Empty(pair.ReceivedByB);
    }

    public static TheoryData<string, ShareWireError, ShareErrorCode> Violations() => new()
    {
        { "have-before-hello", ShareWireError.OutOfOrder, ShareErrorCode.Protocol },
        { "second-hello", ShareWireError.OutOfOrder, ShareErrorCode.Protocol },
        { "second-bitfield", ShareWireError.OutOfOrder, ShareErrorCode.Protocol },
        { "bitfield-after-have", ShareWireError.OutOfOrder, ShareErrorCode.Protocol },
        { "bitfield-length", ShareWireError.BitfieldLengthMismatch, ShareErrorCode.Protocol },
        { "bitfield-spare-bits", ShareWireError.SpareBitsSet, ShareErrorCode.Protocol },
        { "have-out-of-range", ShareWireError.PieceOutOfRange, ShareErrorCode.Protocol },
        { "request-out-of-range", ShareWireError.PieceOutOfRange, ShareErrorCode.Protocol },
        { "proof-unrequested", ShareWireError.Unrequested, ShareErrorCode.Protocol },
        { "piece-unrequested", ShareWireError.Unrequested, ShareErrorCode.Protocol },
        { "reject-unrequested", ShareWireError.Unrequested, ShareErrorCode.Protocol },
        { "info-unrequested", ShareWireError.UnexpectedInfo, ShareErrorCode.Protocol },
        { "wrong-cid", ShareWireError.WrongContent, ShareErrorCode.WrongContent },
        { "bad-magic", ShareWireError.BadMagic, ShareErrorCode.WrongContent },
        { "bad-version", ShareWireError.UnsupportedVersion, ShareErrorCode.WrongContent },
        { "unknown-type", ShareWireError.UnknownType, ShareErrorCode.Protocol },
        { "truncated", ShareWireError.TooShort, ShareErrorCode.Protocol },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public void ViolationsSendErrorAndClose(string what, ShareWireError expected, ShareErrorCode code)
    {
        var content = Small;
        var s = Leecher(content);
        Transmit(s);
        var hello = Hello(content, ShareHelloFlags.HasInfo);
        var have = Msg(b => ShareMessageWriter.WriteHave(b, 1));
        var bitfield = Msg(b => ShareMessageWriter.WriteBitfield(b, [0x80]));
        byte[][] script = what switch
        {
            "have-before-hello" => [have],
            "second-hello" => [hello, hello],
            "second-bitfield" => [hello, bitfield, bitfield],
            "bitfield-after-have" => [hello, have, bitfield],
            "bitfield-length" => [hello, Msg(b => ShareMessageWriter.WriteBitfield(b, [0x80, 0]))],
            "bitfield-spare-bits" => [hello, Msg(b => ShareMessageWriter.WriteBitfield(b, [0x84]))],
            "have-out-of-range" => [hello, Msg(b => ShareMessageWriter.WriteHave(b, 5))],
            "request-out-of-range" => [hello, Msg(b => ShareMessageWriter.WriteRequest(b, 5))],
            "proof-unrequested" => [hello, Msg(b => ShareMessageWriter.WriteProof(b, 1, new byte[64]))],
            "piece-unrequested" => [hello, Msg(b => ShareMessageWriter.WritePiece(b, 1, 0, new byte[100]))],
            "reject-unrequested" => [hello, Msg(b => ShareMessageWriter.WriteReject(b, 1))],
            "info-unrequested" => [hello, Msg(b => ShareMessageWriter.WriteInfo(b, 200, 0, new byte[200]))],
            "wrong-cid" => [Hello(content, ShareHelloFlags.HasInfo, cid: new byte[32])],
            "bad-magic" => [[.. hello[..1], .. "PNSX"u8, .. hello[5..]]],
            "bad-version" => [[.. hello[..5], 2, .. hello[6..]]],
            "unknown-type" => [hello, [0x42, 1, 2]],
            "truncated" => [hello, have[..3]],
            _ => throw new ArgumentException(what),
        };
        foreach (var m in script)
        {
            s.HandleMessage(m, 0);
        }

        var events = Events(s);
        var violation = Assert.Single(events, e => e.Kind == ShareWireEventKind.ProtocolError);
        Assert.Equal(expected, violation.WireError);
        Assert.True(s.IsClosing);
        var sent = Transmit(s);
        var error = ShareMessage.Parse(Assert.Single(sent));
        Assert.Equal(ShareMessageType.Error, error.Type);
        Assert.Equal((ushort)code, error.ErrorCode);
        Assert.True(s.IsClosed);
        Assert.Contains(Events(s), e => e.Kind == ShareWireEventKind.Closed);

        // After closing, nothing more is handled or sent.
        s.HandleMessage(have, 0);
        Assert.Empty(Events(s));
        Assert.Empty(Transmit(s));
    }

    [Fact]
    public void InfoRequestWithoutInfoIsAnError()
    {
        var s = Leecher(Small, withInfo: false);
        s.HandleMessage(Hello(Small, ShareHelloFlags.None), 0);
        s.HandleMessage([(byte)ShareMessageType.InfoRequest], 0);
        Assert.Equal(ShareWireError.UnexpectedInfo, Assert.Single(Events(s), e => e.Kind == ShareWireEventKind.ProtocolError).WireError);
    }

    [Fact]
    public void InfoChunksMustComeInOrder()
    {
        var content = TestContent.Create(4, 3, 100, infoLength: 1_000);
        var s = Leecher(content, withInfo: false);
        s.HandleMessage(Hello(content, ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces), 0);
        Assert.True(s.RequestInfo());
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteInfo(b, 1_000, 0, content.Info.AsSpan(0, 400))), 0);
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteInfo(b, 1_000, 500, content.Info.AsSpan(500, 400))), 0);
        Assert.Equal(ShareWireError.BadRange, Assert.Single(Events(s), e => e.Kind == ShareWireEventKind.ProtocolError).WireError);
    }

    [Fact]
    public void BlockRulesAreEnforced()
    {
        ShareWireSession Requesting()
        {
            var s = Leecher(Small);
            s.HandleMessage(Hello(Small, ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces, maxRequests: 2), 0);
            s.HandleMessage([(byte)ShareMessageType.Unchoke], 0);
            Assert.True(s.Request(0, 0));
            Assert.True(s.Request(1, 0));
            Assert.False(s.Request(2, 0)); // the peer's maxRequests is 2
            Events(s);
            return s;
        }

        var proof = Msg(b => ShareMessageWriter.WriteProof(b, 0, Small.Proof(0)));
        byte[] Block(int offset, int length) => Msg(b => ShareMessageWriter.WritePiece(b, 0, offset, Small.Pieces[0].AsSpan(offset, length)));

        (byte[][] Script, ShareWireError Error)[] cases =
        [
            ([Block(0, 1000)], ShareWireError.Unrequested), // before the proof
            ([proof, Block(1000, 1000)], ShareWireError.Unrequested), // out of order
            ([proof, Block(0, 1000), Block(0, 1000)], ShareWireError.Unrequested), // repeated
            ([proof, Block(0, 9_000), Msg(b => ShareMessageWriter.WritePiece(b, 0, 9_000, new byte[1_001]))], ShareWireError.BadRange), // past the end
            ([proof, proof], ShareWireError.Unrequested),
        ];
        foreach (var (script, error) in cases)
        {
            var s = Requesting();
            foreach (var m in script)
            {
                s.HandleMessage(m, 0);
            }

            Assert.Equal(error, Assert.Single(Events(s), e => e.Kind == ShareWireEventKind.ProtocolError).WireError);
        }

        // The right way: proof, then blocks in order to exactly the sealed length.
        var ok = Requesting();
        ok.HandleMessage(proof, 0);
        ok.HandleMessage(Block(0, 6_000), 0);
        ok.HandleMessage(Block(6_000, 4_000), 0);
        var received = Assert.Single(Events(ok));
        Assert.Equal(ShareWireEventKind.PieceReceived, received.Kind);
        Assert.Equal(Small.Pieces[0], received.Span.ToArray());
        received.ReturnData();
    }

    [Fact]
    public void UploadEnforcesMaxRequestsAndRejectsWhatItCannotServe()
    {
        var s = Seeder(Small, new ShareWireSessionOptions { MaxRequests = 3 });
        s.HandleMessage(Hello(Small, ShareHelloFlags.HasInfo), 0);
        Transmit(s);
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 0)), 0);
        Assert.Equal(ShareMessageType.Reject, Type(Assert.Single(Transmit(s)))); // choked: reject, not an error

        s.Unchoke();
        Transmit(s);
        for (var i = 0; i < 3; i++)
        {
            s.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, i)), 0);
        }

        // Only ReadAhead (2) pieces are asked of the driver at a time.
        Assert.Equal([0, 1], Events(s).Where(e => e.Kind == ShareWireEventKind.PieceNeeded).Select(e => e.Piece));
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 3)), 0);
        Assert.Equal(ShareWireError.TooManyRequests, Assert.Single(Events(s), e => e.Kind == ShareWireEventKind.ProtocolError).WireError);

        var dup = Seeder(Small);
        dup.HandleMessage(Hello(Small, ShareHelloFlags.HasInfo), 0);
        dup.Unchoke();
        dup.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 2)), 0);
        dup.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 2)), 0);
        Assert.Equal(ShareWireError.TooManyRequests, Assert.Single(Events(dup), e => e.Kind == ShareWireEventKind.ProtocolError).WireError);

        // A piece we do not have is rejected; the driver may reject too.
        var partial = new ShareWireSession(Small.ContentId);
        var have = new PieceBitfield(Small.PieceCount);
        have.Set(1);
        partial.SetInfo(Small.Info, Small, have);
        partial.Start();
        partial.HandleMessage(Hello(Small, ShareHelloFlags.HasInfo), 0);
        partial.Unchoke();
        var sent = Transmit(partial);
        Assert.Equal(ShareMessageType.Bitfield, Type(sent[1]));
        Assert.Equal(0x40, sent[1][1]);
        partial.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 0)), 0);
        partial.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 1)), 0);
        Assert.True(partial.RejectRequest(Assert.Single(Events(partial), e => e.Kind == ShareWireEventKind.PieceNeeded).Piece));
        Assert.Equal([ShareMessageType.Reject, ShareMessageType.Reject], Transmit(partial).Select(Type));
        Assert.False(partial.IsClosing);
    }

    [Fact]
    public void CancelAndChokeStopAnUpload()
    {
        var s = Seeder(Small, new ShareWireSessionOptions { BlockLength = 1_000 });
        s.HandleMessage(Hello(Small, ShareHelloFlags.HasInfo), 0);
        s.Unchoke();
        Transmit(s);
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 0)), 0);
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteRequest(b, 1)), 0);
        foreach (var e in Events(s).Where(e => e.Kind == ShareWireEventKind.PieceNeeded))
        {
            s.ProvidePiece(e.Piece, Small.Pieces[e.Piece], Small.Proof(e.Piece));
        }

        var b = new byte[ShareWireLimits.MaxMessageLength];
        Assert.Equal(ShareMessageType.Proof, (ShareMessageType)b[..s.PollTransmit(b)][0]);
        Assert.Equal(ShareMessageType.Piece, (ShareMessageType)b[..s.PollTransmit(b)][0]);
        s.HandleMessage(Msg(m => ShareMessageWriter.WriteCancel(m, 0)), 0);
        s.HandleMessage(Msg(m => ShareMessageWriter.WriteCancel(m, 4)), 0); // crossed: ignored
        Assert.Equal(ShareWireEventKind.CancelReceived, Assert.Single(Events(s)).Kind);
        var rest = Transmit(s);
        Assert.Equal(ShareMessageType.Proof, Type(rest[0]));
        Assert.All(rest.Skip(1), m => Assert.Equal(1u, ShareMessage.Parse(m).Piece));
        Assert.Equal(11, rest.Count); // proof + 10 blocks of piece 1 only

        s.HandleMessage(Msg(m => ShareMessageWriter.WriteRequest(m, 2)), 0);
        s.ProvidePiece(2, Small.Pieces[2], Small.Proof(2));
        Assert.Equal(ShareMessageType.Proof, (ShareMessageType)b[..s.PollTransmit(b)][0]);
        s.Choke();
        Assert.Equal([ShareMessageType.Choke], Transmit(s).Select(Type));
        Assert.Equal(0, s.PendingUploads);
        Assert.False(s.ProvidePiece(2, Small.Pieces[2], Small.Proof(2)));
    }

    [Fact]
    public void ACancelledPieceIgnoresLateBlocksAndCanBeRequestedAgain()
    {
        var s = Leecher(Small);
        s.HandleMessage(Hello(Small, ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces), 0);
        s.HandleMessage([(byte)ShareMessageType.Unchoke], 0);
        Transmit(s);
        Events(s);
        byte[] Block(int offset, int length) => Msg(b => ShareMessageWriter.WritePiece(b, 0, offset, Small.Pieces[0].AsSpan(offset, length)));
        var proof = Msg(b => ShareMessageWriter.WriteProof(b, 0, Small.Proof(0)));

        Assert.True(s.Request(0, 0));
        s.HandleMessage(proof, 0);
        s.HandleMessage(Block(0, 3_000), 0);
        Assert.True(s.Cancel(0));
        Assert.Equal([ShareMessageType.Request, ShareMessageType.Cancel], Transmit(s).Select(Type));
        s.HandleMessage(Block(3_000, 3_000), 0); // already queued by the uploader: ignored
        Assert.True(s.Request(0, 0));
        s.HandleMessage(Block(6_000, 3_000), 0); // the old answer still: does not continue the new one
        s.HandleMessage(proof, 0);              // the new answer
        s.HandleMessage(Block(0, 3_000), 0);
        s.HandleMessage(Block(3_000, 3_000), 0);
        s.HandleMessage(Block(6_000, 4_000), 0);
        s.HandleMessage(Block(6_000, 4_000), 0); // a straggler after completion: ignored
        var events = Events(s);
        var received = Assert.Single(events);
        Assert.Equal(ShareWireEventKind.PieceReceived, received.Kind);
        Assert.Equal(Small.Pieces[0], received.Span.ToArray());
        received.ReturnData();
        Assert.Equal(1, s.CancelsSent);
    }

    [Fact]
    public void BeingChokedDiscardsOurRequests()
    {
        var s = Leecher(Small);
        s.HandleMessage(Hello(Small, ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces), 0);
        s.HandleMessage([(byte)ShareMessageType.Unchoke], 0);
        s.Request(0, 0);
        s.Request(3, 0);
        Events(s);
        s.HandleMessage([(byte)ShareMessageType.Choke], 0);
        Assert.Equal(ShareWireEventKind.Choked, Assert.Single(Events(s)).Kind);
        Assert.Equal(0, s.OutstandingRequests);
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteReject(b, 3)), 0); // crossed the choke: ignored
        Assert.Empty(Events(s));
        Assert.False(s.Request(1, 0));
    }

    [Fact]
    public void PeerErrorClosesTheSession()
    {
        var s = Leecher(Small);
        s.HandleMessage(Hello(Small, ShareHelloFlags.HasInfo), 0);
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteError(b, ShareErrorCode.ShuttingDown, "bye")), 0);
        var events = Events(s);
        var error = Assert.Single(events, e => e.Kind == ShareWireEventKind.ErrorReceived);
        Assert.Equal(((ushort)5, "bye"), (error.ErrorCode, error.Text));
        Assert.Equal(ShareWireEventKind.Closed, events[^1].Kind);
        Assert.True(s.IsClosed);
        Assert.False(s.HasTransmit);
    }

    [Fact]
    public void HavesBeforeWeKnowTheCountWaitForTheInfoBlock()
    {
        var s = Leecher(Small, withInfo: false);
        s.HandleMessage(Hello(Small, ShareHelloFlags.None), 0);
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteBitfield(b, [0x80])), 0);
        s.HandleMessage(Msg(b => ShareMessageWriter.WriteHave(b, 4)), 0);
        Assert.Null(s.RemotePieces);
        Assert.Equal([ShareWireEventKind.HelloReceived], Events(s).Select(e => e.Kind));
        s.SetInfo(Small.Info, Small, new PieceBitfield(Small.PieceCount));
        Assert.Equal([ShareWireEventKind.BitfieldReceived], Events(s).Select(e => e.Kind));
        Assert.Equal([true, false, false, false, true], Enumerable.Range(0, 5).Select(i => s.RemotePieces![i]));

        // Our hello had no count, so we announce ours (empty) now that we know it.
        Assert.Contains(Transmit(s), m => Type(m) == ShareMessageType.Bitfield && m.Length == 2);

        var bad = Leecher(Small, withInfo: false);
        bad.HandleMessage(Hello(Small, ShareHelloFlags.None), 0);
        bad.HandleMessage(Msg(b => ShareMessageWriter.WriteHave(b, 9)), 0);
        bad.SetInfo(Small.Info, Small, new PieceBitfield(Small.PieceCount));
        Assert.Equal(ShareWireError.PieceOutOfRange, Assert.Single(Events(bad), e => e.Kind == ShareWireEventKind.ProtocolError).WireError);
    }

    [Fact]
    public void RandomHostileConversationsNeverThrow()
    {
        var random = new Random(77);
        var content = TestContent.Create(5, 9, 3_000, 100);
        var valid = new List<byte[]>
        {
            Hello(content, ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces),
            Hello(content, ShareHelloFlags.None),
            Msg(b => ShareMessageWriter.WriteBitfield(b, [0xFF, 0x80])),
            Msg(b => ShareMessageWriter.WriteHave(b, 3)),
            new[] { (byte)ShareMessageType.Unchoke },
            new[] { (byte)ShareMessageType.Choke },
            new[] { (byte)ShareMessageType.Interested },
            new[] { (byte)ShareMessageType.InfoRequest },
            Msg(b => ShareMessageWriter.WriteRequest(b, 2)),
            Msg(b => ShareMessageWriter.WriteCancel(b, 2)),
            Msg(b => ShareMessageWriter.WriteReject(b, 1)),
            Msg(b => ShareMessageWriter.WriteProof(b, 1, content.Proof(1))),
            Msg(b => ShareMessageWriter.WritePiece(b, 1, 0, content.Pieces[1])),
            Msg(b => ShareMessageWriter.WriteInfo(b, content.Info.Length, 0, content.Info)),
            Msg(b => ShareMessageWriter.WriteError(b, ShareErrorCode.Overloaded, "busy")),
        };
        var closedByViolation = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var s = random.Next(3) switch
            {
                0 => Seeder(content),
                1 => Leecher(content),
                _ => Leecher(content, withInfo: false),
            };
            s.Unchoke();
            for (var k = random.Next(1, 12); k > 0; k--)
            {
                var m = valid[random.Next(valid.Count)];
                s.HandleMessage(random.Next(3) == 0 ? ShareMessageTests.Mutate(m, random) : m, k);
                foreach (var e in Events(s))
                {
                    if (e.Kind == ShareWireEventKind.PieceNeeded && random.Next(2) == 0)
                    {
                        s.ProvidePiece(e.Piece, content.Pieces[e.Piece], content.Proof(e.Piece));
                    }
                    else if (e.Kind == ShareWireEventKind.Unchoked)
                    {
                        s.Request(1, k);
                    }
                    else if (e.Kind == ShareWireEventKind.HelloReceived)
                    {
                        s.RequestInfo();
                    }

                    e.ReturnData();
                }

                Transmit(s);
            }

            if (s.IsClosed)
            {
                closedByViolation++;
            }
        }

        Assert.InRange(closedByViolation, 2_000, 19_900);
    }
}
