using System.Buffers.Binary;

namespace PeerNet.Stun;

/// <summary>
/// CRC-32 of ITU-T V.42 / ISO-HDLC (reflected polynomial 0xEDB88320, initial value and final XOR
/// 0xFFFFFFFF), the one RFC 8489 §14.7 names via RFC 1952 §8. Table-driven, eight bytes per step
/// ("slicing-by-8"). System.IO.Hashing has one too, but it is not a framework assembly and the
/// repository does not pin it.
/// </summary>
internal static class Crc32
{
    private const uint Polynomial = 0xEDB88320;

    // Table[k][b] is the CRC contribution of byte b followed by k zero bytes.
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var table = Table.AsSpan();
        var crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            var one = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
            var two = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = table[(7 * 256) + (int)(one & 0xFF)]
                ^ table[(6 * 256) + (int)((one >> 8) & 0xFF)]
                ^ table[(5 * 256) + (int)((one >> 16) & 0xFF)]
                ^ table[(4 * 256) + (int)(one >> 24)]
                ^ table[(3 * 256) + (int)(two & 0xFF)]
                ^ table[(2 * 256) + (int)((two >> 8) & 0xFF)]
                ^ table[256 + (int)((two >> 16) & 0xFF)]
                ^ table[(int)(two >> 24)];
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = table[(int)((crc ^ b) & 0xFF)] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (var i = 0; i < 256; i++)
        {
            var c = (uint)i;
            for (var bit = 0; bit < 8; bit++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            }

            table[i] = c;
        }

        for (var k = 1; k < 8; k++)
        {
            for (var i = 0; i < 256; i++)
            {
                var previous = table[((k - 1) * 256) + i];
                table[(k * 256) + i] = table[(int)(previous & 0xFF)] ^ (previous >> 8);
            }
        }

        return table;
    }
}
