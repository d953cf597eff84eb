using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PeerNet.Dtls;

/// <summary>
/// AEAD protection of the DTLS 1.2 records of one epoch with the BCL's <see cref="AesGcm"/> or
/// <see cref="ChaCha20Poly1305"/>: encrypts into a caller's span, decrypts into a caller's span, and
/// keeps the write sequence number and the anti-replay window. Allocates nothing per record.
/// </summary>
/// <remarks>
/// <para>
/// The per-record sequence number of RFC 5246 is, in DTLS, the 16-bit epoch followed by the 48-bit
/// record sequence number (RFC 6347 §4.1.2.1); it goes into the additional data, which is
/// seq_num + type + version + plaintext length (RFC 5246 §6.2.3.3).
/// </para>
/// <para>
/// AES-GCM (RFC 5288 §3): the nonce is the 4-byte implicit salt (client_write_IV or server_write_IV)
/// followed by an 8-byte explicit nonce carried in front of the ciphertext. We use the record's own
/// epoch and sequence number as the explicit nonce, which RFC 5288 allows and which makes nonces unique
/// as long as sequence numbers are; a received record's explicit nonce is taken as sent, whatever it is.
/// ChaCha20-Poly1305 (RFC 7905 §2): no explicit nonce; the nonce is the 12-byte write IV XORed with the
/// 64-bit sequence number padded on the left to 12 bytes. Both use a 16-byte tag.
/// </para>
/// </remarks>
internal sealed class DtlsRecordProtection : IDisposable
{
    /// <summary>The authentication tag of every suite here.</summary>
    public const int TagLength = 16;

    /// <summary>The largest plaintext of a record (RFC 5246 §6.2.1).</summary>
    public const int MaxPlaintextLength = 1 << 14;

    private const int NonceLength = 12;
    private const int GcmSaltLength = 4;
    private const int GcmExplicitNonceLength = 8;
    private const int AdditionalDataLength = 13;

    private readonly AesGcm? _aesWrite, _aesRead;
    private readonly ChaCha20Poly1305? _chachaWrite, _chachaRead;
    private readonly byte[] _writeIv, _readIv;
    private readonly int _explicitNonceLength;
    private ulong _nextWriteSequence;
    private DtlsReplayWindow _replayWindow;
    private bool _disposed;

    /// <summary>Creates the protection of one epoch from the key block (RFC 5246 §6.3).</summary>
    /// <param name="cipherSuite">The negotiated suite; <see cref="IsSupported"/> must hold.</param>
    /// <param name="isServer">Whether we are the server: it writes with the server keys and reads with the client's.</param>
    /// <param name="keyBlock">PRF(master_secret, "key expansion", server_random + client_random), <see cref="KeyBlockLength"/> bytes.</param>
    /// <param name="epoch">The epoch these keys protect (1 after the first handshake).</param>
    /// <param name="firstWriteSequence">The sequence number of our first record in this epoch.</param>
    public DtlsRecordProtection(int cipherSuite, bool isServer, ReadOnlySpan<byte> keyBlock, ushort epoch, ulong firstWriteSequence)
    {
        if (!TryGetParameters(cipherSuite, out int keyLength, out int ivLength, out bool chacha))
            throw new ArgumentOutOfRangeException(nameof(cipherSuite), cipherSuite, "Not an AEAD suite this record layer implements.");
        if (keyBlock.Length != 2 * keyLength + 2 * ivLength)
            throw new ArgumentException($"The key block of {DtlsCipherSuites.Name(cipherSuite)} has {2 * keyLength + 2 * ivLength} bytes, not {keyBlock.Length}.", nameof(keyBlock));
        if (firstWriteSequence > DtlsRecordHeader.MaxSequenceNumber)
            throw new ArgumentOutOfRangeException(nameof(firstWriteSequence));

        // RFC 5246 §6.3: the MAC keys are empty for AEAD suites, so the block is
        // client_write_key, server_write_key, client_write_IV, server_write_IV.
        ReadOnlySpan<byte> clientKey = keyBlock[..keyLength];
        ReadOnlySpan<byte> serverKey = keyBlock.Slice(keyLength, keyLength);
        ReadOnlySpan<byte> clientIv = keyBlock.Slice(2 * keyLength, ivLength);
        ReadOnlySpan<byte> serverIv = keyBlock.Slice(2 * keyLength + ivLength, ivLength);
        ReadOnlySpan<byte> writeKey = isServer ? serverKey : clientKey;
        ReadOnlySpan<byte> readKey = isServer ? clientKey : serverKey;
        _writeIv = (isServer ? serverIv : clientIv).ToArray();
        _readIv = (isServer ? clientIv : serverIv).ToArray();
        if (chacha)
        {
            _chachaWrite = new ChaCha20Poly1305(writeKey);
            _chachaRead = new ChaCha20Poly1305(readKey);
        }
        else
        {
            _aesWrite = new AesGcm(writeKey, TagLength);
            _aesRead = new AesGcm(readKey, TagLength);
            _explicitNonceLength = GcmExplicitNonceLength;
        }
        CipherSuite = cipherSuite;
        Epoch = epoch;
        _nextWriteSequence = firstWriteSequence;
    }

