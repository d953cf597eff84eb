using System.Buffers.Text;

namespace PeerNet.Sharing;

/// <summary>
/// Strict base64url without padding (RFC 4648 §5) for the 32-byte values of a link: exactly 43
/// characters of the URL-safe alphabet, and the canonical spelling only (the two spare bits of the
/// last character zero), so a CID has one text form and two links to the same content compare equal.
/// </summary>
internal static class Base64UrlText
{
    /// <summary>Characters of a 32-byte value.</summary>
    public const int Length32 = 43;

    public static bool TryDecode32(ReadOnlySpan<char> text, Span<byte> destination)
    {
        if (text.Length != Length32 || destination.Length < 32)
        {
            return false;
        }

        foreach (var c in text)
        {
            var ok = c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_';
            if (!ok)
            {
                return false;
            }
        }

        int written;
        try
        {
            if (!Base64Url.TryDecodeFromChars(text, destination, out written) || written != 32)
            {
                return false;
            }
        }
        catch (FormatException)
        {
            // It throws (rather than returning false) for a last character with spare bits set.
            return false;
        }

        // 43 characters carry 258 bits: a non-canonical last character sets the 2 spare bits.
        Span<char> again = stackalloc char[Length32];
        return Base64Url.TryEncodeToChars(destination[..32], again, out var chars) && chars == Length32 && again.SequenceEqual(text);
    }

    public static string Encode(ReadOnlySpan<byte> value) => Base64Url.EncodeToString(value);
}
