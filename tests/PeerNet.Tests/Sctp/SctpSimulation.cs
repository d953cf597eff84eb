using System.Buffers;
using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

/// <summary>How a simulated data channel sends: ordered or not, and its partial reliability.</summary>
internal enum SimReliability
{
    Reliable,
    MaxRetransmits0,
    MaxRetransmits3,
    Lifetime50,
}

/// <summary>A scenario for <see cref="SctpSimulation"/>: the network, the endpoints' settings and the workload shape.</summary>
internal sealed record SimulationScenario
{
    public required string Name { get; init; }

    public NetworkConditions Network { get; init; } = new();

    /// <summary>Conditions B→A; null = same as A→B.</summary>
    public NetworkConditions? ReverseNetwork { get; init; }

    public int ReceiveWindow { get; init; } = 1024 * 1024;

    public int Mtu { get; init; } = 1191;

    /// <summary>Messages each side sends.</summary>
    public int MessagesPerSide { get; init; } = 20;

    /// <summary>Chance per seed that one side also sends a 256 KiB message.</summary>
    public double LargeMessageChance { get; init; }

    /// <summary>Sends are spread over this many ms after the association is up (half at once).</summary>
    public int SendSpreadMs { get; init; } = 500;

    /// <summary>The receiving application polls events every this many ms (0 = at once).</summary>
    public int ReadIntervalMs { get; init; }

    /// <summary>Bytes the receiving application takes per poll (0 = everything).</summary>
    public int ReadBudgetBytes { get; init; }

    /// <summary>Virtual time within which everything must be delivered and both sides drained.</summary>
    public long DrainBoundMs { get; init; } = 600_000;

    /// <summary>Both sides offer I-DATA (RFC 8260), so messages travel interleaved.</summary>
    public bool Interleaving { get; init; }

    public override string ToString() => Interleaving ? Name + "+idata" : Name;
}

/// <summary>
/// Two <see cref="SctpAssociation"/>s over a pair of <see cref="VirtualPath"/>s with a virtual clock,
/// every random decision from one seed. The workload (channels of mixed reliability and ordering,
/// message sizes 0..256 KiB, sends spread in time) is generated from the seed too; every DATA chunk
/// leaving either side is inspected on the wire, and every delivery is checked against what was sent.
/// A failure names the scenario and seed so it replays exactly.
/// </summary>
internal sealed class SctpSimulation
{
    public const int LifetimeMs = 50;
    private const int EmptyMessagePpid = 57; // RFC 8831 §6.6: an empty message travels as one byte, PPID 56/57

    private readonly PriorityQueue<Arrival, (long Time, long Seq)> _arrivals = new();
    private readonly byte[] _transmitBuffer = new byte[65536];
    private readonly Random _random;
    private readonly VirtualPath _aToB;
    private readonly VirtualPath _bToA;
    private readonly List<SimMessage> _messages = [];
    private readonly List<SimMessage> _schedule = [];
    private readonly Dictionary<uint, int>[] _transmissions = [new(), new()];
    private readonly Dictionary<(bool ToB, ushort Stream), uint> _lastOrdered = [];
    private readonly List<string> _violations = [];
    private readonly Dictionary<(bool ToB, ushort Stream, bool Unordered, uint Mid), SimMessage> _messageByMid = [];
    private int _nextSend;
    private long _seq;
    private long _nextReadAt;
    private int _steps;

    public SctpSimulation(SimulationScenario scenario, int seed)
    {
        Scenario = scenario;
        Seed = seed;
        _random = new Random(seed);
        _aToB = new VirtualPath(scenario.Network);
        _bToA = new VirtualPath(scenario.ReverseNetwork ?? scenario.Network);
        A = new SctpAssociation(Options(seed * 2 + 1));
        B = new SctpAssociation(Options(seed * 2 + 2));

        SctpAssociationOptions Options(int s) => new()
        {
            Random = new Random(s),
            Mtu = scenario.Mtu,
            ReceiveWindow = scenario.ReceiveWindow,
            EnableInterleaving = scenario.Interleaving,
        };
    }

