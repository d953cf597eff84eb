namespace PeerNet.Ice;

/// <summary>
/// Words for a failed ICE session: what was tried (the candidate types on each side) and the likely
/// cause, so a user sees "you need TURN" rather than only "ICE failed". RFC 8445 §2 (NATs that map
/// per destination defeat server-reflexive candidates; a relay always works) is the reasoning.
/// </summary>
public static class IceFailureReason
{
    /// <summary>The hint given when a TURN server would help.</summary>
    public const string TurnHint = "configure one with --ice-server turn:... (in code: RtcConfiguration.IceServers)";

    /// <summary>Describes why no candidate pair worked.</summary>
    /// <param name="local">Types of our candidates (as gathered).</param>
    /// <param name="remote">Types of the remote's candidates (signalled or peer-reflexive).</param>
    /// <param name="turnServers">How many TURN servers we were configured with.</param>
    /// <param name="relayFailures">How many TURN allocations failed.</param>
    /// <param name="relayOnly">Whether the transport policy was "relay".</param>
    public static string Describe(IEnumerable<IceCandidateType> local, IEnumerable<IceCandidateType> remote, int turnServers = 0, int relayFailures = 0, bool relayOnly = false)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        var localTypes = local.Distinct().Order().ToArray();
        var remoteTypes = remote.Distinct().Order().ToArray();
        var tried = $"no candidate pair worked: local candidates {List(localTypes)}; remote {List(remoteTypes)}";
        var ourTurn = turnServers == 0
            ? "we have no TURN server"
            : relayFailures > 0 ? $"our TURN allocation failed ({relayFailures} of them)" : "our TURN server gave no relay candidate";

        if (localTypes.Length == 0)
        {
            return relayOnly
                ? $"{tried} — the relay policy uses TURN candidates only, and {ourTurn}; {TurnHint}"
                : $"{tried} — no local address could be used";
        }

        if (remoteTypes.Length == 0)
        {
            return $"{tried} — no remote candidates arrived and no check from the remote reached us (is the other side gathering, and does signaling deliver its candidates?)";
        }

        var localRelay = localTypes.Contains(IceCandidateType.Relay);
        var remoteRelay = remoteTypes.Contains(IceCandidateType.Relay);
        if (!localRelay && !remoteRelay)
        {
            var reflexive = localTypes.Contains(IceCandidateType.ServerReflexive) || remoteTypes.Contains(IceCandidateType.ServerReflexive);
            var cause = reflexive
                ? "both peers seem to be behind NATs that need a TURN server"
                : "the peers cannot reach each other directly and have neither STUN nor TURN candidates; a TURN server is needed";
            return $"{tried}; no relay candidates on either side ({ourTurn}) — {cause}; {TurnHint}";
        }

        var who = localRelay && remoteRelay ? "both sides" : localRelay ? "our side" : "the remote side";
        return $"{tried}; even the relayed path ({who}) got no answer — the TURN server may refuse the peer's address (allowed peer ranges) or UDP to it is blocked";
    }

    private static string List(IceCandidateType[] types) => types.Length == 0 ? "none" : string.Join(", ", types.Select(t => t.ToToken()));
}
