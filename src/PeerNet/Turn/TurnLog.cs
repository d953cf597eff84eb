using Microsoft.Extensions.Logging;

namespace PeerNet.Turn;

internal static partial class TurnLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "TURN allocation {Relayed} for {Client} (user {User}, lifetime {Lifetime} s)")]
    public static partial void AllocationCreated(ILogger logger, string relayed, string client, string user, long lifetime);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "TURN allocation {Relayed} for {Client} deleted ({Reason})")]
    public static partial void AllocationDeleted(ILogger logger, string relayed, string client, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "TURN: {Reason} from {Client}: {Detail} (logged once per client and kind)")]
    public static partial void BadInput(ILogger logger, TurnDropReason reason, string client, string detail);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "TURN {Transport} listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, TurnTransport transport, string endPoint);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "TURN {Transport} listener on {EndPoint}: {Error}")]
    public static partial void ListenerError(ILogger logger, TurnTransport transport, string endPoint, string error);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Debug, Message = "TURN connection from {Client} closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, string client, string reason);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "TURN relay {Relayed}: send to {Peer} failed: {Error} (logged once per allocation)")]
    public static partial void RelaySendFailed(ILogger logger, string relayed, string peer, string error);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "TURN RFC 5780 behaviour discovery: primary {Primary}, alternate {Alternate}")]
    public static partial void BehaviorDiscovery(ILogger logger, string primary, string alternate);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Debug, Message = "TURN: {Reason} from {Client}: {Detail}")]
    public static partial void Refused(ILogger logger, TurnDropReason reason, string client, string detail);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error, Message = "TURN: unexpected error in {Where}")]
    public static partial void Unexpected(ILogger logger, Exception exception, string where);
}
