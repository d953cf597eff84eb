using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace PeerNet.Sharing;

/// <summary>
/// An item's public info block, docs/sharing.md §3: what any peer, with or without the key, needs to
/// verify and serve it. Layout (big-endian):
/// <code>
/// 0  4  magic "PNS1"          16 4  sealedManifestLength (17 … 4 MiB + 16)
/// 4  1  version = 1           20 32 piecesRoot
/// 5  1  pieceSizeLog2 (14…22) 52 …  sealedManifest
/// 6  2  reserved, 0
/// 8  8  payloadLength (≤ 2^18 × pieceSize)
/// </code>
/// and its content id, <c>CID = node(H(0x00 || info[0..20) || sealedManifest), piecesRoot)</c>.
/// Parsing checks every range and the exact length; hostile bytes give <see cref="SharingErrorCode.BadInfo"/> only.
/// </summary>
public sealed class ContentInfo
{
    /// <summary>Bytes before the sealed manifest.</summary>
    public const int HeaderLength = 52;

    /// <summary>The format version.</summary>
    public const byte Version = 1;

    /// <summary>Shortest sealed manifest: one byte of JSON plus the tag.</summary>
    public const int MinSealedManifestLength = 1 + PieceSealer.TagLength;

    /// <summary>Longest sealed manifest: 4 MiB of JSON plus the tag.</summary>
    public const int MaxSealedManifestLength = Manifest.MaxJsonLength + PieceSealer.TagLength;

    /// <summary>Longest info block.</summary>
    public const int MaxLength = HeaderLength + MaxSealedManifestLength;

    /// <summary>The magic, "PNS1".</summary>
    public static ReadOnlySpan<byte> Magic => "PNS1"u8;

    private readonly byte[] _block;

    private ContentInfo(byte[] block, PieceLayout layout)
    {
        _block = block;
        Layout = layout;
        Id = ComputeId(block);
    }

    /// <summary>The content id this block commits to.</summary>
    public ContentId Id { get; }

    /// <summary>The piece size and payload length.</summary>
    public PieceLayout Layout { get; }

    /// <summary>Pieces of the item.</summary>
    public int PieceCount => Layout.PieceCount;

    /// <summary><c>piecesRoot</c>: the Merkle root over the sealed pieces (32 zero bytes for none).</summary>
    public ReadOnlySpan<byte> PiecesRoot => _block.AsSpan(20, MerkleTree.HashLength);

    /// <summary>The sealed manifest.</summary>
    public ReadOnlySpan<byte> SealedManifest => _block.AsSpan(HeaderLength);

    /// <summary>The whole block, as sent in <c>info</c> messages.</summary>
    public ReadOnlySpan<byte> Bytes => _block;

    /// <summary>The whole block as memory (not to be written to).</summary>
    public ReadOnlyMemory<byte> Memory => _block;

    /// <summary>Bytes in the block.</summary>
    public int Length => _block.Length;