    /// <summary>The suite.</summary>
    public int CipherSuite { get; }

    /// <summary>The epoch whose records this protects.</summary>
    public ushort Epoch { get; }

    /// <summary>The sequence number our next record gets.</summary>
    public ulong NextWriteSequence => _nextWriteSequence;

    /// <summary>What a record adds to its plaintext besides the header: explicit nonce and tag.</summary>
    public int Overhead => _explicitNonceLength + TagLength;

    /// <summary>Whether this record layer implements the suite on this platform.</summary>
    public static bool IsSupported(int cipherSuite) =>
        TryGetParameters(cipherSuite, out _, out _, out bool chacha) && (chacha ? ChaCha20Poly1305.IsSupported : AesGcm.IsSupported);

    /// <summary>The key block length the suite needs (RFC 5246 §6.3), or 0 when <see cref="IsSupported"/> does not hold.</summary>
    public static int KeyBlockLength(int cipherSuite) =>
        IsSupported(cipherSuite) && TryGetParameters(cipherSuite, out int key, out int iv, out _) ? 2 * key + 2 * iv : 0;

    private static bool TryGetParameters(int cipherSuite, out int keyLength, out int ivLength, out bool chacha)
    {
        (keyLength, ivLength, chacha) = cipherSuite switch
        {
            // RFC 5288 §3 / RFC 5289 §3.2: fixed_iv_length 4 (the salt).
            Org.BouncyCastle.Tls.CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => (16, GcmSaltLength, false),
            Org.BouncyCastle.Tls.CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => (32, GcmSaltLength, false),
            // RFC 7905 §2: fixed_iv_length 12.
            Org.BouncyCastle.Tls.CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => (32, NonceLength, true),
            _ => (0, 0, false),
        };
        return keyLength > 0;
    }

    /// <summary>
    /// Writes one protected record (header, explicit nonce, ciphertext, tag) into <paramref name="destination"/>
    /// and returns its length, <see cref="DtlsRecordHeader.Length"/> + <see cref="Overhead"/> + the plaintext length.
    /// </summary>
    /// <exception cref="ArgumentException">Plaintext over 2^14 bytes, or the destination too small.</exception>
    /// <exception cref="InvalidOperationException">The epoch's sequence numbers are used up (RFC 6347 §4.1: never wrap).</exception>
    public int Protect(byte contentType, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (plaintext.Length > MaxPlaintextLength)
            throw new ArgumentException($"A record carries at most {MaxPlaintextLength} bytes; got {plaintext.Length}.", nameof(plaintext));
        int fragmentLength = _explicitNonceLength + plaintext.Length + TagLength;
        int recordLength = DtlsRecordHeader.Length + fragmentLength;
        if (destination.Length < recordLength)
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the record needs {recordLength}.", nameof(destination));
        if (_nextWriteSequence > DtlsRecordHeader.MaxSequenceNumber)
            throw new InvalidOperationException("The epoch's 48-bit sequence numbers are used up.");

        ulong sequence = _nextWriteSequence++;
        DtlsRecordHeader.Write(destination, contentType, Epoch, sequence, fragmentLength);
        Span<byte> header = destination[..DtlsRecordHeader.Length];
        Span<byte> additionalData = stackalloc byte[AdditionalDataLength];
        WriteAdditionalData(additionalData, header, plaintext.Length);
        Span<byte> nonce = stackalloc byte[NonceLength];
        Span<byte> fragment = destination.Slice(DtlsRecordHeader.Length, fragmentLength);
        Span<byte> ciphertext = fragment.Slice(_explicitNonceLength, plaintext.Length);
        Span<byte> tag = fragment.Slice(_explicitNonceLength + plaintext.Length, TagLength);
        if (_aesWrite is not null)
        {
            // The explicit nonce is seq_num, i.e. the header's epoch and sequence number.
            header.Slice(3, GcmExplicitNonceLength).CopyTo(fragment);
            MakeGcmNonce(nonce, _writeIv, fragment[..GcmExplicitNonceLength]);
            _aesWrite.Encrypt(nonce, plaintext, ciphertext, tag, additionalData);
        }
        else
        {
            MakeChaChaNonce(nonce, _writeIv, header.Slice(3, 8));
            _chachaWrite!.Encrypt(nonce, plaintext, ciphertext, tag, additionalData);
        }
        return recordLength;
    }

