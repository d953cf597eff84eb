namespace PeerNet.Sdp;

/// <summary>Names of the attributes the data-channel negotiation reads and writes.</summary>
public static class SdpAttributeNames
{
    /// <summary>RFC 8843 §7 (BUNDLE), RFC 5888 §5 (grouping framework).</summary>
    public const string Group = "group";
    /// <summary>RFC 5888 §4: the m= section's identification-tag.</summary>
    public const string Mid = "mid";
    /// <summary>RFC 8843 §6: port 0 but not rejected.</summary>
    public const string BundleOnly = "bundle-only";
    /// <summary>RFC 8839 §5.4.</summary>
    public const string IceUfrag = "ice-ufrag";
    /// <summary>RFC 8839 §5.4.</summary>
    public const string IcePwd = "ice-pwd";
    /// <summary>RFC 8839 §5.6.</summary>
    public const string IceOptions = "ice-options";
    /// <summary>RFC 8839 §5.3.</summary>
    public const string IceLite = "ice-lite";
    /// <summary>RFC 8839 §5.1.</summary>
    public const string Candidate = "candidate";
    /// <summary>RFC 8840 §8.2.</summary>
    public const string EndOfCandidates = "end-of-candidates";
    /// <summary>RFC 8122 §5.</summary>
    public const string Fingerprint = "fingerprint";
    /// <summary>RFC 4145 §4, RFC 8842 §5.</summary>
    public const string Setup = "setup";
    /// <summary>RFC 8841 §5.2.</summary>
    public const string SctpPort = "sctp-port";
    /// <summary>RFC 8841 §6.</summary>
    public const string MaxMessageSize = "max-message-size";
    /// <summary>draft-ietf-mmusic-sctp-sdp-05 §4.1 (the pre-RFC 8841 form aiortc 1.4 still offers).</summary>
    public const string SctpMap = "sctpmap";
}
