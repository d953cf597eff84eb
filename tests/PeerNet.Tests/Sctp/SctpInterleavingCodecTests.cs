using System.Buffers.Binary;
using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

/// <summary>I-DATA and I-FORWARD-TSN (RFC 8260 §2.1, §2.3.1): layout, round trips and hostile bytes.</summary>
public class SctpInterleavingCodecTests
{
    private static SctpChunk Only(byte[] chunk)
    {
        var e = new SctpChunkEnumerator(chunk);
        Assert.True(e.MoveNext());
        return e.Current;
    }

    [Fact]
    public void FirstFragmentCarriesThePpidByteForByte()
    {
        // Type 64, flags B|E, length 25; TSN 1; stream 3, reserved 0; MID 7; PPID 51; "hello" + 3 padding.
        const string expected = "40030019" + "00000001" + "00030000" + "00000007" + "00000033" + "68656c6c6f000000";
        var buffer = new byte[64];
        var n = IDataChunk.Write(buffer, DataChunk.BeginningFlag | DataChunk.EndingFlag, 1, 3, 7, 51, 99, "hello"u8);
        Assert.Equal(expected, Convert.ToHexString(buffer, 0, n).ToLowerInvariant());

        Assert.True(IDataChunk.TryRead(Only(buffer[..n]), out var chunk));
        Assert.Equal(1u, chunk.Tsn);
        Assert.Equal(3, chunk.StreamId);
        Assert.Equal(7u, chunk.MessageIdentifier);
        Assert.Equal(51u, chunk.PayloadProtocolIdentifier);
        Assert.Equal(0u, chunk.FragmentSequenceNumber); // implicitly 0 with the B bit
        Assert.True(chunk.Beginning && chunk.Ending && !chunk.Unordered);
        Assert.Equal("hello"u8.ToArray(), chunk.UserData.ToArray());
    }

