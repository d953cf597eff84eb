namespace PeerNet.Sctp;

/// <summary>
/// Serial number arithmetic (RFC 1982) for TSNs (32 bits) and SSNs (16 bits), as RFC 9260 §1.6
/// requires: comparisons wrap around.
/// </summary>
internal static class SerialNumber
{
    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;

    public static bool Lte(uint a, uint b) => (int)(a - b) <= 0;

    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;

    public static bool Gte(uint a, uint b) => (int)(a - b) >= 0;

    public static bool Lt(ushort a, ushort b) => (short)(a - b) < 0;

    public static bool Lte(ushort a, ushort b) => (short)(a - b) <= 0;

    public static bool Gt(ushort a, ushort b) => (short)(a - b) > 0;
}
