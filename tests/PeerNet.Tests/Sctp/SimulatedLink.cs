using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

/// <summary>
/// Two associations joined by a simulated network with a manual clock: per-direction loss,
/// duplication, reordering (extra random delay) and delay, all from one seeded Random so a failure
/// replays exactly. Events are collected per side; <see cref="OnEvent"/> lets a test react.
/// </summary>
internal sealed class SimulatedLink
{
    private readonly PriorityQueue<(bool ToB, byte[] Packet), (long Time, long Seq)> _inFlight = new();
    private readonly byte[] _buffer = new byte[1500];
    private long _seq;

    public SimulatedLink(int seed, SctpAssociationOptions? a = null, SctpAssociationOptions? b = null)
    {
        Random = new Random(seed);
        a ??= new SctpAssociationOptions();
        b ??= new SctpAssociationOptions();
        a.Random ??= new Random(seed * 31 + 1);
        b.Random ??= new Random(seed * 31 + 2);
        A = new SctpAssociation(a);
        B = new SctpAssociation(b);
    }

    public SctpAssociation A { get; }

    public SctpAssociation B { get; }

    public Random Random { get; }

    public long Now { get; set; } = 1_000_000;

    public double Loss { get; set; }

    public double Duplication { get; set; }

    public double Reordering { get; set; }

    public int DelayMs { get; set; } = 10;

    /// <summary>Drops every packet in that direction (a peer that is gone).</summary>
    public bool CutAToB { get; set; }

    public bool CutBToA { get; set; }

    /// <summary>Called for each packet about to travel; return false to drop it.</summary>
    public Func<bool, byte[], bool>? Filter { get; set; }

    /// <summary>Extra delay for one packet (toB, packet) → ms, or null for the normal delay.</summary>
    public Func<bool, byte[], int?>? ExtraDelay { get; set; }

    /// <summary>Called with toB after each packet has been handed to its receiver.</summary>
    public Action<bool>? Delivered { get; set; }

    /// <summary>Called with (isA, event) for every event.</summary>
    public Action<bool, SctpEvent>? OnEvent { get; set; }

    public List<SctpEvent> EventsA { get; } = [];

    public List<SctpEvent> EventsB { get; } = [];

    public long PacketsAToB { get; private set; }

    public long PacketsBToA { get; private set; }

    public bool Has(bool a, SctpEventKind kind) => (a ? EventsA : EventsB).Exists(e => e.Kind == kind);

    /// <summary>Runs until <paramref name="done"/> holds or <paramref name="maxSimulatedMs"/> pass; returns whether it held.</summary>
    public bool RunUntil(Func<bool> done, long maxSimulatedMs = 600_000)
    {
        var deadline = Now + maxSimulatedMs;
        while (true)
        {
            Pump();
            if (done())
            {
                return true;
            }

            var next = NextTime();
            if (next is null || next > deadline)
            {
                Now = deadline;
                return done();
            }

            Now = Math.Max(Now, next.Value);
            Deliver();
            FireTimers();
        }
    }

    public void Run(long simulatedMs) => RunUntil(() => false, simulatedMs);

    private long? NextTime()
    {
        long? next = null;
        if (_inFlight.TryPeek(out _, out var p))
        {
            next = p.Time;
        }

        foreach (var t in new[] { A.PollTimeout(), B.PollTimeout() })
        {
            if (t is { } v && (next is null || v < next))
            {
                next = v;
            }
        }

        return next;
    }

    private void Pump()
    {
        var progress = true;
        while (progress)
        {
            progress = false;
            progress |= Transmit(A, toB: true);
            progress |= Transmit(B, toB: false);
            progress |= Drain(A, EventsA, true);
            progress |= Drain(B, EventsB, false);
            progress |= Deliver();
        }
    }

    private bool Transmit(SctpAssociation from, bool toB)
    {
        var any = false;
        int n;
        while ((n = from.PollTransmit(_buffer)) > 0)
        {
            any = true;
            var packet = _buffer.AsSpan(0, n).ToArray();
            if (toB)
            {
                PacketsAToB++;
            }
            else
            {
                PacketsBToA++;
            }

            if ((toB ? CutAToB : CutBToA) || (Filter is not null && !Filter(toB, packet)) || Random.NextDouble() < Loss)
            {
                continue;
            }

            Schedule(toB, packet);
            if (Random.NextDouble() < Duplication)
            {
                Schedule(toB, packet);
            }
        }

        return any;
    }

    private void Schedule(bool toB, byte[] packet)
    {
        var delay = DelayMs + (ExtraDelay?.Invoke(toB, packet) ?? 0);
        if (Random.NextDouble() < Reordering)
        {
            delay += Random.Next(1, 3 * Math.Max(1, DelayMs));
        }

        _inFlight.Enqueue((toB, packet), (Now + delay, _seq++));
    }

    private bool Deliver()
    {
        var any = false;
        while (_inFlight.TryPeek(out var item, out var when) && when.Time <= Now)
        {
            _inFlight.Dequeue();
            (item.ToB ? B : A).HandlePacket(item.Packet, Now);
            Delivered?.Invoke(item.ToB);
            any = true;

            // A driver answers each datagram before reading the next (SACK every second packet).
            Transmit(item.ToB ? B : A, toB: !item.ToB);
        }

        return any;
    }

    private void FireTimers()
    {
        if (A.PollTimeout() is { } ta && ta <= Now)
        {
            A.HandleTimeout(Now);
        }

        if (B.PollTimeout() is { } tb && tb <= Now)
        {
            B.HandleTimeout(Now);
        }
    }

    private bool Drain(SctpAssociation side, List<SctpEvent> sink, bool isA)
    {
        var any = false;
        while (side.TryPollEvent(out var e))
        {
            any = true;
            sink.Add(e);
            OnEvent?.Invoke(isA, e);
        }

        return any;
    }
}
