using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>What a <see cref="TurnClientEvent"/> reports.</summary>
public enum TurnClientEventKind : byte
{
    /// <summary>The allocation exists: <see cref="TurnClientEvent.Address"/> is the relayed address, <see cref="TurnClientEvent.Mapped"/> the server-reflexive one.</summary>
    Allocated,

    /// <summary>A permission for <see cref="TurnClientEvent.Address"/>'s IP was installed (or renewed).</summary>
    PermissionCreated,

    /// <summary>A channel to <see cref="TurnClientEvent.Address"/> was bound (or renewed): ChannelData is used from now on.</summary>
    ChannelBound,

    /// <summary>A request failed; <see cref="TurnClientEvent.Failure"/> says which and why. Allocate and Refresh failures end the allocation.</summary>
    Failed,

    /// <summary>The allocation was released (Refresh with lifetime 0 answered or timed out).</summary>
    Closed,
}

/// <summary>An event of a <see cref="TurnClient"/> (control plane only; data is returned directly).</summary>
public readonly record struct TurnClientEvent(TurnClientEventKind Kind, StunAddress Address = default, StunAddress Mapped = default, TurnClientFailure? Failure = null);
