using Microsoft.Extensions.Logging;

namespace PeerNet.Ice;

/// <summary>Settings of an <see cref="IceAgent"/>. Times are milliseconds.</summary>
public sealed class IceAgentOptions
{
    /// <summary>The initial role (RFC 8445 §6.1.1); a role conflict may change it.</summary>
    public IceRole Role { get; set; } = IceRole.Controlling;

    /// <summary>The 64-bit tie-breaker (RFC 8445 §16.1); null draws a random one.</summary>
    public ulong? TieBreaker { get; set; }

    /// <summary>The local ufrag; null generates one (<see cref="IceCredentials.GenerateUfrag"/>).</summary>
    public string? LocalUfrag { get; set; }

    /// <summary>The local password; null generates one.</summary>
    public string? LocalPassword { get; set; }

    /// <summary>Ta, the pacing of new checks (RFC 8445 §14.2 recommends 50 ms).</summary>
    public int CheckInterval { get; set; } = 50;

    /// <summary>The first retransmission timeout of a check (RFC 8445 §14.3: at least 500 ms on the open Internet; 250 ms on a LAN is common).</summary>
    public int InitialRetransmissionTimeout { get; set; } = 250;

    /// <summary>The largest retransmission timeout; RTOs double up to it.</summary>
    public int MaxRetransmissionTimeout { get; set; } = 1600;

    /// <summary>How many times a check is sent before the pair fails (RFC 8489 Rc is 7).</summary>
    public int MaxTransmissions { get; set; } = 7;

    /// <summary>
    /// How long the controlling agent waits, after the first pair succeeds, for better pairs still
    /// being checked before it nominates the best valid one (regular nomination, RFC 8445 §8.1.1).
    /// </summary>
    public int NominationTimeout { get; set; } = 1000;

    /// <summary>
    /// How long, from the first valid pair, the controlling agent waits at most for a better pair
    /// on which the remote's checks have already arrived (so the path works, and only our check or
    /// its answer is late: lost under packet loss, or behind a NAT still opening). Past
    /// <see cref="NominationTimeout"/> only such pairs are waited for.
    /// </summary>
    public int ReachablePairNominationTimeout { get; set; } = 4000;

    /// <summary>The interval of consent checks on the selected pair (RFC 7675 §5.1: 5 s ± 20 %; shorter is allowed).</summary>
    public int ConsentInterval { get; set; } = 2500;

    /// <summary>No response on the selected pair for this long makes the state "disconnected".</summary>
    public int DisconnectedTimeout { get; set; } = 7500;

    /// <summary>No response on the selected pair for this long loses consent: "failed" (RFC 7675 §5.1: 30 s).</summary>
    public int ConsentTimeout { get; set; } = 30000;

    /// <summary>Checking for this long without any valid pair, with nothing left to check, is "failed".</summary>
    public int CheckingTimeout { get; set; } = 30000;

    /// <summary>The most candidate pairs kept (RFC 8445 §6.1.2.5 suggests 100).</summary>
    public int MaxCandidatePairs { get; set; } = 100;

    /// <summary>The most remote candidates kept (signalled and peer-reflexive).</summary>
    public int MaxRemoteCandidates { get; set; } = 100;

    /// <summary>The most checks kept while the remote credentials are unknown (RFC 8445 §7.3.1.3 early checks).</summary>
    public int MaxEarlyChecks { get; set; } = 32;

    /// <summary>Optional logger for check results and dropped packets.</summary>
    public ILogger? Logger { get; set; }
}
