namespace PeerNet.Dtls;

/// <summary>Counters of a <see cref="DtlsTransport"/> (compare W3C <c>RTCTransportStats</c>).</summary>
/// <param name="PacketsReceived">Datagrams passed to <see cref="DtlsTransport.HandleDatagram"/>.</param>
/// <param name="PacketsDropped">Of those, the ones dropped before decryption (<see cref="DtlsDropReason"/>).</param>
/// <param name="PacketsSent">Datagrams returned by <see cref="DtlsTransport.PollTransmit"/>.</param>
/// <param name="PacketsDiscarded">Datagrams to send dropped because too many were waiting to be polled.</param>
/// <param name="MessagesReceived">Application data records decrypted.</param>
/// <param name="MessagesDiscarded">Application data records dropped because too many were waiting to be read.</param>
/// <param name="MessagesSent">Application data records sent.</param>
/// <param name="BytesReceived">Application data bytes decrypted.</param>
/// <param name="BytesSent">Application data bytes sent.</param>
/// <param name="RecordsDropped">
/// Records of accepted datagrams discarded at decryption: another epoch, replayed, failed authentication,
/// too long, or a malformed alert (<see cref="DtlsDropReason"/>; RFC 6347 §4.1.2.7: silently, the association lives on).
/// </param>
public readonly record struct DtlsTransportStatistics(
    long PacketsReceived,
    long PacketsDropped,
    long PacketsSent,
    long PacketsDiscarded,
    long MessagesReceived,
    long MessagesDiscarded,
    long MessagesSent,
    long BytesReceived,
    long BytesSent,
    long RecordsDropped = 0);
