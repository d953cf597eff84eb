using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using PeerNet.Dtls;
using PeerNet.Sctp;

namespace PeerNet.Bench.Throughput;

/// <summary>
/// <c>throughput-micro</c>: the data path of one 64 KiB message under BenchmarkDotNet's memory diagnoser,
/// between two endpoints wired back to back in memory (no sockets, no threads, no timers): the full path
/// (SCTP fragments → DTLS records → datagrams → DTLS → SCTP reassembly, SACKs back) as RtcDataTransport
/// pumps it, SCTP alone, and DTLS alone for one record. Allocated bytes per operation show what the hot
/// path allocates per packet (a 64 KiB message is ~56 packets; one allocation per message — the
/// delivered byte[] — is the design's allowance). DTLS protects records with its own AES-GCM record layer
/// (src/PeerNet/Dtls/README.md), so <see cref="SendReceivePath.DtlsRecord1200"/> should show no allocation
/// and the full path no more than SCTP alone.
/// </summary>
public static class ThroughputMicro
{
    public static int Run(string[] args)
    {
        // In-process: no generated project to build; short runs keep it to a minute or two.
        var config = ManualConfig.CreateMinimumViable()
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(10).WithId("InProcess"));
        var summary = BenchmarkRunner.Run<SendReceivePath>(config, args);
        return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : 0;
    }
}

/// <summary>The benchmarks; see <see cref="ThroughputMicro"/>.</summary>
[MemoryDiagnoser]
public class SendReceivePath
{
    private const int MessageSize = 64 * 1024;
    private const ushort Stream = 0;
    private const uint BinaryPpid = 53; // RFC 8831 §8: WebRTC Binary

    private readonly byte[] _message = new byte[MessageSize];
    private Endpoint _a = null!, _b = null!;
    private Endpoint _sctpA = null!, _sctpB = null!;
    private long _now = Environment.TickCount64;
    private byte[] _record = null!;

    /// <summary>Packets (DTLS datagrams, both ways) per operation of the last full-path run.</summary>
    public static long DatagramsPerMessage { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_message);
        var certA = RtcCertificate.Generate();
        var certB = RtcCertificate.Generate();
        _a = new Endpoint(new DtlsTransport(DtlsRole.Client, certA, certB.GetFingerprints()), new SctpAssociation());
        _b = new Endpoint(new DtlsTransport(DtlsRole.Server, certB, certA.GetFingerprints()), new SctpAssociation());
        _a.Dtls!.Start(_now);
        _b.Dtls!.Start(_now);
        for (var i = 0; i < 2000 && (_a.Dtls.State != DtlsTransportState.Connected || _b.Dtls.State != DtlsTransportState.Connected); i++)
        {
            Pump(_a, _b);
            Thread.Sleep(1);
            _now = Environment.TickCount64;
            if (_a.Dtls.PollTimeout() is { } ta && ta <= _now) _a.Dtls.HandleTimeout(_now);
            if (_b.Dtls.PollTimeout() is { } tb && tb <= _now) _b.Dtls.HandleTimeout(_now);
        }
        if (_a.Dtls.State != DtlsTransportState.Connected) throw new InvalidOperationException("DTLS did not connect");
        _a.Sctp.Connect(_now);
        Pump(_a, _b);
        if (_a.Sctp.State != SctpAssociationState.Established || _b.Sctp.State != SctpAssociationState.Established)
            throw new InvalidOperationException("SCTP did not connect");

        _sctpA = new Endpoint(null, new SctpAssociation());
        _sctpB = new Endpoint(null, new SctpAssociation());
        _sctpA.Sctp.Connect(_now);
        Pump(_sctpA, _sctpB);
        _record = new byte[1200];
        Random.Shared.NextBytes(_record);

