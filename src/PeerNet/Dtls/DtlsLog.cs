using Microsoft.Extensions.Logging;

namespace PeerNet.Dtls;

internal static partial class DtlsLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "DTLS {Role}: handshake started")]
    public static partial void HandshakeStarted(ILogger logger, DtlsRole role);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "DTLS {Role}: connected with {CipherSuite}, peer certificate {Fingerprint}")]
    public static partial void Connected(ILogger logger, DtlsRole role, string cipherSuite, DtlsFingerprint fingerprint);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "DTLS {Role}: failed ({Reason}): {Detail}")]
    public static partial void Failed(ILogger logger, DtlsRole role, DtlsFailureReason reason, string detail);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "DTLS {Role}: closed (by peer: {ByPeer})")]
    public static partial void Closed(ILogger logger, DtlsRole role, bool byPeer);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Debug, Message = "DTLS {Role}: received {Level} alert {Alert}")]
    public static partial void AlertReceived(ILogger logger, DtlsRole role, string level, string alert);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Debug, Message = "DTLS {Role}: sent {Level} alert {Alert}: {Detail}")]
    public static partial void AlertRaised(ILogger logger, DtlsRole role, string level, string alert, string? detail);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Debug, Message = "DTLS {Role}: dropped a datagram of {Length} bytes: {Reason}")]
    public static partial void DatagramDropped(ILogger logger, DtlsRole role, int length, DtlsDropReason reason);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Debug, Message = "DTLS {Role}: dropped a record of {Length} bytes: {Reason}")]
    public static partial void RecordDropped(ILogger logger, DtlsRole role, int length, DtlsDropReason reason);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Debug, Message = "DTLS {Role}: negotiated SRTP profile 0x{Profile:X4} (unused: data only)")]
    public static partial void SrtpProfile(ILogger logger, DtlsRole role, int profile);
}
