using Microsoft.Extensions.Logging;

namespace PeerNet.Ice;

internal static partial class IceUdpMuxLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "ICE UDP mux {Mux} dropped a datagram from {Remote}: {Reason} {Detail} (logged once per reason; see IceUdpMux.Statistics)")]
    public static partial void FirstDrop(ILogger logger, string mux, string reason, string remote, string detail);
}
