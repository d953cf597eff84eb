namespace PeerNet.Stun.NatBehavior;

/// <summary>Settings of a <see cref="NatBehaviorDiscovery"/>.</summary>
public sealed class NatBehaviorDiscoveryOptions
{
    /// <summary>The STUN server's primary address (required): where test I goes.</summary>
    public StunAddress Server { get; set; }

    /// <summary>
    /// The local address of the socket the requests leave from, so "behind a NAT" can be told
    /// (RFC 5780 §4.3). None, or an unspecified IP (0.0.0.0, ::), when unknown.
    /// </summary>
    public StunAddress LocalAddress { get; set; }

    /// <summary>The first retransmission timeout (RFC 8489 §6.2.1 recommends 500 ms); it doubles per retransmission.</summary>
    public TimeSpan InitialRto { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Transmissions of one request at most (Rc, RFC 8489 §6.2.1).</summary>
    public int MaxTransmissions { get; set; } = 7;

    /// <summary>
    /// How long one test waits for its answer in all. Shorter than RFC 8489's 39.5 s: filtering tests
    /// are expected to go unanswered behind most NATs, and their silence is the finding.
    /// </summary>
    public TimeSpan TestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The whole discovery ends within this; tests still running then count as unanswered (Unknown).</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Run the filtering tests (§4.4); false runs only the mapping tests (§4.3).</summary>
    public bool DiscoverFiltering { get; set; } = true;

    /// <summary>Validates the settings.</summary>
    /// <exception cref="ArgumentException">No server, or a non-positive time or count.</exception>
    internal void Validate()
    {
        if (Server.Family == StunAddressFamily.None)
        {
            throw new ArgumentException("The server address is required.", nameof(Server));
        }

        if (InitialRto <= TimeSpan.Zero || TestTimeout <= TimeSpan.Zero || TotalTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("InitialRto, TestTimeout and TotalTimeout must be positive.");
        }

        if (MaxTransmissions < 1)
        {
            throw new ArgumentException("MaxTransmissions must be at least 1.", nameof(MaxTransmissions));
        }
    }
}