        // Warm the congestion window up, as a bulk transfer would be past its first moments.
        for (var i = 0; i < 50; i++)
        {
            OneMessage(_a, _b);
            OneMessage(_sctpA, _sctpB);
        }
        var before = _a.Datagrams + _b.Datagrams;
        OneMessage(_a, _b);
        DatagramsPerMessage = _a.Datagrams + _b.Datagrams - before;
        Console.WriteLine($"// one 64 KiB message = {DatagramsPerMessage} DTLS datagrams (data + SACKs); cwnd {_a.Sctp.CongestionWindow}");
    }

    /// <summary>One 64 KiB message A → B through SCTP and DTLS (encrypt, datagram, decrypt), SACKs back.</summary>
    [Benchmark]
    public int DtlsAndSctp64KiB() => OneMessage(_a, _b);

    /// <summary>The same through SCTP alone (no DTLS): what the SCTP core allocates.</summary>
    [Benchmark]
    public int SctpOnly64KiB() => OneMessage(_sctpA, _sctpB);

    /// <summary>One 1200-byte record through DTLS alone: encrypt on A into its send queue, decrypt on B into its receive queue, read it out (0 B expected).</summary>
    [Benchmark]
    public int DtlsRecord1200() => _a.SendRecord(_record, _b, _now);

    private int OneMessage(Endpoint sender, Endpoint receiver)
    {
        receiver.Delivered = 0;
        sender.Sctp.Send(Stream, BinaryPpid, _message, SctpSendOptions.Default, _now);
        Pump(sender, receiver);
        // The last SACK may be a delayed one (RFC 9260 §6.2): let its timer run, then finish.
        for (var i = 0; i < 4 && (receiver.Delivered == 0 || sender.Sctp.TotalBufferedAmount > 0 || receiver.Sctp.PollTimeout() is { } t && t <= _now + 200); i++)
        {
            _now += 200;
            if (receiver.Sctp.PollTimeout() is { } r && r <= _now) receiver.Sctp.HandleTimeout(_now);
            if (sender.Sctp.PollTimeout() is { } s && s <= _now) sender.Sctp.HandleTimeout(_now);
            Pump(sender, receiver);
        }
        if (receiver.Delivered != MessageSize) throw new InvalidOperationException($"delivered {receiver.Delivered} of {MessageSize}");
        return receiver.Delivered;
    }

    private void Pump(Endpoint a, Endpoint b)
    {
        for (var round = 0; round < 100_000; round++)
        {
            var moved = a.Step(b, _now) | b.Step(a, _now);
            if (!moved) return;
        }
        throw new InvalidOperationException("the endpoints never went quiet");
    }

    /// <summary>One side: optional DTLS under an SCTP association, pumped like RtcDataTransport.Pump.</summary>
    private sealed class Endpoint(DtlsTransport? dtls, SctpAssociation sctp)
    {
        private readonly byte[] _tx = new byte[1500 + 512];
        private readonly byte[] _datagram = new byte[1500 + 512];
        private readonly byte[] _rx = new byte[DtlsTransport.MaxApplicationDataSize];

        public DtlsTransport? Dtls { get; } = dtls;
        public SctpAssociation Sctp { get; } = sctp;
        public int Delivered { get; set; }
        public long Datagrams { get; private set; }

        /// <summary>Moves what this side has to send into <paramref name="peer"/>, and takes in what it received.</summary>
        public bool Step(Endpoint peer, long now)
        {
            var moved = false;
            int length;
            if (Dtls is not null)
            {
                while (Dtls.TryPollEvent(out _)) moved = true;
                while ((length = Dtls.ReadApplicationData(_rx)) >= 0)
                {
                    moved = true;
                    if (length > 0) Sctp.HandlePacket(_rx.AsSpan(0, length), now);
                }
            }
            while (Sctp.TryPollEvent(out var e))
            {
                moved = true;
                if (e.Kind == SctpEventKind.MessageReceived) Delivered += e.Payload!.Length;
            }
            if (Dtls is null || Dtls.State == DtlsTransportState.Connected)
            {
                while ((length = Sctp.PollTransmit(_tx)) > 0)
                {
                    moved = true;
                    if (Dtls is null) peer.Sctp.HandlePacket(_tx.AsSpan(0, length), now);
                    else Dtls.Send(_tx.AsSpan(0, length), now);
                }
            }
            if (Dtls is not null)
            {
                while ((length = Dtls.PollTransmit(_datagram)) > 0)
                {
                    moved = true;
                    Datagrams++;
                    peer.Dtls!.HandleDatagram(_datagram.AsSpan(0, length), now);
                }
            }
            return moved;
        }

        /// <summary>One record through DTLS only: encrypt here, decrypt at <paramref name="peer"/>, read it out.</summary>
        public int SendRecord(byte[] record, Endpoint peer, long now)
        {
            Dtls!.Send(record, now);
            var length = Dtls.PollTransmit(_datagram);
            peer.Dtls!.HandleDatagram(_datagram.AsSpan(0, length), now);
            return peer.Dtls.ReadApplicationData(peer._rx);
        }
    }
}
