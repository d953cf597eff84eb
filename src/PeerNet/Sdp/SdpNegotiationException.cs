namespace PeerNet.Sdp;

/// <summary>
/// A well-formed session description that cannot be used for a data-channel session: something
/// required is missing (no a=fingerprint, no a=ice-pwd, no data m= section) or the offer/answer
/// rules forbid it (a=setup:holdconn). Messages name the description and the m= section, e.g.
/// "the offer has no a=fingerprint for mid 0".
/// </summary>
public sealed class SdpNegotiationException : Exception
{
    public SdpNegotiationException(string message, string? mid = null) : base(message)
    {
        Mid = mid;
    }

    /// <summary>The a=mid of the m= section concerned, when there is one.</summary>
    public string? Mid { get; }
}
