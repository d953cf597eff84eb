using System.Security.Cryptography;

namespace PeerNet.Sharing;

/// <summary>
/// The content key <c>K</c> of an item (docs/sharing.md §2): 32 random bytes, drawn fresh for every
/// share, from which the manifest key and the piece key are derived with HKDF-SHA256. It travels only
/// in a link's fragment; <see cref="ToString"/> never shows it, so it cannot end up in a log by accident.
/// </summary>
public sealed class ContentKey : IEquatable<ContentKey>
{
    /// <summary>Bytes of a content key.</summary>
    public const int Length = 32;

    /// <summary>Bytes of a derived key (AES-256).</summary>
    public const int DerivedKeyLength = 32;

    /// <summary>HKDF info of the manifest key (§2).</summary>
    internal static ReadOnlySpan<byte> ManifestInfo => "peernet-sharing/1 manifest"u8;

    /// <summary>HKDF info of the piece key (§2).</summary>
    internal static ReadOnlySpan<byte> PieceInfo => "peernet-sharing/1 piece"u8;

    private readonly byte[] _bytes;

    private ContentKey(byte[] bytes) => _bytes = bytes;

    /// <summary>The 32 key bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>A fresh random key from the system's cryptographic generator.</summary>
    public static ContentKey Generate() => new(RandomNumberGenerator.GetBytes(Length));

    /// <summary>A key from its 32 bytes (copied).</summary>
    /// <exception cref="ArgumentException">Not 32 bytes.</exception>
    public static ContentKey FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException("A content key has 32 bytes.", nameof(bytes));
        }

        return new ContentKey(bytes.ToArray());
    }

    /// <summary>Parses the 43-character base64url form of a link's <c>k=</c>.</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadLink"/>: wrong length or alphabet.</exception>
    public static ContentKey Parse(ReadOnlySpan<char> text)
    {
        if (!TryParse(text, out var key))
        {
            throw new SharingException(SharingErrorCode.BadLink, "The content key is not 43 characters of base64url (32 bytes).");
        }

        return key;
    }

    /// <summary>Parses the 43-character base64url form; false when it is not exactly that.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ContentKey? key)
    {
        var bytes = new byte[Length];
        if (!Base64UrlText.TryDecode32(text, bytes))
        {
            key = null;
            return false;
        }

        key = new ContentKey(bytes);
        return true;
    }

    /// <summary>The base64url form that goes after <c>#k=</c> in a link. Never log it.</summary>
    public string ToBase64Url() => Base64UrlText.Encode(_bytes);

    /// <summary>Writes the manifest key, <c>HKDF(K, "", "peernet-sharing/1 manifest", 32)</c> (§2).</summary>
    public void DeriveManifestKey(Span<byte> destination) => Derive(ManifestInfo, destination);

    /// <summary>Writes the piece key, <c>HKDF(K, "", "peernet-sharing/1 piece", 32)</c> (§2).</summary>
    public void DerivePieceKey(Span<byte> destination) => Derive(PieceInfo, destination);

    private void Derive(ReadOnlySpan<byte> info, Span<byte> destination)
    {
        if (destination.Length < DerivedKeyLength)
        {
            throw new ArgumentException("A derived key needs 32 bytes.", nameof(destination));
        }

        HKDF.DeriveKey(HashAlgorithmName.SHA256, _bytes, destination[..DerivedKeyLength], salt: default, info);
    }

    /// <inheritdoc/>
    public bool Equals(ContentKey? other) =>
        other is not null && CryptographicOperations.FixedTimeEquals(_bytes, other._bytes);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ContentKey);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 0);

    /// <summary>A placeholder that never contains the key (use <see cref="ToBase64Url"/> to format it).</summary>
    public override string ToString() => "ContentKey(redacted)";
}
