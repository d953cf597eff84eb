using System.Buffers.Binary;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>
/// Application data on a timer: every <see cref="Interval"/> ms each peer sends one numbered datagram over
/// its selected pair (when it has one), so tests can see whether data kept flowing through an event.
/// </summary>
internal sealed class DataPump : ISimActor
{
    private readonly VirtualInternet _net;
    private readonly (SimulatedIcePeer From, SimulatedIcePeer To, byte Tag)[] _flows;
    private long _next;

    public DataPump(VirtualInternet net, SimulatedIcePeer a, SimulatedIcePeer b, int interval = 20)
    {
        _net = net;
        _flows = [(a, b, 0xA), (b, a, 0xB)];
        Interval = interval;
        _next = net.Now;
        net.AddActor(this);
    }

    public int Interval { get; }

    public bool Running { get; set; } = true;

    /// <summary>(sender tag, sequence number) → send time, for datagrams that left.</summary>
    public Dictionary<(byte Tag, int Sequence), long> Sent { get; } = [];

    private int _sequence;

    public long? PollTimeout() => Running ? _next : null;

    public void HandleTimeout(long now)
    {
        _next = now + Interval;
        _sequence++;
        Span<byte> datagram = stackalloc byte[6];
        foreach (var (from, _, tag) in _flows)
        {
            datagram[0] = 23; // DTLS application_data (RFC 7983: 20–63 goes to DTLS)
            datagram[1] = tag;
            BinaryPrimitives.WriteInt32BigEndian(datagram[2..], _sequence);
            if (from.SendData(datagram))
            {
                Sent[(tag, _sequence)] = now;
            }
        }
    }

    /// <summary>The sequence numbers <paramref name="to"/> received from the pump (from the other peer).</summary>
    public static IEnumerable<(int Sequence, DataReceived Received)> ReceivedBy(SimulatedIcePeer to) =>
        to.Received.Where(r => r.Data.Length == 6 && r.Data[1] is 0xA or 0xB).Select(r => (BinaryPrimitives.ReadInt32BigEndian(r.Data.AsSpan(2)), r));

    /// <summary>Datagrams <paramref name="from"/> sent in [<paramref name="start"/>, <paramref name="end"/>) that <paramref name="to"/> never received.</summary>
    public IReadOnlyList<int> Missing(SimulatedIcePeer from, SimulatedIcePeer to, long start, long end)
    {
        var tag = _flows.First(f => f.From == from).Tag;
        var received = ReceivedBy(to).Where(r => r.Received.Data[1] == tag).Select(r => r.Sequence).ToHashSet();
        return [.. Sent.Where(s => s.Key.Tag == tag && s.Value >= start && s.Value < end && !received.Contains(s.Key.Sequence)).Select(s => s.Key.Sequence).Order()];
    }

    public long Now => _net.Now;
}
