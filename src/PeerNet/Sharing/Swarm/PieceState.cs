namespace PeerNet.Sharing.Swarm;

/// <summary>Where a piece stands for the downloader.</summary>
public enum PieceState : byte
{
    /// <summary>Missing and requested from nobody.</summary>
    Wanted,

    /// <summary>Requested from one peer or more (several in endgame).</summary>
    InFlight,

    /// <summary>Verified, being stored by the driver.</summary>
    Storing,

    /// <summary>Verified and stored.</summary>
    Have,
}
