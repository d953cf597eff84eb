using Org.BouncyCastle.Tls;

namespace PeerNet.Dtls;

/// <summary>
/// The cipher suites offered and accepted, most preferred first. WebRTC certificates are ECDSA
/// (RFC 8827 §6.5), so only ECDHE_ECDSA suites apply; Chromium offers the AEAD ones, and
/// AES_128_CBC_SHA is the RFC 7525-era suite older stacks still need.
/// </summary>
internal static class DtlsCipherSuites
{
    public static readonly int[] Offered =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    ];

    /// <summary>The IANA name of a suite, e.g. <c>TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256</c>.</summary>
    public static string Name(int cipherSuite) => cipherSuite switch
    {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        _ => $"0x{cipherSuite:X4}",
    };

    /// <summary>
    /// DTLS-SRTP protection profiles (RFC 5764 §4.1.2) offered and echoed. PeerNet carries no media,
    /// but peers such as pion fail a DTLS transport that negotiated no profile, and Chromium expects
    /// one; negotiating it costs nothing.
    /// </summary>
    public static readonly int[] SrtpProfiles =
    [
        SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM,
        SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80,
    ];
}
