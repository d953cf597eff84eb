namespace PeerNet.Rtc;

/// <summary>Which layer a connection failed at, so a user can tell what to look at.</summary>
public enum RtcFailureLayer
{
    /// <summary>The peers could not exchange offers, answers or candidates.</summary>
    Signaling,

    /// <summary>ICE found no working candidate pair, or lost it (RFC 8445, RFC 7675).</summary>
    Ice,

    /// <summary>The DTLS handshake failed or the remote certificate did not match a=fingerprint.</summary>
    Dtls,

    /// <summary>The SCTP association could not be set up or was aborted.</summary>
    Sctp,
}

/// <summary>A connection failed; <see cref="Layer"/> says where.</summary>
public sealed class RtcConnectionException(RtcFailureLayer layer, string message, Exception? inner = null)
    : Exception($"{LayerName(layer)}: {message}", inner)
{
    /// <summary>The layer that failed.</summary>
    public RtcFailureLayer Layer { get; } = layer;

    /// <summary>What went wrong, without the layer's name.</summary>
    public string Reason { get; } = message;

    /// <summary>"ICE", "DTLS", ... as people write them.</summary>
    public static string LayerName(RtcFailureLayer layer) => layer switch
    {
        RtcFailureLayer.Signaling => "signaling",
        RtcFailureLayer.Ice => "ICE",
        RtcFailureLayer.Dtls => "DTLS",
        _ => "SCTP",
    };
}
