namespace PeerNet.Sdp;

/// <summary>
/// What the local side puts into its data-channel m= section when <see cref="Jsep"/> builds an
/// offer or an answer.
/// </summary>
public sealed record JsepParameters
{
    /// <summary>Local ICE username fragment: 4 to 256 ice-chars (RFC 8839 §5.4).</summary>
    public required string IceUfrag { get; init; }

    /// <summary>Local ICE password: 22 to 256 ice-chars (RFC 8839 §5.4).</summary>
    public required string IcePwd { get; init; }

    /// <summary>The local certificate's fingerprints, "sha-256 AB:CD:..." (RFC 8122 §5); at least one.</summary>
    public required IReadOnlyList<string> Fingerprints { get; init; }

    /// <summary>
    /// The a=setup to write. Null: actpass in an offer (RFC 8829 §5.2.1), and in an answer the role
    /// that complements the offer's (RFC 8842 §5.3). An explicit answer role must be compatible.
    /// </summary>
    public SdpSetupRole? Setup { get; init; }

    /// <summary>The a=mid of an offer's data section. An answer always uses the offer's mid (RFC 8829 §5.3.1).</summary>
    public string Mid { get; init; } = "0";

    /// <summary>The local SCTP port (RFC 8841 §5.2).</summary>
    public int SctpPort { get; init; } = DataChannelSection.DefaultSctpPort;

    /// <summary>The largest message the local side accepts (RFC 8841 §6); 0 means no limit.</summary>
    public long MaxMessageSize { get; init; } = 262144;

    /// <summary>Local candidates already gathered, in W3C form "candidate:..." (RFC 8839 §5.1).</summary>
    public IReadOnlyList<string> Candidates { get; init; } = [];

    /// <summary>Write a=end-of-candidates: gathering is complete (RFC 8840 §8.2).</summary>
    public bool EndOfCandidates { get; init; }

    /// <summary>Write a=ice-lite at session level (RFC 8839 §5.3).</summary>
    public bool IceLite { get; init; }

    /// <summary>The o= sess-id; null picks a random 62-bit one (RFC 8829 §5.2.1).</summary>
    public ulong? SessionId { get; init; }

    /// <summary>The o= sess-version; each new description of a session increments it (RFC 8829 §5.2.2).</summary>
    public ulong SessionVersion { get; init; }
}
