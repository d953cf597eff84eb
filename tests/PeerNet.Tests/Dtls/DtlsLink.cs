using System.Diagnostics;
using PeerNet.Dtls;

namespace PeerNet.Tests.Dtls;

/// <summary>
/// Two <see cref="DtlsTransport"/>s joined by an in-memory link with a manual clock. The clock jumps
/// to the next timer when nothing is in flight; BouncyCastle's own retransmission timers run on the
/// real clock, so each jump waits for them (the transport does that inside HandleTimeout): keep the
/// timers short in tests. A filter may drop, duplicate or replace datagrams.
/// </summary>
internal sealed class DtlsLink : IDisposable
{
    public static readonly RtcCertificate ClientCertificate = RtcCertificate.Generate();
    public static readonly RtcCertificate ServerCertificate = RtcCertificate.Generate();

    private readonly byte[] _buffer = new byte[70000];

    public DtlsLink(DtlsTransportOptions? options = null, IReadOnlyList<DtlsFingerprint>? clientExpects = null, IReadOnlyList<DtlsFingerprint>? serverExpects = null,
        DtlsTransportOptions? serverOptions = null)
    {
        options ??= FastOptions();
        Client = new DtlsTransport(DtlsRole.Client, ClientCertificate, clientExpects ?? ServerCertificate.GetFingerprints(), options);
        Server = new DtlsTransport(DtlsRole.Server, ServerCertificate, serverExpects ?? ClientCertificate.GetFingerprints(), serverOptions ?? options);
    }

    public static DtlsTransportOptions FastOptions() => new() { InitialRetransmissionTimeout = 100, HandshakeTimeout = 5000 };

    public DtlsTransport Client { get; }
    public DtlsTransport Server { get; }
    public long Now { get; set; } = 1_000_000;
    public List<DtlsEvent> ClientEvents { get; } = [];
    public List<DtlsEvent> ServerEvents { get; } = [];

    /// <summary>Datagrams in transit: (fromClient, datagram) → the datagrams to deliver instead (empty drops it).</summary>
    public Func<bool, byte[], IEnumerable<byte[]>>? Filter { get; set; }

    /// <summary>Every datagram each side sent, in order.</summary>
    public List<byte[]> SentByClient { get; } = [];
    public List<byte[]> SentByServer { get; } = [];

    public void Start()
    {
        Server.Start(Now);
        Client.Start(Now);
    }

    /// <summary>Moves every waiting datagram across, both ways, until none is left; true if any moved.</summary>
    public bool Transfer()
    {
        bool any = false;
        bool moved;
        do
        {
            moved = Move(Client, Server, true) | Move(Server, Client, false);
            any |= moved;
        }
        while (moved);
        Collect();
        return any;
    }

    private bool Move(DtlsTransport from, DtlsTransport to, bool fromClient)
    {
        bool moved = false;
        int length;
        while ((length = from.PollTransmit(_buffer)) > 0)
        {
            moved = true;
            byte[] datagram = _buffer[..length];
            (fromClient ? SentByClient : SentByServer).Add(datagram);
            IEnumerable<byte[]> deliver = Filter is null ? [datagram] : Filter(fromClient, datagram);
            foreach (byte[] d in deliver)
                to.HandleDatagram(d, Now);
        }
        return moved;
    }

    public void Collect()
    {
        while (Client.TryPollEvent(out DtlsEvent e))
            ClientEvents.Add(e);
        while (Server.TryPollEvent(out DtlsEvent e))
            ServerEvents.Add(e);
    }

    /// <summary>
    /// Runs the link until <paramref name="done"/> holds, jumping the clock to the next timer when idle.
    /// False if it stalls, passes <paramref name="maxVirtualMillis"/>, or takes more than 8 s of real time.
    /// </summary>
    public bool RunUntil(Func<bool> done, long maxVirtualMillis = 30_000)
    {
        long start = Now;
        var real = Stopwatch.StartNew();
        while (!done())
        {
            if (real.ElapsedMilliseconds > 8000)
                return false;
            if (Transfer())
                continue;
            long? next = Min(Client.PollTimeout(), Server.PollTimeout());
            if (next is null)
                return done();
            Now = Math.Max(Now, next.Value);
            if (Now - start > maxVirtualMillis)
                return false;
            Client.HandleTimeout(Now);
            Server.HandleTimeout(Now);
            Collect();
        }
        return true;
    }

    public bool Connect() =>
        RunUntil(() => Client.State == DtlsTransportState.Connected && Server.State == DtlsTransportState.Connected
            || Client.State is DtlsTransportState.Failed or DtlsTransportState.Closed
            || Server.State is DtlsTransportState.Failed or DtlsTransportState.Closed);

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    public static byte[] Read(DtlsTransport transport)
    {
        byte[] buffer = new byte[DtlsTransport.MaxApplicationDataSize];
        int length = transport.ReadApplicationData(buffer);
        return length < 0 ? throw new InvalidOperationException("no application data") : buffer[..length];
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}