    /// <summary>Builds the block of a sealed item.</summary>
    public static ContentInfo Create(PieceLayout layout, ReadOnlySpan<byte> piecesRoot, ReadOnlySpan<byte> sealedManifest)
    {
        if (piecesRoot.Length != MerkleTree.HashLength)
        {
            throw new ArgumentException("The pieces root has 32 bytes.", nameof(piecesRoot));
        }

        if (sealedManifest.Length is < MinSealedManifestLength or > MaxSealedManifestLength)
        {
            throw new ArgumentException("The sealed manifest is 17 bytes to 4 MiB + 16.", nameof(sealedManifest));
        }

        var block = new byte[HeaderLength + sealedManifest.Length];
        Magic.CopyTo(block);
        block[4] = Version;
        block[5] = (byte)layout.PieceSizeLog2;
        BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan(8), (ulong)layout.PayloadLength);
        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(16), (uint)sealedManifest.Length);
        piecesRoot.CopyTo(block.AsSpan(20));
        sealedManifest.CopyTo(block.AsSpan(HeaderLength));
        return new ContentInfo(block, layout);
    }

    /// <summary>Parses a block and checks it commits to <paramref name="expected"/>.</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadInfo"/>: malformed, or another content id.</exception>
    public static ContentInfo Parse(ReadOnlySpan<byte> block, ContentId expected)
    {
        var info = Parse(block);
        if (info.Id != expected)
        {
            throw new SharingException(SharingErrorCode.BadInfo, $"The info block is for {info.Id}, not {expected}.");
        }

        return info;
    }

    /// <summary>Parses a block (its content id is computed, not checked).</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadInfo"/>: a field out of range or the wrong length.</exception>
    public static ContentInfo Parse(ReadOnlySpan<byte> block) => TryParse(block, out var info, out var error)
        ? info
        : throw new SharingException(SharingErrorCode.BadInfo, $"The info block is invalid: {error}.");

    /// <summary>Parses a block; false with the reason when a field is out of range.</summary>
    public static bool TryParse(ReadOnlySpan<byte> block, [NotNullWhen(true)] out ContentInfo? info, [NotNullWhen(false)] out string? error)
    {
        info = null;
        error = Check(block, out var layout);
        if (error is not null)
        {
            return false;
        }

        info = new ContentInfo(block.ToArray(), layout);
        return true;
    }

    /// <summary>
    /// The total length a block announces in its header (for a receiver assembling it from
    /// <c>info</c> messages), or -1 when the first 20 bytes are not a plausible header.
    /// </summary>
    public static int AnnouncedLength(ReadOnlySpan<byte> header)
    {
        if (header.Length < 20 || !header[..4].SequenceEqual(Magic) || header[4] != Version)
        {
            return -1;
        }

        var sealedLength = BinaryPrimitives.ReadUInt32BigEndian(header[16..]);
        return sealedLength is < MinSealedManifestLength or > MaxSealedManifestLength ? -1 : HeaderLength + (int)sealedLength;
    }

    /// <summary>
    /// Opens and validates the manifest, and checks its sizes add up to the payload length.
    /// </summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.WrongKey"/> or <see cref="SharingErrorCode.BadManifest"/>.</exception>
    public Manifest OpenManifest(ContentKey key)
    {
        using var sealer = new PieceSealer(key);
        return OpenManifest(sealer);
    }

    /// <inheritdoc cref="OpenManifest(ContentKey)"/>
    public Manifest OpenManifest(PieceSealer sealer)
    {
        ArgumentNullException.ThrowIfNull(sealer);
        var sealedManifest = SealedManifest;
        var json = ArrayPool<byte>.Shared.Rent(sealedManifest.Length);
        try
        {
            var length = sealer.OpenManifest(sealedManifest, json);
            var manifest = Manifest.Parse(json.AsSpan(0, length));
            if (manifest.PayloadLength != Layout.PayloadLength)
            {
                throw new SharingException(SharingErrorCode.BadManifest,
                    $"The manifest's sizes add up to {manifest.PayloadLength} bytes, the info block says {Layout.PayloadLength}.");
            }

            return manifest;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json.AsSpan(0, sealedManifest.Length));
            ArrayPool<byte>.Shared.Return(json);
        }
    }

    /// <summary>The CID of a block whose fields were checked: <c>node(H(0x00 || info[0..20) || sealedManifest), piecesRoot)</c>.</summary>
    public static ContentId ComputeId(ReadOnlySpan<byte> block)
    {
        if (block.Length < HeaderLength)
        {
            throw new ArgumentException("An info block has at least 52 bytes.", nameof(block));
        }

        Span<byte> manifestLeaf = stackalloc byte[MerkleTree.HashLength];
        using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            ReadOnlySpan<byte> prefix = [0x00];
            sha.AppendData(prefix);
            sha.AppendData(block[..20]);
            sha.AppendData(block[HeaderLength..]);
            sha.GetHashAndReset(manifestLeaf);
        }

        Span<byte> id = stackalloc byte[MerkleTree.HashLength];
        MerkleTree.NodeHash(manifestLeaf, block.Slice(20, MerkleTree.HashLength), id);
        return ContentId.FromBytes(id);
    }

    private static string? Check(ReadOnlySpan<byte> block, out PieceLayout layout)
    {
        layout = default;
        if (block.Length < HeaderLength)
        {
            return $"{block.Length} bytes, shorter than the 52-byte header";
        }

        if (!block[..4].SequenceEqual(Magic))
        {
            return "no PNS1 magic";
        }

        if (block[4] != Version)
        {
            return $"version {block[4]}, not 1";
        }

        int log2 = block[5];
        if (log2 is < PieceLayout.MinPieceSizeLog2 or > PieceLayout.MaxPieceSizeLog2)
        {
            return $"pieceSizeLog2 {log2} outside 14 … 22";
        }

        if (block[6] != 0 || block[7] != 0)
        {
            return "reserved bytes not 0";
        }

        var payloadLength = BinaryPrimitives.ReadUInt64BigEndian(block[8..]);
        if (payloadLength > ((ulong)PieceLayout.MaxPieceCount << log2))
        {
            return $"payloadLength {payloadLength} needs more than 262,144 pieces";
        }

        var sealedLength = BinaryPrimitives.ReadUInt32BigEndian(block[16..]);
        if (sealedLength is < MinSealedManifestLength or > MaxSealedManifestLength)
        {
            return $"sealedManifestLength {sealedLength} outside 17 … 4 MiB + 16";
        }

        if (block.Length != HeaderLength + (long)sealedLength)
        {
            return $"{block.Length} bytes, the header says {HeaderLength + (long)sealedLength}";
        }

        if (payloadLength == 0 && block.Slice(20, MerkleTree.HashLength).ContainsAnyExcept((byte)0))
        {
            return "an empty payload with a pieces root that is not zero";
        }

        layout = new PieceLayout(log2, (long)payloadLength);
        return null;
    }
}
