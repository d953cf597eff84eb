namespace PeerNet.Stun.NatBehavior;

/// <summary>Where a <see cref="NatBehaviorDiscovery"/> stands, and how it ended.</summary>
public enum NatBehaviorStatus : byte
{
    /// <summary>Not started, or tests are still running.</summary>
    Running,

    /// <summary>The server answered the first test with OTHER-ADDRESS; mapping and filtering are in the result (each may still be Unknown).</summary>
    Completed,

    /// <summary>
    /// The server answered the first test (the mapped address is known) but offers no RFC 5780
    /// discovery: no OTHER-ADDRESS, or one that does not differ from the primary in both IP and port.
    /// Not an error.
    /// </summary>
    NotSupported,

    /// <summary>The server never answered the first Binding request.</summary>
    NoResponse,

    /// <summary>The server answered the first Binding request with an error response.</summary>
    ServerError,
}
