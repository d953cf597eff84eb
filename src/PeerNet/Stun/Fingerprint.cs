namespace PeerNet.Stun;

/// <summary>
/// The FINGERPRINT value (RFC 8489 §14.7): CRC-32 of the message up to the attribute, with the
/// header length already counting the attribute, XORed with 0x5354554E so that a CRC-32 carried
/// by another protocol does not look like a STUN fingerprint.
/// </summary>
public static class Fingerprint
{
    /// <summary>The constant XORed into the CRC ("STUN" in ASCII).</summary>
    public const uint XorValue = 0x5354554E;

    /// <summary>The size of the whole attribute: a 4-byte header and a 4-byte value.</summary>
    public const int AttributeLength = 8;

    /// <summary>
    /// The fingerprint of <paramref name="messageBeforeFingerprint"/>: the message bytes from the
    /// header up to, not including, the FINGERPRINT attribute, whose header length field must already
    /// include the 8 bytes of FINGERPRINT.
    /// </summary>
    public static uint Compute(ReadOnlySpan<byte> messageBeforeFingerprint) => Crc32.Compute(messageBeforeFingerprint) ^ XorValue;
}
