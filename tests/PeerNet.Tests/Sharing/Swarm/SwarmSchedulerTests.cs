using PeerNet.Sharing;
using PeerNet.Sharing.Swarm;
using PeerNet.Sharing.Wire;
using PeerNet.Tests.Sharing.Wire;
using static PeerNet.Tests.Sharing.Wire.WireHarness;

namespace PeerNet.Tests.Sharing.Swarm;

public class SwarmSchedulerTests
{
    private static readonly TestContent Content = TestContent.Create(40, 6, 5_000);

    private static SwarmScheduler SeedingSwarm()
    {
        var s = new SwarmScheduler(Content.ContentId, random: new Random(1));
        var have = new PieceBitfield(Content.PieceCount);
        have.SetAll();
        s.SetInfo(Content.Info, Content, have, 0);
        return s;
    }

    private static List<SwarmEvent> Events(SwarmScheduler s)
    {
        var list = new List<SwarmEvent>();
        while (s.TryPollEvent(out var e))
        {
            list.Add(e);
        }

        return list;
    }

    /// <summary>Moves messages between the scheduler's peer "p" and a lone session until quiet; answers PieceNeeded.</summary>
    private static List<SwarmEvent> Exchange(SwarmScheduler s, ShareWireSession peer, List<ShareWireEvent>? peerEvents = null)
    {
        var events = new List<SwarmEvent>();
        var b = new byte[ShareWireLimits.MaxMessageLength];
        var moved = true;
        while (moved)
        {
            moved = false;
            int n;
            while ((n = s.PollTransmit("p", b, 0)) > 0)
            {
                peer.HandleMessage(b.AsSpan(0, n), 0);
                moved = true;
            }

            while ((n = peer.PollTransmit(b)) > 0)
            {
                s.HandleMessage("p", b.AsSpan(0, n), 0);
                moved = true;
            }

            while (peer.TryPollEvent(out var pe))
            {
                if (pe.Kind == ShareWireEventKind.PieceNeeded)
                {
                    peer.ProvidePiece(pe.Piece, Content.Pieces[pe.Piece], Content.Proof(pe.Piece));
                    moved = true;
                }
                else if (peerEvents is not null)
                {
                    peerEvents.Add(pe);
                }
                else
                {
                    pe.ReturnData();
                }
            }

            foreach (var e in Events(s))
            {
                events.Add(e);
                if (e.Kind == SwarmEventKind.PieceNeeded)
                {
                    s.ProvidePiece("p", e.Piece, Content.Pieces[e.Piece], Content.Proof(e.Piece));
                    moved = true;
                }
            }
        }

        return events;
    }

    [Fact]
    public void ASeederUnchokesAnInterestedPeerAndServesIt()
    {
        var s = SeedingSwarm();
        s.AddPeer("p", 0);
        var peer = Leecher(Content);
        Exchange(s, peer);
        Assert.True(peer.AmChoked);
        peer.SetInterested(true);
        Exchange(s, peer);
        Assert.False(peer.AmChoked); // a free upload slot goes at once
        Assert.True(peer.Request(4, 0));
        var peerEvents = new List<ShareWireEvent>();
        var events = Exchange(s, peer, peerEvents);
        Assert.Contains(events, e => e.Kind == SwarmEventKind.PieceNeeded && e.Piece == 4 && e.PeerId == "p");
        var received = Assert.Single(peerEvents, e => e.Kind == ShareWireEventKind.PieceReceived);
        Assert.Equal(Content.Pieces[4], received.Span.ToArray());
        received.ReturnData();
    }

    [Fact]
    public void APeerWhoseHelloNeverComesIsDroppedAfterTheHelloTimeout()
    {
        var s = new SwarmScheduler(Content.ContentId, new SwarmOptions { HelloTimeoutMs = 5_000 }, new TestContent.InfoVerifier(Content), new Random(3));
        s.AddPeer("silent", 1_000);
        s.AddPeer("p", 2_000);
        var peer = Seeder(Content);
        var b = new byte[ShareWireLimits.MaxMessageLength];
        int n;
        while ((n = peer.PollTransmit(b)) > 0)
        {
            s.HandleMessage("p", b.AsSpan(0, n), 2_000); // p's hello (and the rest) arrives; silent's never does
        }

        Assert.Equal(6_000, s.PollTimeout());
        s.HandleTimeout(5_999);
        Assert.DoesNotContain(Events(s), e => e.Kind == SwarmEventKind.PeerClosed);
        s.HandleTimeout(6_000);
        var closed = Assert.Single(Events(s), e => e.Kind == SwarmEventKind.PeerClosed);
        Assert.Equal(("silent", SwarmPeerReason.NoHello), (closed.PeerId, closed.Reason));
        Assert.Equal(["p"], s.PeerIds);

        // A peer that did say hello is never dropped for it.
        s.HandleTimeout(60_000);
        Assert.DoesNotContain(Events(s), e => e.Kind == SwarmEventKind.PeerClosed);
        Assert.True(s.PollTimeout() is null or > 60_000);
    }

