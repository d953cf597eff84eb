using System.Text;
using System.Threading.Channels;

namespace PeerNet.Hub.Signaling;

/// <summary>
/// A peer known to the server: its id, rooms, rate limit and the frames waiting for it. It
/// outlives its connection by the resume grace period.
/// </summary>
internal sealed class PeerSession
{
    public PeerSession(string id, string resumeToken, long nowTicks, double burst)
    {
        Id = id;
        // Ids are base64url: nothing to escape.
        SignalPrefix = Encoding.UTF8.GetBytes("{\"type\":\"signal\",\"from\":\"" + id + "\",\"data\":");
        ResumeToken = resumeToken;
        LastActivityTicks = nowTicks;
        Bucket = new TokenBucket(burst, nowTicks);
    }

    public string Id { get; }

    /// <summary><c>{"type":"signal","from":"ID","data":</c>, the start of every signal this peer sends.</summary>
    public byte[] SignalPrefix { get; }

    /// <summary>Guards the mutable state below.</summary>
    public object Gate { get; } = new();

    public string ResumeToken;

    /// <summary>The live connection, or null while detached (waiting for a resume).</summary>
    public ISignalingTransport? Transport;

    public long DetachedAtTicks;
    public long LastActivityTicks;
    public bool Removed;
    public TokenBucket Bucket;
    public readonly Dictionary<string, Room> Rooms = new(StringComparer.Ordinal);

    /// <summary>A frame whose send failed when the connection broke: sent first after a resume.</summary>
    public OutboundFrame? Unsent;

    /// <summary>Error codes already logged for this peer, so a misbehaving client is logged once per kind.</summary>
    public int LoggedErrorKinds;

    /// <summary>
    /// Frames to send, in order. While detached they wait here for a resume (bounded, oldest
    /// dropped). Each connection gets its own (see <see cref="RenewOutbox"/>), so a close request
    /// written into it reaches exactly that connection's send loop.
    /// </summary>
    public Channel<OutboundFrame> Outbox => Volatile.Read(ref _outbox);

    private Channel<OutboundFrame> _outbox = NewOutbox();

    // Not SingleReader: that variant cannot count its items, and the limits need the count.
    private static Channel<OutboundFrame> NewOutbox() => Channel.CreateUnbounded<OutboundFrame>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = false, AllowSynchronousContinuations = false });

    /// <summary>
    /// Hands a resuming connection a fresh outbox holding, in order, what the previous one did not
    /// send. Call under <see cref="Gate"/>; writers that find the old outbox completed retry under it.
    /// </summary>
    public Channel<OutboundFrame> RenewOutbox()
    {
        var old = _outbox;
        old.Writer.TryComplete();
        var fresh = NewOutbox();
        while (old.Reader.TryRead(out var frame))
        {
            if (frame.Buffer is not null) fresh.Writer.TryWrite(frame);
        }
        Volatile.Write(ref _outbox, fresh);
        return fresh;
    }
}