    public SimulationScenario Scenario { get; }

    public int Seed { get; }

    public SctpAssociation A { get; }

    public SctpAssociation B { get; }

    public long Now { get; private set; } = 1_000_000;

    public long ConnectedAt { get; private set; }

    public IReadOnlyList<SimMessage> Messages => _messages;

    public IReadOnlyList<string> Violations => _violations;

    /// <summary>Called after every exchange at one instant (tests sample state here).</summary>
    public Action? AfterStep { get; set; }

    /// <summary>While set, the receiving applications read nothing (their windows fill up).</summary>
    public bool ReadersPaused { get; set; }

    /// <summary>Optional packet trace (time, direction, chunk types) for replaying a failing seed.</summary>
    public Action<string>? Trace { get; set; }

    /// <summary>Bytes of user messages delivered to B.</summary>
    public long BytesDeliveredToB { get; private set; }

    public long PacketsSent { get; private set; }

    /// <summary>Handshake, then a random workload in both directions.</summary>
    public void Connect()
    {
        A.Connect(Now);
        if (!RunUntil(() => A.State == SctpAssociationState.Established && B.State == SctpAssociationState.Established, 120_000))
        {
            Fail("handshake did not complete");
        }

        if (A.InterleavingNegotiated != Scenario.Interleaving || B.InterleavingNegotiated != Scenario.Interleaving)
        {
            Fail($"interleaving negotiated A {A.InterleavingNegotiated} B {B.InterleavingNegotiated}, expected {Scenario.Interleaving}");
        }

        ConnectedAt = Now;
    }

    /// <summary>Generates each side's channels and messages from the seed.</summary>
    public void GenerateWorkload()
    {
        var bigSide = _random.NextDouble() < Scenario.LargeMessageChance ? _random.Next(2) : -1;
        for (var side = 0; side < 2; side++)
        {
            var channels = new List<(ushort Stream, bool Ordered, SimReliability Reliability)>();
            var count = _random.Next(2, 6);
            for (var c = 0; c < count; c++)
            {
                var reliability = c == 0 ? SimReliability.Reliable : (SimReliability)_random.Next(4);
                channels.Add(((ushort)_random.Next(0, 1024), c == 0 || _random.Next(2) == 0, reliability));
            }

            // Distinct stream ids per side.
            channels = channels.DistinctBy(c => c.Stream).ToList();
            for (var i = 0; i < Scenario.MessagesPerSide; i++)
            {
                var channel = channels[_random.Next(channels.Count)];
                var at = _random.Next(2) == 0 ? 0 : _random.Next(Scenario.SendSpreadMs + 1);
                Add(side == 0, channel, MessageSize(), at);
            }

            if (bigSide == side)
            {
                Add(side == 0, channels[_random.Next(channels.Count)], 262_144, _random.Next(Scenario.SendSpreadMs + 1));
            }
        }

        // Ids in send order, so ordered delivery means increasing ids per stream and direction.
        _schedule.Sort((x, y) => x.SendAt.CompareTo(y.SendAt));
        for (var i = 0; i < _schedule.Count; i++)
        {
            _schedule[i].Id = (uint)i + 1000;
        }

        _messages.AddRange(_schedule);
        _messages.Sort((x, y) => x.Id.CompareTo(y.Id));

        void Add(bool fromA, (ushort Stream, bool Ordered, SimReliability Reliability) channel, int size, int at) =>
            _schedule.Add(new SimMessage
            {
                FromA = fromA,
                Stream = channel.Stream,
                Ordered = channel.Ordered,
                Reliability = channel.Reliability,
                Size = size,
                SendAt = ConnectedAt + at,
            });
    }