    /// <summary>
    /// Authenticates and decrypts one record (header included, exactly as long as its header says) into
    /// <paramref name="plaintext"/>, and marks its sequence number as seen. False, with the reason, for a
    /// record of another epoch, a replay, a bad length or a failed authentication; nothing changes then.
    /// </summary>
    /// <param name="record">The record; its content type is <c>record[0]</c>.</param>
    /// <param name="plaintext">Where the plaintext goes; <see cref="MaxPlaintextLength"/> bytes always suffice.</param>
    /// <param name="plaintextLength">The plaintext's length.</param>
    /// <param name="reason">Why the record was refused.</param>
    public bool TryUnprotect(ReadOnlySpan<byte> record, Span<byte> plaintext, out int plaintextLength, out DtlsDropReason reason)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        plaintextLength = 0;
        if (record.Length < DtlsRecordHeader.Length || DtlsRecordHeader.FragmentLength(record) != record.Length - DtlsRecordHeader.Length)
        {
            reason = DtlsDropReason.BadLength;
            return false;
        }
        if (DtlsRecordHeader.Epoch(record) != Epoch)
        {
            reason = DtlsDropReason.WrongEpoch;
            return false;
        }
        ReadOnlySpan<byte> fragment = record[DtlsRecordHeader.Length..];
        if (fragment.Length < Overhead)
        {
            reason = DtlsDropReason.BadCiphertextLength;
            return false;
        }
        int length = fragment.Length - Overhead;
        if (length > MaxPlaintextLength)
        {
            // RFC 5246 §6.2.3: a fragment decrypting to more than 2^14 bytes is a record_overflow.
            reason = DtlsDropReason.RecordOverflow;
            return false;
        }
        ulong sequence = DtlsRecordHeader.SequenceNumber(record);
        if (!_replayWindow.IsFresh(sequence))
        {
            reason = DtlsDropReason.Replayed;
            return false;
        }
        if (plaintext.Length < length)
            throw new ArgumentException($"The plaintext buffer holds {plaintext.Length} bytes; the record has {length}.", nameof(plaintext));

        ReadOnlySpan<byte> header = record[..DtlsRecordHeader.Length];
        Span<byte> additionalData = stackalloc byte[AdditionalDataLength];
        WriteAdditionalData(additionalData, header, length);
        Span<byte> nonce = stackalloc byte[NonceLength];
        ReadOnlySpan<byte> ciphertext = fragment.Slice(_explicitNonceLength, length);
        ReadOnlySpan<byte> tag = fragment.Slice(_explicitNonceLength + length, TagLength);
        Span<byte> output = plaintext[..length];
        try
        {
            if (_aesRead is not null)
            {
                MakeGcmNonce(nonce, _readIv, fragment[..GcmExplicitNonceLength]);
                _aesRead.Decrypt(nonce, ciphertext, tag, output, additionalData);
            }
            else
            {
                MakeChaChaNonce(nonce, _readIv, header.Slice(3, 8));
                _chachaRead!.Decrypt(nonce, ciphertext, tag, output, additionalData);
            }
        }
        catch (CryptographicException)
        {
            // RFC 6347 §4.1.2.7: a record that fails authentication is silently discarded.
            reason = DtlsDropReason.BadRecordMac;
            return false;
        }
        _replayWindow.Accept(sequence);
        plaintextLength = length;
        reason = default;
        return true;
    }

    // RFC 5246 §6.2.3.3: additional_data = seq_num + TLSCompressed.type + TLSCompressed.version + TLSCompressed.length,
    // where seq_num is the DTLS epoch + sequence number (RFC 6347 §4.1.2.1) and the length is the plaintext's.
    private static void WriteAdditionalData(Span<byte> additionalData, ReadOnlySpan<byte> header, int plaintextLength)
    {
        header.Slice(3, 8).CopyTo(additionalData);
        additionalData[8] = header[0];
        additionalData[9] = header[1];
        additionalData[10] = header[2];
        BinaryPrimitives.WriteUInt16BigEndian(additionalData[11..], (ushort)plaintextLength);
    }

    // RFC 5288 §3: salt (the 4-byte write IV) followed by the 8-byte explicit nonce.
    private static void MakeGcmNonce(Span<byte> nonce, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> explicitNonce)
    {
        salt.CopyTo(nonce);
        explicitNonce.CopyTo(nonce[GcmSaltLength..]);
    }

    // RFC 7905 §2: the 64-bit sequence number, left-padded with zeros to 12 bytes, XORed with the 12-byte write IV.
    private static void MakeChaChaNonce(Span<byte> nonce, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> sequenceNumber)
    {
        iv.CopyTo(nonce);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= sequenceNumber[i];
    }

    /// <summary>Releases the ciphers and wipes the IVs.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _aesWrite?.Dispose();
        _aesRead?.Dispose();
        _chachaWrite?.Dispose();
        _chachaRead?.Dispose();
        CryptographicOperations.ZeroMemory(_writeIv);
        CryptographicOperations.ZeroMemory(_readIv);
    }
}
