namespace PeerNet.Stun.NatBehavior;

/// <summary>What a <see cref="NatBehaviorDiscovery"/> found (so far, while it runs).</summary>
public sealed record NatBehaviorResult
{
    /// <summary>How the discovery ended (or <see cref="NatBehaviorStatus.Running"/>).</summary>
    public NatBehaviorStatus Status { get; init; }

    /// <summary>The server's primary address (where test I went).</summary>
    public StunAddress Server { get; init; }

    /// <summary>The local address the requests were sent from, as the caller gave it.</summary>
    public StunAddress LocalAddress { get; init; }

    /// <summary>XOR-MAPPED-ADDRESS of test I: the public (server-reflexive) address; None when the server did not answer.</summary>
    public StunAddress MappedAddress { get; init; }

    /// <summary>OTHER-ADDRESS of test I when valid (RFC 5780 §7.4: differs from the primary in IP and port); None otherwise.</summary>
    public StunAddress OtherAddress { get; init; }

    /// <summary>RESPONSE-ORIGIN of test I (RFC 5780 §7.3), when present.</summary>
    public StunAddress ResponseOrigin { get; init; }

    /// <summary>The mapped address seen by mapping test II (alternate IP, primary port); None when not run or not answered.</summary>
    public StunAddress MappedAddressTestII { get; init; }

    /// <summary>The mapped address seen by mapping test III (alternate IP and port); None when not run or not answered.</summary>
    public StunAddress MappedAddressTestIII { get; init; }

    /// <summary>
    /// Whether a NAT sits between the client and the server (RFC 5780 §4.3: the mapped address differs from
    /// the local one); null when unknown (no answer, or the local address was not given).
    /// </summary>
    public bool? IsBehindNat { get; init; }

    /// <summary>The mapping behaviour (RFC 4787 §4.1).</summary>
    public NatMappingBehavior Mapping { get; init; }

    /// <summary>The filtering behaviour (RFC 4787 §5).</summary>
    public NatFilteringBehavior Filtering { get; init; }

    /// <summary>The STUN error code of an error response to test I (<see cref="NatBehaviorStatus.ServerError"/>), or to a change request (420 when CHANGE-REQUEST is not understood).</summary>
    public int ErrorCode { get; init; }

    /// <summary>Why something is NotSupported or Unknown, in words; null when everything was determined.</summary>
    public string? Note { get; init; }

    /// <summary>Milliseconds from start to the end (or to now while running).</summary>
    public long ElapsedMilliseconds { get; init; }
}
