namespace PeerNet.Hub.Signaling;

/// <summary>Limits of the signaling server (docs/signaling.md, Limits).</summary>
public sealed class SignalingOptions
{
    /// <summary>Largest message accepted, in bytes of UTF-8.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Sustained messages per second per connection (token bucket refill rate).</summary>
    public double MessagesPerSecond { get; set; } = 50;

    /// <summary>Token bucket size: how many messages may arrive back to back.</summary>
    public double Burst { get; set; } = 100;

    /// <summary>Rooms one peer may be in at once.</summary>
    public int RoomsPerPeer { get; set; } = 16;

    /// <summary>Members one room may hold.</summary>
    public int PeersPerRoom { get; set; } = 64;

    /// <summary>A connection silent this long is closed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a dropped peer keeps its id, rooms and messages for a resume.</summary>
    public TimeSpan ResumeGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages kept for a dropped peer during its grace period (oldest dropped beyond).</summary>
    public int MaxQueuedMessages { get; set; } = 256;

    /// <summary>Messages waiting to be sent to a connected peer before it is judged not to be reading.</summary>
    public int MaxPendingSends { get; set; } = 1024;

    internal void Validate()
    {
        if (MaxMessageBytes < 256) throw new ArgumentOutOfRangeException(nameof(MaxMessageBytes), "must be at least 256 bytes");
        if (MessagesPerSecond <= 0) throw new ArgumentOutOfRangeException(nameof(MessagesPerSecond), "must be positive");
        if (Burst < 1) throw new ArgumentOutOfRangeException(nameof(Burst), "must be at least 1");
        if (RoomsPerPeer < 1) throw new ArgumentOutOfRangeException(nameof(RoomsPerPeer), "must be at least 1");
        if (PeersPerRoom < 2) throw new ArgumentOutOfRangeException(nameof(PeersPerRoom), "must be at least 2");
        if (IdleTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(IdleTimeout), "must be positive");
        if (ResumeGrace < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ResumeGrace), "must not be negative");
        if (MaxQueuedMessages < 0) throw new ArgumentOutOfRangeException(nameof(MaxQueuedMessages), "must not be negative");
        if (MaxPendingSends < 16) throw new ArgumentOutOfRangeException(nameof(MaxPendingSends), "must be at least 16");
    }
}
