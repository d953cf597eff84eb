using Org.BouncyCastle.Tls;

namespace PeerNet.Dtls;

/// <summary>
/// The key block of a completed handshake (RFC 5246 §6.3):
/// PRF(master_secret, "key expansion", server_random + client_random), with the PRF the suite
/// negotiated (P_SHA256, or P_SHA384 for AES_256_GCM_SHA384), computed through BouncyCastle's public
/// TLS API while the master secret is still alive, i.e. from the peer's NotifyHandshakeComplete
/// (BouncyCastle clears its security parameters when the handshake call returns).
/// </summary>
internal static class DtlsKeyBlock
{
    /// <summary>The key block for <see cref="DtlsRecordProtection"/>, or null when it does not implement the suite.</summary>
    public static byte[]? Derive(TlsContext context)
    {
        SecurityParameters parameters = context.SecurityParameters;
        int length = DtlsRecordProtection.KeyBlockLength(parameters.CipherSuite);
        if (length == 0 || parameters.MasterSecret is not { } masterSecret || !masterSecret.IsAlive())
            return null;
        byte[] serverRandom = parameters.ServerRandom, clientRandom = parameters.ClientRandom;
        Span<byte> seed = stackalloc byte[serverRandom.Length + clientRandom.Length];
        serverRandom.CopyTo(seed);
        clientRandom.CopyTo(seed[serverRandom.Length..]);
        byte[] keyBlock = new byte[length];
        masterSecret.DeriveUsingPrf(parameters.PrfAlgorithm, ExporterLabel.key_expansion, seed, length).ExtractTo(keyBlock);
        return keyBlock;
    }
}
