using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerNet.Sharing;

/// <summary>
/// Seals and opens an item's pieces and manifest with AES-256-GCM, docs/sharing.md §2: keys derived
/// from the content key, 16-byte tag appended, no additional data, nonces derived (12 zero bytes for
/// the manifest, <c>0x00000000 || uint64(i)</c> for piece <c>i</c>), into caller-supplied spans with
/// no allocation. Not thread-safe (one per thread, or a lock).
/// </summary>
public sealed class PieceSealer : IDisposable
{
    /// <summary>Bytes of the AES-GCM tag appended to every sealed piece and to the sealed manifest.</summary>
    public const int TagLength = 16;

    /// <summary>Bytes of a nonce.</summary>
    public const int NonceLength = 12;

    private readonly AesGcm _manifest;
    private readonly AesGcm _pieces;

    /// <summary>A sealer for the item sealed under <paramref name="key"/>.</summary>
    public PieceSealer(ContentKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Span<byte> derived = stackalloc byte[ContentKey.DerivedKeyLength];
        try
        {
            key.DeriveManifestKey(derived);
            _manifest = new AesGcm(derived, TagLength);
            key.DerivePieceKey(derived);
            _pieces = new AesGcm(derived, TagLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(derived);
        }
    }

    /// <summary>Writes the nonce of piece <paramref name="index"/>: <c>0x00000000 || uint64(index)</c>.</summary>
    public static void PieceNonce(long index, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        BinaryPrimitives.WriteUInt32BigEndian(destination, 0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[4..], (ulong)index);
    }

    /// <summary>
    /// Seals piece <paramref name="index"/>: writes <c>plaintext.Length + 16</c> bytes (ciphertext,
    /// then tag) to <paramref name="sealedPiece"/> and returns that length.
    /// </summary>
    public int SealPiece(int index, ReadOnlySpan<byte> plaintext, Span<byte> sealedPiece)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        PieceNonce(index, nonce);
        return Seal(_pieces, nonce, plaintext, sealedPiece);
    }

    /// <summary>
    /// Opens sealed piece <paramref name="index"/> into <paramref name="plaintext"/> (its length minus
    /// 16 bytes) and returns the plaintext length; false when it does not open (wrong index, wrong key
    /// or altered bytes) or is shorter than a tag. Nothing is thrown for bad bytes.
    /// </summary>
    public bool TryOpenPiece(int index, ReadOnlySpan<byte> sealedPiece, Span<byte> plaintext, out int written)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        if (index < 0)
        {
            written = 0;
            return false;
        }

        PieceNonce(index, nonce);
        return TryOpen(_pieces, nonce, sealedPiece, plaintext, out written);
    }

    /// <summary>
    /// Opens sealed piece <paramref name="index"/>. A piece that passed its proof but does not open was
    /// sealed by someone who made this content with a different piece key, so it is corrupt content.
    /// </summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.CorruptPiece"/>: it does not open.</exception>
    public int OpenPiece(int index, ReadOnlySpan<byte> sealedPiece, Span<byte> plaintext) =>
        TryOpenPiece(index, sealedPiece, plaintext, out var written)
            ? written
            : throw new SharingException(SharingErrorCode.CorruptPiece, $"Piece {index} does not open with this key.");

    /// <summary>Seals the manifest JSON under the manifest key and 12 zero bytes; returns its length + 16.</summary>
    public int SealManifest(ReadOnlySpan<byte> manifestJson, Span<byte> sealedManifest)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        nonce.Clear();
        return Seal(_manifest, nonce, manifestJson, sealedManifest);
    }

    /// <summary>Opens the sealed manifest; false when it does not open.</summary>
    public bool TryOpenManifest(ReadOnlySpan<byte> sealedManifest, Span<byte> manifestJson, out int written)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        nonce.Clear();
        return TryOpen(_manifest, nonce, sealedManifest, manifestJson, out written);
    }

    /// <summary>
    /// Opens the sealed manifest. The info block it came in was checked against the CID, so a
    /// manifest that does not open means the key is not this content's.
    /// </summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.WrongKey"/>: it does not open.</exception>
    public int OpenManifest(ReadOnlySpan<byte> sealedManifest, Span<byte> manifestJson) =>
        TryOpenManifest(sealedManifest, manifestJson, out var written)
            ? written
            : throw new SharingException(SharingErrorCode.WrongKey, "The link's key does not open this content: the key is wrong.");

    private static int Seal(AesGcm aes, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var length = plaintext.Length + TagLength;
        if (destination.Length < length)
        {
            throw new ArgumentException($"Sealing {plaintext.Length} bytes needs {length} bytes of room.", nameof(destination));
        }

        aes.Encrypt(nonce, plaintext, destination[..plaintext.Length], destination.Slice(plaintext.Length, TagLength));
        return length;
    }

    private static bool TryOpen(AesGcm aes, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedBytes, Span<byte> destination, out int written)
    {
        written = 0;
        if (sealedBytes.Length < TagLength)
        {
            return false;
        }

        var length = sealedBytes.Length - TagLength;
        if (destination.Length < length)
        {
            throw new ArgumentException($"Opening needs {length} bytes of room.", nameof(destination));
        }

        try
        {
            aes.Decrypt(nonce, sealedBytes[..length], sealedBytes[length..], destination[..length]);
        }
        catch (AuthenticationTagMismatchException)
        {
            // AesGcm clears the destination on failure: nothing unauthenticated leaks.
            return false;
        }

        written = length;
        return true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _manifest.Dispose();
        _pieces.Dispose();
    }
}
