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
        ResumeToken = resumeToken;
        LastActivityTicks = nowTicks;
        Bucket = new TokenBucket(burst, nowTicks);
    }

    public string Id { get; }

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
    /// Frames to send, in order. While detached they wait here for a resume (bounded, oldest dropped).
    /// </summary>
    public Channel<OutboundFrame> Outbox { get; } = Channel.CreateUnbounded<OutboundFrame>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = false, AllowSynchronousContinuations = false });
}
