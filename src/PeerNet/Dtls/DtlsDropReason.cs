namespace PeerNet.Dtls;

/// <summary>
/// Why <see cref="DtlsTransport.HandleDatagram"/> dropped a datagram before decryption, or (from
/// <see cref="WrongEpoch"/> on) one record of it at decryption.
/// </summary>
public enum DtlsDropReason : byte
{
    /// <summary>Shorter than one 13-byte DTLS record header (RFC 6347 §4.1).</summary>
    TooShort,

    /// <summary>A record's content type is not one DTLS 1.2 uses here, or its version is not a DTLS version.</summary>
    NotDtls,

    /// <summary>A record's length runs past the end of the datagram or exceeds 2^14 + 2048 (RFC 5246 §6.2.3).</summary>
    BadLength,

    /// <summary>An encrypted record too short, or not whole cipher blocks, for the negotiated cipher suite.</summary>
    BadCiphertextLength,

    /// <summary>After the handshake, a plaintext (epoch 0) alert or application data record, which only an attacker sends.</summary>
    Unprotected,

    /// <summary>Too many datagrams were waiting for the handshake.</summary>
    QueueFull,

    /// <summary>The transport is closed or failed.</summary>
    NotOpen,

    /// <summary>An encrypted record of an epoch other than the current one (RFC 6347 §4.1: discarded).</summary>
    WrongEpoch,

    /// <summary>A record already received, or older than the anti-replay window (RFC 6347 §4.1.2.6).</summary>
    Replayed,

    /// <summary>A record that failed authentication (bad_record_mac; RFC 6347 §4.1.2.7: silently discarded).</summary>
    BadRecordMac,

    /// <summary>A record whose plaintext would exceed 2^14 bytes (record_overflow, RFC 5246 §6.2.3).</summary>
    RecordOverflow,

    /// <summary>An authenticated alert record that is not one two-byte alert (RFC 5246 §7.2).</summary>
    BadAlert,
}
