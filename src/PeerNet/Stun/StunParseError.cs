namespace PeerNet.Stun;

/// <summary>
/// Why bytes were rejected. Parsers in this namespace never throw on hostile input: they return
/// <c>false</c> with one of these.
/// </summary>
public enum StunParseError : byte
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>Shorter than the 20-byte STUN header (or the 4-byte ChannelData header).</summary>
    TooShort,

    /// <summary>The two most significant bits are not zero (RFC 8489 §5): not a STUN message.</summary>
    NotStun,

    /// <summary>The magic cookie is not 0x2112A442 (RFC 8489 §5).</summary>
    BadMagicCookie,

    /// <summary>The header length is not a multiple of 4 or does not match the bytes given.</summary>
    BadLength,

    /// <summary>An attribute's header or padded value runs past the end of the message.</summary>
    AttributeOverrun,

    /// <summary>A known attribute has a value of the wrong size or with out-of-range fields.</summary>
    BadAttributeValue,

    /// <summary>An attribute follows FINGERPRINT, which must be last (RFC 8489 §14.7).</summary>
    FingerprintNotLast,

    /// <summary>FINGERPRINT does not match the CRC-32 of the message (RFC 8489 §14.7).</summary>
    FingerprintMismatch,

    /// <summary>No MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 to verify.</summary>
    IntegrityMissing,

    /// <summary>MESSAGE-INTEGRITY(-SHA256) does not match under the given key.</summary>
    IntegrityMismatch,

    /// <summary>A ChannelData channel number outside 0x4000–0x4FFF (RFC 8656 §12).</summary>
    BadChannelNumber,
}

/// <summary>Human-readable reasons for <see cref="StunParseError"/>.</summary>
public static class StunParseErrorExtensions
{
    /// <summary>A constant, allocation-free description for logs.</summary>
    public static string Describe(this StunParseError error) => error switch
    {
        StunParseError.None => "no error",
        StunParseError.TooShort => "shorter than the header",
        StunParseError.NotStun => "the first two bits are not zero",
        StunParseError.BadMagicCookie => "wrong magic cookie",
        StunParseError.BadLength => "the length field is not a multiple of 4 or does not match the message size",
        StunParseError.AttributeOverrun => "an attribute runs past the end of the message",
        StunParseError.BadAttributeValue => "an attribute has an invalid value",
        StunParseError.FingerprintNotLast => "an attribute follows FINGERPRINT",
        StunParseError.FingerprintMismatch => "FINGERPRINT does not match",
        StunParseError.IntegrityMissing => "no MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256",
        StunParseError.IntegrityMismatch => "message integrity check failed",
        StunParseError.BadChannelNumber => "channel number outside 0x4000-0x4FFF",
        _ => "unknown error",
    };
}