    [Fact]
    public void ADownloaderFetchesTheInfoBlockThenPiecesAndAnnouncesThem()
    {
        var s = new SwarmScheduler(Content.ContentId, infoVerifier: new TestContent.InfoVerifier(Content), random: new Random(2));
        s.AddPeer("p", 0);
        var peer = Seeder(Content);
        var events = Exchange(s, peer);
        Assert.Contains(events, e => e.Kind == SwarmEventKind.InfoVerified);
        Assert.True(s.HasInfo);
        Assert.True(peer.PeerInterested);
        peer.Unchoke();
        var verified = new List<int>();
        for (var round = 0; round < 20 && !s.IsComplete; round++)
        {
            foreach (var e in Exchange(s, peer))
            {
                if (e.Kind == SwarmEventKind.PieceVerified)
                {
                    verified.Add(e.Piece);
                    Assert.Equal(Content.Pieces[e.Piece], e.Span.ToArray());
                    e.ReturnData();
                    s.MarkPieceStored(e.Piece, 0);
                }
            }
        }

        Assert.True(s.IsComplete, $"verified {string.Join(",", verified)}; peer choked {peer.PeerChoked}, requests {s.GetSession("p")!.OutstandingRequests}, uploads {peer.PendingUploads}, remote {s.GetSession("p")!.RemotePieces?.Count}");
        Assert.Equal(Enumerable.Range(0, Content.PieceCount), verified.Order());
        Exchange(s, peer);
        Assert.True(peer.RemotePieces!.IsComplete); // haves arrived
        Assert.False(peer.PeerInterested); // and interest ended
    }

    [Fact]
    public void ClosingAPeerSendsTheErrorThenReportsItClosed()
    {
        var s = SeedingSwarm();
        s.AddPeer("p", 0);
        var peer = Leecher(Content);
        Exchange(s, peer);
        s.ClosePeer("p", ShareErrorCode.ShuttingDown, "bye", 0);
        Assert.True(s.HasTransmit("p"));
        var b = new byte[ShareWireLimits.MaxMessageLength];
        var n = s.PollTransmit("p", b, 0);
        var error = ShareMessage.Parse(b.AsSpan(0, n));
        Assert.Equal((ShareMessageType.Error, (ushort)ShareErrorCode.ShuttingDown), (error.Type, error.ErrorCode));
        var closed = Assert.Single(Events(s));
        Assert.Equal((SwarmEventKind.PeerClosed, "p", SwarmPeerReason.Closed), (closed.Kind, closed.PeerId, closed.Reason));
        Assert.Empty(s.PeerIds);
        Assert.Equal(0, s.PollTransmit("p", b, 0));
        s.HandleMessage("p", b.AsSpan(0, n), 0); // unknown peer now: ignored
    }

    [Fact]
    public void MisuseThrowsButPeerInputNeverDoes()
    {
        var s = SeedingSwarm();
        s.AddPeer("p", 0);
        Assert.Throws<InvalidOperationException>(() => s.AddPeer("p", 0));
        Assert.Throws<InvalidOperationException>(() => s.SetInfo(Content.Info, Content, null, 0));
        Assert.Throws<ArgumentException>(() => new SwarmScheduler(new byte[31]));
        Assert.Throws<InvalidOperationException>(() => new SwarmScheduler(Content.ContentId).MarkPieceStored(0, 0));

        var random = new Random(9);
        for (var i = 0; i < 2_000; i++)
        {
            var bytes = new byte[random.Next(0, 60)];
            random.NextBytes(bytes);
            s.HandleMessage("p", bytes, i);
            if (!s.PeerIds.Any())
            {
                Events(s);
                s.AddPeer("p", i);
            }
        }
    }
}
