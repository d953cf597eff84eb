using Microsoft.Extensions.Logging;

namespace PeerNet.Ice;

internal static partial class IceLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "ICE check {Pair} {Result}")]
    public static partial void CheckResult(ILogger logger, string pair, string result);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "ICE dropped a STUN packet from {Remote}: {Reason}")]
    public static partial void Dropped(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "ICE rejected a request from {Remote} with {Code}: {Reason}")]
    public static partial void Rejected(ILogger logger, string remote, int code, string reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "ICE role switched to {Role} ({Reason})")]
    public static partial void RoleSwitched(ILogger logger, IceRole role, string reason);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "ICE connection state {State}")]
    public static partial void StateChanged(ILogger logger, string state);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "ICE selected pair {Pair}")]
    public static partial void Selected(ILogger logger, string pair);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Debug, Message = "ICE learned a peer-reflexive {Side} candidate {Address}")]
    public static partial void PeerReflexive(ILogger logger, string side, string address);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "ICE remote candidate {Candidate} dropped: {Reason}")]
    public static partial void RemoteCandidateDropped(ILogger logger, string candidate, string reason);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "ICE socket {Socket} error: {Error}")]
    public static partial void SocketError(ILogger logger, string socket, string error);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Debug, Message = "ICE dropped a {Kind} datagram from {Remote}")]
    public static partial void DatagramDropped(ILogger logger, string kind, string remote);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Information, Message = "ICE gathered {Candidate}")]
    public static partial void Gathered(ILogger logger, string candidate);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Information, Message = "ICE could not bind {Address}: {Error}")]
    public static partial void BindFailed(ILogger logger, string address, string error);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Information, Message = "ICE restart: ufrag {OldUfrag} -> {NewUfrag}")]
    public static partial void Restarted(ILogger logger, string oldUfrag, string newUfrag);
}
