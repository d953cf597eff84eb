using PeerNet.Sharing;
using PeerNet.Sharing.Wire;

namespace PeerNet.Tests.Sharing.Wire;

/// <summary>Helpers for driving sessions by hand in tests.</summary>
internal static class WireHarness
{
    public static byte[] Msg(Func<byte[], int> write)
    {
        var b = new byte[ShareWireLimits.MaxMessageLength];
        return b[..write(b)];
    }

    public static byte[] Hello(TestContent content, ShareHelloFlags flags, int maxRequests = 64, byte[]? cid = null) =>
        Msg(b => ShareMessageWriter.WriteHello(b, cid ?? content.ContentId, flags,
            (flags & ShareHelloFlags.HasInfo) != 0 ? (uint)content.PieceCount : ShareWireLimits.UnknownPieceCount, (ushort)maxRequests));

    public static List<byte[]> Transmit(ShareWireSession s)
    {
        var list = new List<byte[]>();
        var b = new byte[ShareWireLimits.MaxMessageLength];
        int n;
        while ((n = s.PollTransmit(b)) > 0)
        {
            list.Add(b[..n]);
        }

        return list;
    }

    public static List<ShareWireEvent> Events(ShareWireSession s)
    {
        var list = new List<ShareWireEvent>();
        while (s.TryPollEvent(out var e))
        {
            list.Add(e);
        }

        return list;
    }

    public static ShareMessageType Type(byte[] message) => (ShareMessageType)message[0];

    /// <summary>A seeder session with the whole item.</summary>
    public static ShareWireSession Seeder(TestContent content, ShareWireSessionOptions? options = null)
    {
        var s = new ShareWireSession(content.ContentId, options);
        var have = new PieceBitfield(content.PieceCount);
        have.SetAll();
        s.SetInfo(content.Info, content, have);
        s.Start();
        return s;
    }

    /// <summary>A downloader that knows the info block (or not) and has nothing.</summary>
    public static ShareWireSession Leecher(TestContent content, bool withInfo = true, ShareWireSessionOptions? options = null)
    {
        var s = new ShareWireSession(content.ContentId, options);
        if (withInfo)
        {
            s.SetInfo(content.Info, content, new PieceBitfield(content.PieceCount));
        }

        s.Start();
        return s;
    }

    /// <summary>Two sessions wired back to back; PieceNeeded is answered from the item (or <see cref="Provide"/>).</summary>
    internal sealed class Pair(ShareWireSession a, ShareWireSession b, TestContent content)
    {
        private readonly byte[] _buffer = new byte[ShareWireLimits.MaxMessageLength];

        public ShareWireSession A { get; } = a;

        public ShareWireSession B { get; } = b;

        public List<ShareWireEvent> EventsA { get; } = [];

        public List<ShareWireEvent> EventsB { get; } = [];

        public List<byte[]> SentByA { get; } = [];

        public List<byte[]> SentByB { get; } = [];

        public Dictionary<int, byte[]> ReceivedByA { get; } = [];

        public Dictionary<int, byte[]> ReceivedByB { get; } = [];

        public Func<int, byte[]>? Provide { get; set; }

        public long Now { get; set; }

        public void Pump(int limit = 1_000_000)
        {
            var moved = true;
            while (moved && limit-- > 0)
            {
                moved = Move(A, B, SentByA) | Move(B, A, SentByB);
                moved |= Drain(A, EventsA, ReceivedByA) | Drain(B, EventsB, ReceivedByB);
            }
        }

        private bool Move(ShareWireSession from, ShareWireSession to, List<byte[]> log)
        {
            var n = from.PollTransmit(_buffer);
            if (n == 0)
            {
                return false;
            }

            log.Add(_buffer[..n]);
            to.HandleMessage(_buffer.AsSpan(0, n), Now);
            return true;
        }

        private bool Drain(ShareWireSession s, List<ShareWireEvent> events, Dictionary<int, byte[]> received)
        {
            var any = false;
            while (s.TryPollEvent(out var e))
            {
                any = true;
                events.Add(e);
                if (e.Kind == ShareWireEventKind.PieceNeeded)
                {
                    var bytes = Provide?.Invoke(e.Piece) ?? content.Pieces[e.Piece];
                    s.ProvidePiece(e.Piece, bytes, content.Proof(e.Piece));
                }
                else if (e.Kind == ShareWireEventKind.PieceReceived)
                {
                    received[e.Piece] = e.Span.ToArray();
                    e.ReturnData();
                }
            }

            return any;
        }
    }
}
