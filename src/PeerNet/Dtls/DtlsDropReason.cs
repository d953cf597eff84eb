namespace PeerNet.Dtls;

/// <summary>Why <see cref="DtlsTransport.HandleDatagram"/> dropped a datagram before decryption.</summary>
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
}
