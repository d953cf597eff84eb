namespace PeerNet.Ice;

/// <summary>Local candidate gathering, named as W3C RTCIceGatheringState.</summary>
public enum IceGatheringState : byte
{
    /// <summary>"new": gathering has not started.</summary>
    New,

    /// <summary>"gathering": candidates are being gathered.</summary>
    Gathering,

    /// <summary>"complete": every candidate was gathered (end-of-candidates).</summary>
    Complete,
}
