namespace PeerNet.Turn;

/// <summary>A request the server refused or never answered.</summary>
/// <param name="Operation">Allocate, Refresh, CreatePermission or ChannelBind.</param>
/// <param name="Code">The STUN error code (401, 437, 438, 441, 486, 508, ...), 0 for a timeout.</param>
/// <param name="Reason">The server's reason phrase, or why the client gave up.</param>
public sealed record TurnClientFailure(TurnClientOperation Operation, int Code, string Reason)
{
    /// <summary>Where a 300 Try Alternate pointed (ALTERNATE-SERVER), when it did.</summary>
    public PeerNet.Stun.StunAddress? AlternateServer { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Code == 0 ? $"{Operation} failed: {Reason}" : $"{Operation} failed: {Code} {Reason}";
}

/// <summary>The TURN requests a <see cref="TurnClient"/> sends (RFC 8656).</summary>
public enum TurnClientOperation : byte
{
    /// <summary>Allocate (§7.1).</summary>
    Allocate,

    /// <summary>Refresh (§7.2).</summary>
    Refresh,

    /// <summary>CreatePermission (§9).</summary>
    CreatePermission,

    /// <summary>ChannelBind (§12).</summary>
    ChannelBind,
}

/// <summary>Thrown by drivers when an allocation fails; carries the server's answer.</summary>
public sealed class TurnClientException : Exception
{
    /// <summary>Wraps <paramref name="failure"/>.</summary>
    public TurnClientException(TurnClientFailure failure)
        : base(failure?.ToString())
    {
        Failure = failure!;
    }

    /// <summary>Creates one with a message only (a transport error).</summary>
    public TurnClientException(string message)
        : base(message)
    {
        Failure = new TurnClientFailure(TurnClientOperation.Allocate, 0, message);
    }

    /// <summary>Creates one with a message and a cause.</summary>
    public TurnClientException(string message, Exception inner)
        : base(message, inner)
    {
        Failure = new TurnClientFailure(TurnClientOperation.Allocate, 0, message);
    }

    /// <summary>Creates an empty one.</summary>
    public TurnClientException()
        : this("TURN failed")
    {
    }

    /// <summary>What failed, with the error code and the reason phrase.</summary>
    public TurnClientFailure Failure { get; }
}
