namespace PeerNet.Stun;

/// <summary>
/// The 14-bit message type field: method and class bits interleaved as RFC 8489 §5 (Figure 3) draws
/// them — M11..M7, C1, M6..M4, C0, M3..M0 — so that the class can be read without knowing the method.
/// </summary>
public static class StunMessageType
{
    /// <summary>The largest method a message type can carry (12 bits).</summary>
    public const ushort MaxMethod = 0x0FFF;

    /// <summary>Combines a method and a class into a message type.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The method does not fit in 12 bits.</exception>
    public static ushort Encode(StunMethod method, StunClass messageClass)
    {
        var m = (ushort)method;
        if (m > MaxMethod)
        {
            throw new ArgumentOutOfRangeException(nameof(method), "A STUN method has 12 bits.");
        }

        var c = (int)messageClass & 0b11;
        return (ushort)((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 0b01) << 4) | ((c & 0b10) << 7));
    }

    /// <summary>The method of a message type (unknown methods are returned as their number).</summary>
    public static StunMethod GetMethod(ushort messageType) =>
        (StunMethod)((messageType & 0x000F) | ((messageType >> 1) & 0x0070) | ((messageType >> 2) & 0x0F80));

    /// <summary>The class of a message type.</summary>
    public static StunClass GetClass(ushort messageType) =>
        (StunClass)(((messageType >> 4) & 0b01) | ((messageType >> 7) & 0b10));
}
