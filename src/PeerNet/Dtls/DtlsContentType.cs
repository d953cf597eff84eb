namespace PeerNet.Dtls;

/// <summary>The record content types DTLS 1.2 uses here (RFC 5246 §6.2.1, RFC 6347 §4.1).</summary>
internal static class DtlsContentType
{
    public const byte ChangeCipherSpec = 20;
    public const byte Alert = 21;
    public const byte Handshake = 22;
    public const byte ApplicationData = 23;
}
