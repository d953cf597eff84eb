namespace PeerNet.Signaling;

/// <summary>The <c>code</c> values of a signaling <c>error</c> message (docs/signaling.md, Errors).</summary>
public static class SignalingErrorCode
{
    /// <summary>Not JSON, not an object, a binary frame, or a missing or mistyped field.</summary>
    public const string BadMessage = "bad-message";
    /// <summary>The <c>type</c> is not one the server knows.</summary>
    public const string UnknownType = "unknown-type";
    /// <summary>A signal's target is not connected.</summary>
    public const string UnknownPeer = "unknown-peer";
    /// <summary>A <c>leave</c> of a room the peer is not in.</summary>
    public const string NotInRoom = "not-in-room";
    /// <summary>The message is larger than the server's limit.</summary>
    public const string TooLarge = "too-large";
    /// <summary>The peer sends faster than the server allows.</summary>
    public const string RateLimited = "rate-limited";
    /// <summary>The room is full, or the peer is in too many rooms.</summary>
    public const string RoomFull = "room-full";
}
