using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>The client side of an allocation's 5-tuple: the listener or connection and the client's address.</summary>
internal readonly record struct TurnClientKey(long ConnectionId, StunAddress Remote);

/// <summary>A channel binding (RFC 8656 §12).</summary>
internal struct TurnChannel
{
    public StunAddress Peer;
    public long Expires;
}

/// <summary>One allocation (RFC 8656 §2.2): relayed addresses, permissions, channels, lifetime, quota state.</summary>
internal sealed class TurnAllocation
{
    public TurnAllocation(TurnClientKey key, in TurnClientEndpoint client, StunTransactionId transactionId, byte[] username, string quotaUser)
    {
        Key = key;
        Client = client;
        TransactionId = transactionId;
        Username = username;
        QuotaUser = quotaUser;
    }

    public TurnClientKey Key { get; }

    public TurnClientEndpoint Client { get; }

    /// <summary>The Allocate transaction that created it: a retransmission gets the same success (RFC 8656 §7.2).</summary>
    public StunTransactionId TransactionId { get; }

    /// <summary>The USERNAME that created it; later requests must use the same (else 441).</summary>
    public byte[] Username { get; }

    public string QuotaUser { get; }

    public TurnRelayBinding Relay4 { get; set; }

    public TurnRelayBinding Relay6 { get; set; }

    /// <summary>Token of the odd port reserved with this allocation's EVEN-PORT request (0: none).</summary>
    public ulong ReservationToken { get; set; }

    /// <summary>Why the additional IPv6 address was not allocated (0: it was, or none was asked for).</summary>
    public StunErrorCode AdditionalFamilyError { get; set; }

    public long Expires { get; set; }

    /// <summary>Lifetime granted by the last Allocate or Refresh, in seconds.</summary>
    public uint LifetimeSeconds { get; set; }

    /// <summary>Permissions by peer IP address (port 0) → expiry.</summary>
    public Dictionary<StunAddress, long> Permissions { get; } = [];

    public Dictionary<ushort, TurnChannel> ChannelsByNumber { get; } = [];

    public Dictionary<StunAddress, ushort> ChannelsByPeer { get; } = [];

    // Token bucket of relayed bytes (when a bandwidth quota is set).
    public long Tokens { get; set; }

    public long LastRefill { get; set; }

    public bool SendFailureLogged { get; set; }

    public bool HasFamily(StunAddressFamily family) => Relay(family).IsValid;

    public TurnRelayBinding Relay(StunAddressFamily family) => family == StunAddressFamily.IPv6 ? Relay6 : Relay4;

    public bool HasPermission(in StunAddress peer, long now) =>
        Permissions.TryGetValue(peer.WithPort(0), out var expires) && expires > now;

    /// <summary>Removes expired permissions and channels (removal while enumerating is allowed since .NET Core 3.0).</summary>
    public void Prune(long now)
    {
        foreach (var (peer, expires) in Permissions)
        {
            if (expires <= now)
            {
                Permissions.Remove(peer);
            }
        }

        foreach (var (number, channel) in ChannelsByNumber)
        {
            if (channel.Expires <= now)
            {
                ChannelsByNumber.Remove(number);
                ChannelsByPeer.Remove(channel.Peer);
            }
        }
    }

    public override string ToString() => Relay4.IsValid && Relay6.IsValid
        ? $"{Relay4.Address} + {Relay6.Address}"
        : (Relay4.IsValid ? Relay4.Address : Relay6.Address).ToString();
}
