namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>
/// The signaling path between two peers (a WebSocket through a hub in real life): messages arrive in
/// order, each after a delay with seeded jitter, and are never lost.
/// </summary>
internal sealed class SignalingChannel : ISimActor
{
    private readonly VirtualInternet _net;
    private readonly Queue<(long At, Action Deliver)> _queue = new();
    private long _last;

    public SignalingChannel(VirtualInternet net, int delay = 50, int jitter = 20)
    {
        _net = net;
        Delay = delay;
        Jitter = jitter;
        net.AddActor(this);
    }

    public int Delay { get; set; }

    public int Jitter { get; set; }

    public int Delivered { get; private set; }

    /// <summary>Sends a message: <paramref name="deliver"/> runs on the receiving side when it arrives.</summary>
    public void Post(Action deliver)
    {
        var at = _net.Now + Delay + (Jitter > 0 ? _net.Random.Next(Jitter + 1) : 0);
        _last = Math.Max(_last, at); // in order, like one WebSocket
        _queue.Enqueue((_last, deliver));
    }

    public long? PollTimeout() => _queue.TryPeek(out var next) ? next.At : null;

    public void HandleTimeout(long now)
    {
        while (_queue.TryPeek(out var next) && next.At <= now)
        {
            _queue.Dequeue();
            Delivered++;
            next.Deliver();
        }
    }
}