    private int MessageSize()
    {
        var r = _random.NextDouble();
        return r switch
        {
            < 0.10 => 0,
            < 0.55 => _random.Next(1, 300),
            < 0.80 => _random.Next(300, 3000),
            < 0.95 => _random.Next(3000, 20_000),
            _ => _random.Next(20_000, 65_537),
        };
    }

    /// <summary>Sends one reliable ordered stream of <paramref name="total"/> bytes from A at once (throughput tests).</summary>
    public void AddBulk(int total, int messageSize)
    {
        for (var offset = 0; offset < total; offset += messageSize)
        {
            _schedule.Add(new SimMessage
            {
                Id = (uint)(_schedule.Count + 1000),
                FromA = true,
                Stream = 1,
                Ordered = true,
                Reliability = SimReliability.Reliable,
                Size = Math.Min(messageSize, total - offset),
                SendAt = Now,
            });
        }

        _messages.AddRange(_schedule);
    }

    /// <summary>True once every reliable message is delivered and both sides hold nothing.</summary>
    public bool Drained()
    {
        foreach (var m in _messages)
        {
            if (m.Reliability == SimReliability.Reliable && !m.Delivered)
            {
                return false;
            }
        }

        return _nextSend == _schedule.Count && IsIdle(A) && IsIdle(B);

        static bool IsIdle(SctpAssociation s) =>
            s.TotalBufferedAmount == 0 && s.OutstandingChunkCount == 0 && s.ReceiveBufferedBytes == 0;
    }

    /// <summary>Runs the workload to completion, then a graceful shutdown; throws with the seed on any violation.</summary>
    public void RunToCompletion()
    {
        if (!RunUntil(Drained, Scenario.DrainBoundMs))
        {
            var undelivered = _messages.Count(m => m.Reliability == SimReliability.Reliable && !m.Delivered);
            Fail($"not drained within {Scenario.DrainBoundMs} ms: {undelivered} reliable messages undelivered; " +
                 $"A buffered {A.TotalBufferedAmount} outstanding {A.OutstandingChunkCount} rwnd {A.PeerReceiveWindow} cwnd {A.CongestionWindow} recv {A.ReceiveBufferedBytes}; " +
                 $"B buffered {B.TotalBufferedAmount} outstanding {B.OutstandingChunkCount} rwnd {B.PeerReceiveWindow} cwnd {B.CongestionWindow} recv {B.ReceiveBufferedBytes}; A holds {A.DescribeReceiveBuffer()}; B holds {B.DescribeReceiveBuffer()}");
        }

        CheckEnd();
        A.Shutdown(Now);
        if (!RunUntil(() => A.IsTerminated && B.IsTerminated, Scenario.DrainBoundMs))
        {
            Fail($"shutdown did not complete: A {A.State}, B {B.State}");
        }

        if (_violations.Count > 0)
        {
            Fail(string.Join("; ", _violations.Take(5)));
        }
    }

    private void CheckEnd()
    {
        A.CheckInvariants();
        B.CheckInvariants();
        foreach (var m in _messages)
        {
            if (m.Reliability == SimReliability.Reliable && !m.Delivered)
            {
                _violations.Add($"reliable message {m.Id} not delivered");
            }
        }

        if (_violations.Count > 0)
        {
            Fail(string.Join("; ", _violations.Take(5)));
        }
    }

