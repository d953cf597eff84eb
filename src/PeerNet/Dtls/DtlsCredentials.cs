using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace PeerNet.Dtls;

/// <summary>Our certificate and ECDSA signer for the handshake, shared by the client and server peers.</summary>
internal static class DtlsCredentials
{
    // P-256 keys pair with SHA-256 (RFC 8422 §5.1.2 / RFC 8446 ecdsa_secp256r1_sha256); others only if the peer allows nothing better.
    private static readonly short[] HashPreference = [HashAlgorithm.sha256, HashAlgorithm.sha384, HashAlgorithm.sha512, HashAlgorithm.sha1];

    /// <summary>
    /// A signer for <paramref name="certificate"/> using an ECDSA signature algorithm the peer accepts,
    /// or null when it accepts none.
    /// </summary>
    public static TlsCredentialedSigner? CreateSigner(TlsContext context, BcTlsCrypto crypto, RtcCertificate certificate, IList<SignatureAndHashAlgorithm>? peerAlgorithms)
    {
        SignatureAndHashAlgorithm? algorithm = ChooseEcdsa(peerAlgorithms);
        if (algorithm is null)
            return null;
        var chain = new Certificate([crypto.CreateCertificate(certificate.CertificateDer.ToArray())]);
        return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, certificate.PrivateKey, chain, algorithm);
    }

    private static SignatureAndHashAlgorithm? ChooseEcdsa(IList<SignatureAndHashAlgorithm>? peerAlgorithms)
    {
        // RFC 5246 §7.4.1.4.1: a peer that sends no signature_algorithms accepts {sha1, ecdsa}.
        if (peerAlgorithms is null)
            return SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha1, SignatureAlgorithm.ecdsa);
        foreach (short hash in HashPreference)
        {
            foreach (SignatureAndHashAlgorithm offered in peerAlgorithms)
            {
                if (offered.Signature == SignatureAlgorithm.ecdsa && offered.Hash == hash)
                    return offered;
            }
        }
        return null;
    }
}
