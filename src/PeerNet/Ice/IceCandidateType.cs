namespace PeerNet.Ice;

/// <summary>The type of an ICE candidate (RFC 8445 §5.1.1, W3C RTCIceCandidateType).</summary>
public enum IceCandidateType : byte
{
    /// <summary>"host": an address on a local interface.</summary>
    Host,

    /// <summary>"srflx": the address a STUN server saw (RFC 8445 §5.1.1.2).</summary>
    ServerReflexive,

    /// <summary>"prflx": an address learned from a connectivity check (RFC 8445 §7.2.5.3.1, §7.3.1.3).</summary>
    PeerReflexive,

    /// <summary>"relay": an address allocated on a TURN server (RFC 8656).</summary>
    Relay,
}

/// <summary>Names and preferences of <see cref="IceCandidateType"/>.</summary>
public static class IceCandidateTypeExtensions
{
    /// <summary>The token of the candidate grammar (RFC 8839 §5.1): host, srflx, prflx, relay.</summary>
    public static string ToToken(this IceCandidateType type) => type switch
    {
        IceCandidateType.Host => "host",
        IceCandidateType.ServerReflexive => "srflx",
        IceCandidateType.PeerReflexive => "prflx",
        IceCandidateType.Relay => "relay",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The recommended type preference (RFC 8445 §5.1.2.2): host 126, prflx 110, srflx 100, relay 0.</summary>
    public static int TypePreference(this IceCandidateType type) => type switch
    {
        IceCandidateType.Host => 126,
        IceCandidateType.PeerReflexive => 110,
        IceCandidateType.ServerReflexive => 100,
        _ => 0,
    };

    internal static bool TryParse(string token, out IceCandidateType type)
    {
        switch (token)
        {
            case "host":
                type = IceCandidateType.Host;
                return true;
            case "srflx":
                type = IceCandidateType.ServerReflexive;
                return true;
            case "prflx":
                type = IceCandidateType.PeerReflexive;
                return true;
            case "relay":
                type = IceCandidateType.Relay;
                return true;
            default:
                type = default;
                return false;
        }
    }
}
