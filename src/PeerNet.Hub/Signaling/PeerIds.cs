using System.Buffers.Text;
using System.Security.Cryptography;

namespace PeerNet.Hub.Signaling;

/// <summary>Unguessable identifiers: peer ids (128 bits) and resume tokens (256 bits), base64url.</summary>
internal static class PeerIds
{
    public static string NewPeerId() => Random(16);

    public static string NewResumeToken() => Random(32);

    private static string Random(int bytes)
    {
        Span<byte> raw = stackalloc byte[32];
        RandomNumberGenerator.Fill(raw[..bytes]);
        return Base64Url.EncodeToString(raw[..bytes]);
    }
}
