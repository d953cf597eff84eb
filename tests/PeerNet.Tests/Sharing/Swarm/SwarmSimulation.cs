using PeerNet.Sharing;
using PeerNet.Sharing.Swarm;
using PeerNet.Sharing.Wire;
using PeerNet.Tests.Sharing.Wire;

namespace PeerNet.Tests.Sharing.Swarm;

/// <summary>How a simulated node answers requests.</summary>
internal enum NodeBehaviour
{
    Honest,

    /// <summary>Serves pieces with a flipped byte (valid proof, bad bytes).</summary>
    Corrupt,

    /// <summary>Serves <see cref="SimNode.ServeBeforeStall"/> pieces, then never answers PieceNeeded.</summary>
    Stall,
}

/// <summary>
/// A virtual network of swarm nodes: each runs a real <see cref="SwarmScheduler"/> (and its real
/// sessions) over reliable in-order links with per-link rate and latency and an optional per-node
/// upload rate, on a virtual clock (ms). The event queue is ordered by (time, sequence), and every
/// random choice comes from the seed, so a failing run replays exactly.
/// </summary>
internal sealed class SwarmSimulation
{
    private readonly PriorityQueue<Action, (double Time, long Seq)> _queue = new();
    private readonly byte[] _buffer = new byte[ShareWireLimits.MaxMessageLength];
    private long _seq;

    public SwarmSimulation(TestContent content, int seed)
    {
        Content = content;
        Seed = seed;
    }

    public TestContent Content { get; }

    public int Seed { get; }

    public double Now { get; private set; }

    public long Steps { get; private set; }

    public Dictionary<string, SimNode> Nodes { get; } = [];

    /// <summary>Called for each event a node's scheduler reports, before the node handles it.</summary>
    public Action<SimNode, SwarmEvent>? OnEvent { get; set; }

    public SimNode AddNode(string id, bool seeder, SwarmOptions? options = null, double uploadBytesPerMs = 0, NodeBehaviour behaviour = NodeBehaviour.Honest, byte[]? info = null)
    {
        var node = new SimNode(this, id, new SwarmScheduler(Content.ContentId, options, new TestContent.InfoVerifier(Content), new Random((Seed * 1_000_003) + StableHash(id))))
        {
            UploadBytesPerMs = uploadBytesPerMs,
            Behaviour = behaviour,
        };
        if (seeder)
        {
            var have = new PieceBitfield(Content.PieceCount);
            have.SetAll();
            for (var i = 0; i < Content.PieceCount; i++)
            {
                node.Data[i] = Content.Pieces[i];
            }

            node.Scheduler.SetInfo(info ?? Content.Info, Content, have, (long)Now);
        }

        Nodes.Add(id, node);
        return node;
    }

    /// <summary>Opens a channel between two nodes (each direction: <paramref name="bytesPerMs"/>, 0 = unlimited; one-way latency).</summary>
    public void Connect(string a, string b, double bytesPerMs, double latencyMs, double at = -1)
    {
        if (at > Now)
        {
            Schedule(at, () => Connect(a, b, bytesPerMs, latencyMs));
            return;
        }

        var na = Nodes[a];
        var nb = Nodes[b];
        if (na.Gone || nb.Gone)
        {
            return;
        }

        na.Links[b] = new SimLink(na, nb, bytesPerMs, latencyMs);
        nb.Links[a] = new SimLink(nb, na, bytesPerMs, latencyMs);
        na.Scheduler.AddPeer(b, (long)Now);
        nb.Scheduler.AddPeer(a, (long)Now);
        na.Step();
        nb.Step();
    }

    /// <summary>The node leaves: its channels close under its peers after one latency; what it had in flight is lost.</summary>
    public void RemoveNode(string id)
    {
        var node = Nodes[id];
        node.Gone = true;
        foreach (var link in node.Links.Values)
        {
            var other = link.To;
            Schedule(Now + link.LatencyMs, () =>
            {
                other.Links.Remove(id);
                other.Scheduler.RemovePeer(id, (long)Now);
                other.Step();
            });
        }

        node.Links.Clear();
    }

    /// <summary>Runs until <paramref name="done"/>, the queue empties, or a bound is hit; true when done.</summary>
    public bool Run(Func<bool> done, double maxTimeMs, long maxSteps = 5_000_000)
    {
        while (!done())
        {
            if (!_queue.TryDequeue(out var action, out var key) || key.Time > maxTimeMs || Steps >= maxSteps)
            {
                return false;
            }

            Now = Math.Max(Now, key.Time);
            Steps++;
            action();
        }

        return true;
    }

    /// <summary>FNV-1a of the id: string.GetHashCode differs per process, which would make runs unrepeatable.</summary>
    private static int StableHash(string id)
    {
        var h = 2166136261u;
        foreach (var c in id)
        {
            h = (h ^ c) * 16777619u;
        }

        return (int)(h & 0x7FFF_FFFF);
    }

    public void Schedule(double time, Action action) => _queue.Enqueue(action, (time, _seq++));

    internal byte[] Buffer => _buffer;
}

/// <summary>One direction of a channel: serialised at its rate (and the sender's upload rate), delivered in order after its latency.</summary>
internal sealed class SimLink(SimNode from, SimNode to, double bytesPerMs, double latencyMs)
{
    public SimNode From { get; } = from;

    public SimNode To { get; } = to;

    public double BytesPerMs { get; } = bytesPerMs;

    public double LatencyMs { get; } = latencyMs;

    public double BusyUntil { get; set; }

    public double LastArrival { get; set; }

    public bool WakeScheduled { get; set; }

    public bool Closed { get; set; }

    public long BytesSent { get; set; }
}

internal sealed class SimNode(SwarmSimulation sim, string id, SwarmScheduler scheduler)
{
    private double _timerAt = double.NaN;

