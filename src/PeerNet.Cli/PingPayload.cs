using System.Buffers.Binary;

namespace PeerNet.Cli;

/// <summary>
/// The bytes <c>peernet ping</c> sends for its throughput test: a pseudo-random stream in which the
/// byte at offset <c>o</c> depends only on the seed and <c>o</c> (SplitMix64 of the 8-byte block
/// index), so the sender can produce any part without keeping it and the echo can be checked
/// against the same offsets as it returns — a lost, duplicated, reordered or altered byte shows up
/// at its offset, which a repeated buffer or a byte count would not reveal.
/// </summary>
internal sealed class PingPayload(ulong seed)
{
    private readonly Lock _lock = new();
    private byte[] _expected = [];
    private long _verified;
    private long? _firstMismatch;

    public ulong Seed { get; } = seed;

    /// <summary>Bytes of echo checked so far (also those past a mismatch).</summary>
    public long Verified
    {
        get { lock (_lock) return _verified; }
    }

    /// <summary>The stream offset of the first echoed byte that differs from what was sent; null while all matched.</summary>
    public long? FirstMismatch
    {
        get { lock (_lock) return _firstMismatch; }
    }

    /// <summary>Writes the stream's bytes from <paramref name="offset"/> on into <paramref name="destination"/>.</summary>
    public void Fill(Span<byte> destination, long offset)
    {
        Span<byte> block = stackalloc byte[8];
        var index = offset >> 3;
        var skip = (int)(offset & 7);
        while (destination.Length > 0)
        {
            var value = Mix(Seed + ((ulong)index + 1) * Gamma);
            if (skip == 0 && destination.Length >= 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
                destination = destination[8..];
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(block, value);
                var take = Math.Min(8 - skip, destination.Length);
                block.Slice(skip, take).CopyTo(destination);
                destination = destination[take..];
                skip = 0;
            }

            index++;
        }
    }

    /// <summary>
    /// Checks the next echoed message against the stream at the offset where the previous one
    /// ended (echoes of a reliable ordered channel come back in order). Returns false once any
    /// byte so far differed.
    /// </summary>
    public bool Verify(ReadOnlySpan<byte> echoed)
    {
        lock (_lock)
        {
            if (_expected.Length < echoed.Length) _expected = new byte[echoed.Length];
            var expected = _expected.AsSpan(0, echoed.Length);
            Fill(expected, _verified);
            if (_firstMismatch is null && !echoed.SequenceEqual(expected))
            {
                var i = 0;
                while (echoed[i] == expected[i]) i++;
                _firstMismatch = _verified + i;
            }

            _verified += echoed.Length;
            return _firstMismatch is null;
        }
    }

    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    // SplitMix64's output function (Steele, Lea, Flood 2014): its n-th value is this of seed + n·gamma.
    private static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
