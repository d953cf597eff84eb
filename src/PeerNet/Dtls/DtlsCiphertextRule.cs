using Org.BouncyCastle.Tls;

namespace PeerNet.Dtls;

/// <summary>
/// The smallest well-formed encrypted record fragment for a cipher suite. BouncyCastle treats a
/// record too short for its cipher (or not whole CBC blocks) as a fatal decode error that fails the
/// whole association, where RFC 6347 §4.1.2.7 wants invalid records silently discarded; checking
/// the length first keeps such a forged record from ever reaching it.
/// </summary>
/// <param name="MinimumLength">The shortest valid fragment.</param>
/// <param name="BlockSize">For CBC, the cipher block size the encrypted part must be a multiple of; 0 for AEAD.</param>
/// <param name="TrailingMacLength">For CBC with encrypt_then_mac (RFC 7366), the MAC after the blocks.</param>
internal readonly record struct DtlsCiphertextRule(int MinimumLength, int BlockSize = 0, int TrailingMacLength = 0)
{
    public bool Accepts(int fragmentLength) =>
        fragmentLength >= MinimumLength && (BlockSize == 0 || (fragmentLength - TrailingMacLength) % BlockSize == 0);

    /// <summary>The rule for a negotiated suite (DTLS 1.2 record protection, RFC 5246 §6.2.3).</summary>
    public static DtlsCiphertextRule For(int cipherSuite, bool encryptThenMac) => cipherSuite switch
    {
        // RFC 5288: 8-byte explicit nonce and 16-byte tag.
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 or CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => new(8 + 16),
        // RFC 7905: implicit nonce, 16-byte tag.
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => new(16),
        // RFC 5246 §6.2.3.2: explicit IV block, then MAC and padding in whole blocks (or, RFC 7366, the MAC after them).
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA => encryptThenMac
            ? new(16 + 16 + 20, BlockSize: 16, TrailingMacLength: 20)
            : new(16 + Math.Max(16, 20 + 1), BlockSize: 16),
        _ => new(16),
    };
}
