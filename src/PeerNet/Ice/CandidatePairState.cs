namespace PeerNet.Ice;

/// <summary>The state of a candidate pair in the checklist (RFC 8445 §6.1.2.6).</summary>
public enum CandidatePairState : byte
{
    /// <summary>Waiting for a pair of the same foundation to succeed first.</summary>
    Frozen,

    /// <summary>Ready to be checked.</summary>
    Waiting,

    /// <summary>A check was sent, no answer yet.</summary>
    InProgress,

    /// <summary>A check succeeded: the pair is valid.</summary>
    Succeeded,

    /// <summary>The check timed out or was refused.</summary>
    Failed,
}