    public string Id { get; } = id;

    public SwarmScheduler Scheduler { get; } = scheduler;

    public Dictionary<string, SimLink> Links { get; } = [];

    public byte[]?[] Data { get; } = new byte[sim.Content.PieceCount][];

    public int[] StoreCount { get; } = new int[sim.Content.PieceCount];

    public List<int> StoreOrder { get; } = [];

    public List<SwarmEvent> Reports { get; } = [];

    public List<SwarmEvent> Closes { get; } = [];

    public double UploadBytesPerMs { get; set; }

    public double UploadBusyUntil { get; set; }

    public NodeBehaviour Behaviour { get; set; }

    public int ServeBeforeStall { get; set; }

    public int Served { get; private set; }

    public double? CompletedAt { get; private set; }

    public bool Gone { get; set; }

    public long PieceBytesUploaded { get; set; }

    public Dictionary<string, long> UploadedTo { get; } = [];

    public int PiecesStored => StoreOrder.Count;

    /// <summary>Handles everything the scheduler has to say and sends what the links can take, until nothing moves.</summary>
    public void Step()
    {
        if (Gone)
        {
            return;
        }

        var now = (long)sim.Now;
        bool progress;
        do
        {
            progress = false;
            while (Scheduler.TryPollEvent(out var e))
            {
                progress = true;
                sim.OnEvent?.Invoke(this, e);
                Handle(e, now);
            }

            foreach (var link in Links.Values.ToArray())
            {
                progress |= Pump(link, now);
            }
        }
        while (progress);

        ArmTimer();
    }

    private void Handle(SwarmEvent e, long now)
    {
        switch (e.Kind)
        {
            case SwarmEventKind.PieceNeeded:
                var data = Data[e.Piece] ?? throw new InvalidOperationException($"{Id} asked for piece {e.Piece} it does not have");
                if (Behaviour == NodeBehaviour.Stall && Served >= ServeBeforeStall)
                {
                    return;
                }

                if (Behaviour == NodeBehaviour.Corrupt)
                {
                    data = data.ToArray();
                    data[data.Length / 2] ^= 0x5A;
                }

                Served++;
                Scheduler.ProvidePiece(e.PeerId!, e.Piece, data, sim.Content.Proof(e.Piece));
                break;

            case SwarmEventKind.PieceVerified:
                StoreCount[e.Piece]++;
                if (Data[e.Piece] is null)
                {
                    Data[e.Piece] = e.Span.ToArray();
                }

                StoreOrder.Add(e.Piece);
                e.ReturnData();
                Scheduler.MarkPieceStored(e.Piece, now);
                break;

            case SwarmEventKind.PeerReported:
                Reports.Add(e);
                break;

            case SwarmEventKind.PeerClosed:
                Closes.Add(e);
                if (Links.Remove(e.PeerId!, out var link))
                {
                    // The channel closes after what was already sent has arrived.
                    var other = link.To;
                    sim.Schedule(Math.Max(link.LastArrival, sim.Now + link.LatencyMs), () =>
                    {
                        other.Links.Remove(Id);
                        other.Scheduler.RemovePeer(Id, (long)sim.Now);
                        other.Step();
                    });
                }

                break;

            case SwarmEventKind.Completed:
                CompletedAt ??= sim.Now;
                break;
        }
    }

    /// <summary>Sends messages while the link is idle; a message occupies the link (and the node's uplink) for its size over the rate.</summary>
    private bool Pump(SimLink link, long now)
    {
        var sent = false;
        while (link.BusyUntil <= sim.Now && !link.Closed)
        {
            var n = Scheduler.PollTransmit(link.To.Id, sim.Buffer, now);
            if (n == 0)
            {
                break;
            }

            sent = true;
            var message = sim.Buffer.AsSpan(0, n).ToArray();
            if (message[0] == (byte)ShareMessageType.Piece)
            {
                var block = n - 9;
                PieceBytesUploaded += block;
                UploadedTo[link.To.Id] = UploadedTo.GetValueOrDefault(link.To.Id) + block;
            }

            var start = Math.Max(sim.Now, link.BusyUntil);
            var done = start + (link.BytesPerMs > 0 ? n / link.BytesPerMs : 0);
            if (UploadBytesPerMs > 0)
            {
                var upStart = Math.Max(start, UploadBusyUntil);
                UploadBusyUntil = upStart + (n / UploadBytesPerMs);
                done = Math.Max(done, UploadBusyUntil);
            }

            link.BusyUntil = done;
            link.BytesSent += n;
            var arrival = Math.Max(done + link.LatencyMs, link.LastArrival);
            link.LastArrival = arrival;
            var to = link.To;
            var from = this;
            sim.Schedule(arrival, () =>
            {
                if (to.Gone || from.Gone || !to.Links.ContainsKey(from.Id))
                {
                    return;
                }

                to.Scheduler.HandleMessage(from.Id, message, (long)sim.Now);
                to.Step();
            });
        }

        if (link.BusyUntil > sim.Now && !link.WakeScheduled)
        {
            link.WakeScheduled = true;
            sim.Schedule(link.BusyUntil, () =>
            {
                link.WakeScheduled = false;
                Step();
            });
        }

        return sent;
    }

    private void ArmTimer()
    {
        if (Scheduler.PollTimeout() is not { } deadline)
        {
            return;
        }

        var at = Math.Max(deadline, sim.Now);
        if (!double.IsNaN(_timerAt) && _timerAt <= at)
        {
            return;
        }

        _timerAt = at;
        sim.Schedule(at, () =>
        {
            if (_timerAt != at || Gone)
            {
                return;
            }

            _timerAt = double.NaN;
            Scheduler.HandleTimeout((long)sim.Now);
            Step();
        });
    }
}
