namespace PeerNet.Hub.Signaling;

/// <summary>
/// The I/O side of one signaling connection, as the sans-I/O <see cref="SignalingServer"/> sees
/// it: the only thing the core ever asks of it is to close.
/// </summary>
internal interface ISignalingTransport
{
    /// <summary>Closes the connection with a WebSocket close code; must not block.</summary>
    void Close(int closeCode, string reason);
}

/// <summary>Close codes the server uses (4000–4999 are private-use, RFC 6455 §7.4.2).</summary>
internal static class SignalingCloseCode
{
    public const int PolicyViolation = 1008;
    public const int ResumedElsewhere = 4000;
    public const int Idle = 4001;
    public const int ServerShutdown = 1001;
}