    [Fact]
    public void LaterFragmentsCarryTheFsnInThePpidsPlace()
    {
        var buffer = new byte[64];
        var n = IDataChunk.Write(buffer, DataChunk.UnorderedFlag, 0xFFFFFFFF, 65535, 0xDEADBEEF, 51, 12345, [1, 2, 3, 4]);
        Assert.Equal(24, n);
        Assert.Equal(12345u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(16)));
        Assert.True(IDataChunk.TryRead(Only(buffer[..n]), out var chunk));
        Assert.Equal(0xFFFFFFFFu, chunk.Tsn);
        Assert.Equal(65535, chunk.StreamId);
        Assert.Equal(0xDEADBEEFu, chunk.MessageIdentifier);
        Assert.Equal(12345u, chunk.FragmentSequenceNumber);
        Assert.Equal(0u, chunk.PayloadProtocolIdentifier);
        Assert.True(chunk.Unordered && !chunk.Beginning && !chunk.Ending);
    }

    [Fact]
    public void ReservedBitsAreIgnored()
    {
        var buffer = new byte[64];
        var n = IDataChunk.Write(buffer, DataChunk.BeginningFlag, 5, 2, 9, 53, 0, [7]);
        buffer[1] |= 0xF0; // the four reserved flag bits
        buffer[10] = 0xFF;  // the reserved 16-bit field
        buffer[11] = 0xFF;
        Assert.True(IDataChunk.TryRead(Only(buffer[..n]), out var chunk));
        Assert.Equal(2, chunk.StreamId);
        Assert.Equal(9u, chunk.MessageIdentifier);
        Assert.True(chunk.Beginning && !chunk.Ending);
    }

    [Fact]
    public void TruncatedIDataIsRejected()
    {
        var buffer = new byte[64];
        IDataChunk.Write(buffer, 3, 1, 1, 1, 1, 0, [1]);
        for (var length = 4; length < IDataChunk.HeaderLength; length++)
        {
            var chunk = buffer[..length];
            BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)length);
            Assert.False(IDataChunk.TryRead(Only(chunk), out _), $"length {length}");
        }

        // 20 bytes: a header and no user data parses (the association answers it with ABORT, No User Data).
        var empty = buffer[..20];
        BinaryPrimitives.WriteUInt16BigEndian(empty.AsSpan(2), 20);
        Assert.True(IDataChunk.TryRead(Only(empty), out var none));
        Assert.True(none.UserData.IsEmpty);
    }

    [Fact]
    public void IForwardTsnRoundTripsWithTheUBit()
    {
        SctpIForwardTsnStream[] entries = [new(1, false, 5), new(1, true, 0xFFFFFFFF), new(65535, true, 0)];
        var buffer = new byte[IForwardTsnChunk.GetLength(entries.Length)];
        var n = IForwardTsnChunk.Write(buffer, 0x01020304, entries);
        Assert.Equal(32, n);
        Assert.Equal("c2000020" + "01020304" + "00010000" + "00000005" + "00010001" + "ffffffff" + "ffff0001" + "00000000", Convert.ToHexString(buffer).ToLowerInvariant());
        Assert.True(IForwardTsnChunk.TryRead(Only(buffer), out var chunk));
        Assert.Equal(0x01020304u, chunk.NewCumulativeTsn);
        var read = new SctpIForwardTsnStream[chunk.StreamCount];
        for (var i = 0; i < read.Length; i++)
        {
            read[i] = chunk.GetStream(i);
        }

        Assert.Equal(entries, read);
    }

    [Fact]
    public void IForwardTsnReservedBitsAreIgnoredAndLyingLengthsRejected()
    {
        var buffer = new byte[16];
        IForwardTsnChunk.Write(buffer, 9, [new SctpIForwardTsnStream(4, false, 2)]);
        buffer[10] = 0xFF;
        buffer[11] = 0xFE; // reserved bits set, U clear
        Assert.True(IForwardTsnChunk.TryRead(Only(buffer), out var chunk));
        Assert.Equal(new SctpIForwardTsnStream(4, false, 2), chunk.GetStream(0));

        foreach (var length in new[] { 4, 7, 9, 12, 15 })
        {
            var bad = new byte[16];
            IForwardTsnChunk.Write(bad, 9, [new SctpIForwardTsnStream(4, true, 2)]);
            BinaryPrimitives.WriteUInt16BigEndian(bad.AsSpan(2), (ushort)length);
            Assert.False(IForwardTsnChunk.TryRead(Only(bad[..length]), out _), $"length {length}");
        }
    }

    [Fact]
    public void RandomMutationsNeverThrow()
    {
        var rng = new Random(8260);
        var idata = new byte[64];
        var n = IDataChunk.Write(idata, 2, 77, 3, 4, 51, 0, "0123456789abcdef"u8);
        idata = idata[..n];
        var iforward = new byte[IForwardTsnChunk.GetLength(3)];
        IForwardTsnChunk.Write(iforward, 1, [new(1, false, 1), new(2, true, 2), new(3, false, 3)]);
        var parsed = 0;
        for (var round = 0; round < 20_000; round++)
        {
            var original = round % 2 == 0 ? idata : iforward;
            var bytes = (byte[])original.Clone();
            for (var k = rng.Next(1, 5); k > 0; k--)
            {
                bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            }

            if (rng.Next(4) == 0)
            {
                bytes = bytes[..rng.Next(0, bytes.Length + 1)];
            }

            foreach (var chunk in new SctpChunkEnumerator(bytes))
            {
                if (IDataChunk.TryRead(chunk, out var d))
                {
                    parsed++;
                    Assert.True(d.UserData.Length == chunk.Raw.Length - IDataChunk.HeaderLength);
                    Assert.True(d.Beginning ? d.FragmentSequenceNumber == 0 : d.PayloadProtocolIdentifier == 0);
                }

                if (IForwardTsnChunk.TryRead(chunk, out var f))
                {
                    parsed++;
                    for (var i = 0; i < f.StreamCount; i++)
                    {
                        _ = f.GetStream(i);
                    }
                }
            }
        }

        Assert.True(parsed > 5_000, $"{parsed} parsed");
    }
}