    public bool RunUntil(Func<bool> done, long maxMs)
    {
        var deadline = Now + maxMs;
        var sameTime = 0;
        while (true)
        {
            Pump();
            if (done())
            {
                return true;
            }

            var next = long.MaxValue;
            if (_arrivals.TryPeek(out _, out var head))
            {
                next = head.Time;
            }

            if (A.PollTimeout() is { } ta)
            {
                next = Math.Min(next, ta);
            }

            if (B.PollTimeout() is { } tb)
            {
                next = Math.Min(next, tb);
            }

            if (_nextSend < _schedule.Count)
            {
                next = Math.Min(next, _schedule[_nextSend].SendAt);
            }

            if (Scenario.ReadIntervalMs > 0)
            {
                next = Math.Min(next, _nextReadAt);
            }

            if (next == long.MaxValue || next > deadline)
            {
                Now = Math.Max(Now, deadline);
                return done();
            }

            if (next <= Now)
            {
                if (++sameTime > 100_000)
                {
                    Fail("livelock: time does not advance");
                }
            }
            else
            {
                sameTime = 0;
                Now = next;
            }

            if (A.PollTimeout() is { } a && a <= Now)
            {
                A.HandleTimeout(Now);
            }

            if (B.PollTimeout() is { } b && b <= Now)
            {
                B.HandleTimeout(Now);
            }
        }
    }

    private void Pump()
    {
        var progress = true;
        var rounds = 0;
        while (progress)
        {
            progress = Transmit(A, toB: true);
            progress |= Transmit(B, toB: false);
            progress |= Deliver();
            progress |= RunApplication();
            if (++rounds > 1_000_000)
            {
                Fail("livelock: endless exchange at one instant");
            }
        }

        AfterStep?.Invoke();
        if ((++_steps & 63) == 0)
        {
            A.CheckInvariants();
            B.CheckInvariants();
        }
    }

    private bool Transmit(SctpAssociation from, bool toB)
    {
        var any = false;
        int n;
        var limit = Scenario.Mtu;
        while ((n = from.PollTransmit(_transmitBuffer)) > 0)
        {
            any = true;
            PacketsSent++;
            if (n > limit)
            {
                _violations.Add($"packet of {n} bytes exceeds the MTU {limit}");
            }

            Inspect(_transmitBuffer.AsSpan(0, n), toB);
            var copies = (toB ? _aToB : _bToA).Send(Now, n, _random, out var first, out var second);
            if (Trace is not null)
            {
                Trace($"{Now - ConnectedAt,8} {(toB ? "A>B" : "B>A")} {Describe(_transmitBuffer.AsSpan(0, n))} {(copies == 0 ? "LOST" : $"arrives +{first - Now}")}");
            }
            for (var c = 0; c < copies; c++)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(n);
                _transmitBuffer.AsSpan(0, n).CopyTo(buffer);
                _arrivals.Enqueue(new Arrival(toB, buffer, n), (c == 0 ? first : second, _seq++));
            }
        }

