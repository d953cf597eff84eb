namespace PeerNet.Ice;

/// <summary>The state of the agent's connectivity, named as W3C RTCIceConnectionState.</summary>
public enum IceConnectionState : byte
{
    /// <summary>"new": no checks yet (no remote credentials).</summary>
    New,

    /// <summary>"checking": connectivity checks are running, no pair is selected yet.</summary>
    Checking,

    /// <summary>"connected": a pair is selected (nominated); checks may still run.</summary>
    Connected,

    /// <summary>"completed": a pair is selected, checking is over and the remote side sent end-of-candidates.</summary>
    Completed,

    /// <summary>"failed": every pair failed, or consent was lost for 30 s (RFC 7675).</summary>
    Failed,

    /// <summary>"disconnected": the selected pair has gone unanswered for a few seconds; may come back.</summary>
    Disconnected,

    /// <summary>"closed": <see cref="IceAgent.Close"/> was called.</summary>
    Closed,
}

/// <summary>W3C names of <see cref="IceConnectionState"/>.</summary>
public static class IceConnectionStateExtensions
{
    /// <summary>"new", "checking", "connected", "completed", "failed", "disconnected" or "closed".</summary>
    public static string ToW3CName(this IceConnectionState state) => state switch
    {
        IceConnectionState.New => "new",
        IceConnectionState.Checking => "checking",
        IceConnectionState.Connected => "connected",
        IceConnectionState.Completed => "completed",
        IceConnectionState.Failed => "failed",
        IceConnectionState.Disconnected => "disconnected",
        _ => "closed",
    };
}