        return any;
    }

    /// <summary>Checks each DATA chunk as it leaves: partial-reliability limits (RFC 3758, W3C maxRetransmits / maxPacketLifeTime).</summary>
    private void Inspect(ReadOnlySpan<byte> packet, bool toB)
    {
        var counts = _transmissions[toB ? 0 : 1];
        foreach (var chunk in SctpPacket.EnumerateChunks(packet))
        {
            SimMessage? message;
            uint tsn;
            if (chunk.Type == SctpChunkType.Data && DataChunk.TryRead(chunk, out var data))
            {
                if (Scenario.Interleaving)
                {
                    _violations.Add("DATA chunk although I-DATA was negotiated");
                }

                tsn = data.Tsn;
                message = Find(data.PayloadProtocolIdentifier);
            }
            else if (chunk.Type == SctpChunkType.IData && IDataChunk.TryRead(chunk, out var idata))
            {
                if (!Scenario.Interleaving)
                {
                    _violations.Add("I-DATA chunk although I-DATA was not negotiated");
                }

                // Only the first fragment carries the PPID (our message id); the others are found by MID.
                tsn = idata.Tsn;
                var key = (toB, idata.StreamId, idata.Unordered, idata.MessageIdentifier);
                if (idata.Beginning)
                {
                    message = Find(idata.PayloadProtocolIdentifier);
                    if (message is not null)
                    {
                        _messageByMid[key] = message;
                    }
                }
                else if (!_messageByMid.TryGetValue(key, out message))
                {
                    _violations.Add($"I-DATA fragment {idata.FragmentSequenceNumber} of stream {idata.StreamId} MID {idata.MessageIdentifier} sent before its first fragment");
                    continue;
                }
            }
            else
            {
                continue;
            }

            if (message is null || message.FromA != toB)
            {
                _violations.Add($"DATA for an unknown message (TSN {tsn})");
                continue;
            }

            var id = message.Id;
            counts.TryGetValue(tsn, out var sent);
            counts[tsn] = ++sent;
            message.Transmissions++;
            switch (message.Reliability)
            {
                case SimReliability.MaxRetransmits0 when sent > 1:
                case SimReliability.MaxRetransmits3 when sent > 4:
                    _violations.Add($"message {id} ({message.Reliability}) TSN {tsn} sent {sent} times");
                    break;
                case SimReliability.Lifetime50 when Now >= message.SendAt + LifetimeMs:
                    _violations.Add($"message {id} sent {Now - message.SendAt} ms after Send, lifetime {LifetimeMs} ms");
                    break;
            }
        }
    }

    private bool Deliver()
    {
        var any = false;
        while (_arrivals.TryPeek(out var item, out var when) && when.Time <= Now)
        {
            _arrivals.Dequeue();
            var to = item.ToB ? B : A;
            to.HandlePacket(item.Buffer.AsSpan(0, item.Length), Now);
            ArrayPool<byte>.Shared.Return(item.Buffer);
            any = true;

            // A driver answers each datagram before reading the next one.
            Transmit(to, toB: !item.ToB);
        }

        return any;
    }

    private bool RunApplication()
    {
        var any = false;
        while (_nextSend < _schedule.Count && _schedule[_nextSend].SendAt <= Now)
        {
            var m = _schedule[_nextSend++];
            var from = m.FromA ? A : B;
            if (from.IsTerminated)
            {
                continue;
            }

            var options = m.Reliability switch
            {
                SimReliability.MaxRetransmits0 => new SctpSendOptions { Ordered = m.Ordered, MaxRetransmits = 0 },
                SimReliability.MaxRetransmits3 => new SctpSendOptions { Ordered = m.Ordered, MaxRetransmits = 3 },
                SimReliability.Lifetime50 => new SctpSendOptions { Ordered = m.Ordered, MaxLifetimeMs = LifetimeMs },
                _ => m.Ordered ? SctpSendOptions.Default : SctpSendOptions.Unordered,
            };
            var payload = ArrayPool<byte>.Shared.Rent(Math.Max(1, m.Size));
            var length = Fill(payload, m);
            from.Send(m.Stream, m.Id, payload.AsSpan(0, length), options, Now);
            ArrayPool<byte>.Shared.Return(payload);
            any = true;
        }

        if (ReadersPaused)
        {
            return any;
        }

        if (Scenario.ReadIntervalMs == 0)
        {
            any |= Read(A, int.MaxValue);
            any |= Read(B, int.MaxValue);
        }
        else if (Now >= _nextReadAt)
        {
            _nextReadAt = Now + Scenario.ReadIntervalMs;
            var budget = Scenario.ReadBudgetBytes > 0 ? Scenario.ReadBudgetBytes : int.MaxValue;
            any |= Read(A, budget);
            any |= Read(B, budget);
        }

        return any;
    }

    private bool Read(SctpAssociation side, int budget)
    {
        var any = false;
        var isB = side == B;
        while (budget > 0 && side.TryPollEvent(out var e))
        {
            any = true;
            switch (e.Kind)
            {
                case SctpEventKind.MessageReceived:
                    budget -= e.Payload!.Length;
                    OnMessage(isB, e);
                    break;
                case SctpEventKind.Aborted:
                    Fail($"{(isB ? "B" : "A")} aborted: {e.Reason}");
                    break;
            }
        }

        return any;
    }

    private void OnMessage(bool toB, in SctpEvent e)
    {
        var id = e.PayloadProtocolIdentifier;
        var m = Find(id);
        if (m is null || m.FromA != toB)
        {
            _violations.Add($"delivered unknown message PPID {id}");
            return;
        }

        if (m.Delivered)
        {
            _violations.Add($"message {id} delivered twice");
            return;
        }

        m.Delivered = true;
        if (toB)
        {
            BytesDeliveredToB += e.Payload!.Length;
        }

        if (e.StreamId != m.Stream || e.Unordered == m.Ordered)
        {
            _violations.Add($"message {id} on stream {e.StreamId} unordered={e.Unordered}, sent on {m.Stream} ordered={m.Ordered}");
        }

        var expected = ArrayPool<byte>.Shared.Rent(Math.Max(1, m.Size));
        var length = Fill(expected, m);
        if (!expected.AsSpan(0, length).SequenceEqual(e.Payload))
        {
            _violations.Add($"message {id} ({m.Size} bytes) corrupted: got {e.Payload!.Length} bytes");
        }

        ArrayPool<byte>.Shared.Return(expected);
        if (m.Ordered)
        {
            var key = (toB, m.Stream);
            if (_lastOrdered.TryGetValue(key, out var last) && last > id)
            {
                _violations.Add($"ordered stream {m.Stream}: message {id} after {last}");
            }

            _lastOrdered[key] = id;
        }
    }

    private static string Describe(ReadOnlySpan<byte> packet)
    {
        var text = new System.Text.StringBuilder();
        foreach (var chunk in SctpPacket.EnumerateChunks(packet))
        {
            if (chunk.Type == SctpChunkType.Data && DataChunk.TryRead(chunk, out var d))
            {
                text.Append($"DATA({d.Tsn % 100000} s{d.StreamId} f{d.Flags}) ");
            }
            else if (chunk.Type == SctpChunkType.IData && IDataChunk.TryRead(chunk, out var i))
            {
                text.Append($"I-DATA({i.Tsn % 100000} s{i.StreamId} mid {i.MessageIdentifier} fsn {i.FragmentSequenceNumber} f{i.Flags}) ");
            }
            else if (chunk.Type == SctpChunkType.Sack && SackChunk.TryRead(chunk, out var s))
            {
                text.Append($"SACK({s.CumulativeTsnAck % 100000} gaps {s.GapAckBlockCount} w {s.AdvertisedReceiverWindowCredit}) ");
            }
            else
            {
                text.Append(chunk.Type).Append(' ');
            }
        }

        return text.ToString();
    }

    private SimMessage? Find(uint id)
    {
        var index = (int)(id - 1000);
        return index >= 0 && index < _messages.Count ? _messages[index] : null;
    }

    /// <summary>The message's bytes, a function of its id; size 0 is the one-byte empty message of RFC 8831.</summary>
    private static int Fill(byte[] buffer, SimMessage m)
    {
        if (m.Size == 0)
        {
            buffer[0] = EmptyMessagePpid;
            return 1;
        }

        var x = (m.Id * 0x9E3779B97F4A7C15UL) | 1;
        var span = buffer.AsSpan(0, m.Size);
        var i = 0;
        for (; i + 8 <= span.Length; i += 8)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(span[i..], x);
        }

        for (; i < span.Length; i++)
        {
            span[i] = (byte)(x >> (i & 7));
        }

        return m.Size;
    }

    private void Fail(string what) =>
        throw new SimulationFailure($"[{Scenario}, seed {Seed}, t+{Now - ConnectedAt} ms] {what}");

    private readonly record struct Arrival(bool ToB, byte[] Buffer, int Length);
}

/// <summary>One message of the workload and what happened to it.</summary>
internal sealed class SimMessage
{
    public uint Id;
    public bool FromA;
    public ushort Stream;
    public bool Ordered;
    public SimReliability Reliability;
    public int Size;
    public long SendAt;
    public bool Delivered;
    public int Transmissions;
}

internal sealed class SimulationFailure(string message) : Exception(message);
