using PeerNet.Sharing.Wire;

namespace PeerNet.Tests.Sharing.Wire;

public class ShareMessageTests
{
    private static readonly byte[] Cid = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    /// <summary>One valid message of every type.</summary>
    public static IEnumerable<byte[]> ValidMessages()
    {
        var b = new byte[ShareWireLimits.MaxMessageLength];
        byte[] Take(int n) => b.AsSpan(0, n).ToArray();
        yield return Take(ShareMessageWriter.WriteHello(b, Cid, ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces, 10, 64));
        yield return Take(ShareMessageWriter.WriteHello(b, Cid, ShareHelloFlags.None, ShareWireLimits.UnknownPieceCount, 1024));
        yield return Take(ShareMessageWriter.WriteBitfield(b, [0xA0, 0x80]));
        yield return Take(ShareMessageWriter.WriteHave(b, 258));
        yield return Take(ShareMessageWriter.WriteSignal(b, ShareMessageType.InfoRequest));
        yield return Take(ShareMessageWriter.WriteInfo(b, 100_000, 65_000, new byte[35_000]));
        yield return Take(ShareMessageWriter.WriteRequest(b, 7));
        yield return Take(ShareMessageWriter.WriteProof(b, 5, new byte[18 * 32]));
        yield return Take(ShareMessageWriter.WritePiece(b, 1, 32768, new byte[65_000]));
        yield return Take(ShareMessageWriter.WriteCancel(b, 262_143));
        yield return Take(ShareMessageWriter.WriteReject(b, 0));
        yield return Take(ShareMessageWriter.WriteSignal(b, ShareMessageType.Choke));
        yield return Take(ShareMessageWriter.WriteSignal(b, ShareMessageType.Unchoke));
        yield return Take(ShareMessageWriter.WriteSignal(b, ShareMessageType.Interested));
        yield return Take(ShareMessageWriter.WriteSignal(b, ShareMessageType.NotInterested));
        yield return Take(ShareMessageWriter.WriteError(b, ShareErrorCode.CorruptPiece, "piece 3 failed verification"));
    }

    public static TheoryData<byte[]> Valid() => [.. ValidMessages()];

    [Theory]
    [MemberData(nameof(Valid))]
    public void EveryMessageRoundTrips(byte[] message)
    {
        Assert.True(ShareMessage.TryParse(message, out var m, out var error), error.ToString());
        Assert.Equal(ShareWireError.None, error);
        Assert.Equal(message, Rewrite(m));
    }

    [Fact]
    public void ExactBytes()
    {
        var b = new byte[ShareWireLimits.MaxMessageLength];
        Assert.Equal(
            Convert.FromHexString("01504E53570103" + "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" + "0000000A" + "0040"),
            b.AsSpan(0, ShareMessageWriter.WriteHello(b, Cid, ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces, 10, 64)).ToArray());
        Assert.Equal(Convert.FromHexString("01504E5357010000" + "0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" + "FFFFFFFF0001"),
            b.AsSpan(0, ShareMessageWriter.WriteHello(b, Cid, ShareHelloFlags.None, ShareWireLimits.UnknownPieceCount, 1)).ToArray());
        Assert.Equal(Convert.FromHexString("0300000102"), b.AsSpan(0, ShareMessageWriter.WriteHave(b, 258)).ToArray());
        Assert.Equal(Convert.FromHexString("0600000007"), b.AsSpan(0, ShareMessageWriter.WriteRequest(b, 7)).ToArray());
        Assert.Equal(Convert.FromHexString("0900000007"), b.AsSpan(0, ShareMessageWriter.WriteCancel(b, 7)).ToArray());
        Assert.Equal(Convert.FromHexString("0A00000007"), b.AsSpan(0, ShareMessageWriter.WriteReject(b, 7)).ToArray());
        Assert.Equal(Convert.FromHexString("02A080"), b.AsSpan(0, ShareMessageWriter.WriteBitfield(b, [0xA0, 0x80])).ToArray());
        Assert.Equal(Convert.FromHexString("05000000640000000A6162"), b.AsSpan(0, ShareMessageWriter.WriteInfo(b, 100, 10, "ab"u8)).ToArray());
        Assert.Equal(Convert.FromHexString("070000000501" + new string('1', 64)),
            b.AsSpan(0, ShareMessageWriter.WriteProof(b, 5, Enumerable.Repeat((byte)0x11, 32).ToArray())).ToArray());
        Assert.Equal(Convert.FromHexString("070000000500"), b.AsSpan(0, ShareMessageWriter.WriteProof(b, 5, [])).ToArray());
        Assert.Equal(Convert.FromHexString("080000000100008000010203"), b.AsSpan(0, ShareMessageWriter.WritePiece(b, 1, 32768, [1, 2, 3])).ToArray());
        Assert.Equal(Convert.FromHexString("0F00026E6F"), b.AsSpan(0, ShareMessageWriter.WriteError(b, ShareErrorCode.WrongContent, "no")).ToArray());
        Assert.Equal(Convert.FromHexString("0B"), b.AsSpan(0, ShareMessageWriter.WriteSignal(b, ShareMessageType.Choke)).ToArray());
        Assert.Equal(Convert.FromHexString("0E"), b.AsSpan(0, ShareMessageWriter.WriteSignal(b, ShareMessageType.NotInterested)).ToArray());
    }

    [Fact]
    public void ParsedFieldsAreThoseWritten()
    {
        var m = ShareMessage.Parse(Convert.FromHexString("01504E53570103" + "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" + "0000000A" + "0040"));
        Assert.Equal(ShareMessageType.Hello, m.Type);
        Assert.Equal(ShareHelloFlags.HasInfo | ShareHelloFlags.HasAllPieces, m.Flags);
        Assert.Equal(Cid, m.ContentId.ToArray());
        Assert.Equal(10u, m.PieceCount);
        Assert.Equal(64, m.MaxRequests);

        var info = ShareMessage.Parse(Convert.FromHexString("05000000640000000A6162"));
        Assert.Equal((100u, 10u), (info.TotalLength, info.Offset));
        Assert.Equal("ab"u8.ToArray(), info.Payload.ToArray());

        var proof = ShareMessage.Parse(Convert.FromHexString("070000000501" + new string('1', 64)));
        Assert.Equal((5u, 1), (proof.Piece, proof.ProofCount));

        var error = ShareMessage.Parse(Convert.FromHexString("0F00026E6F"));
        Assert.Equal((ushort)ShareErrorCode.WrongContent, error.ErrorCode);
        Assert.Equal("no"u8.ToArray(), error.Payload.ToArray());
    }

    [Theory]
    [InlineData("", ShareWireError.Empty)]
    [InlineData("00", ShareWireError.UnknownType)]
    [InlineData("10", ShareWireError.UnknownType)]
    [InlineData("7F00000001", ShareWireError.UnknownType)]
    [InlineData("FF", ShareWireError.UnknownType)]
    [InlineData("03000001", ShareWireError.TooShort)]
    [InlineData("030000000100", ShareWireError.TooLong)]
    [InlineData("0300040000", ShareWireError.PieceOutOfRange)] // 2^18
    [InlineData("06FFFFFFFF", ShareWireError.PieceOutOfRange)]
    [InlineData("0B00", ShareWireError.TooLong)]
    [InlineData("0400", ShareWireError.TooLong)]
    [InlineData("0700000001", ShareWireError.TooShort)]
    [InlineData("070000000113", ShareWireError.BadProofCount)] // 19 hashes
    [InlineData("0700000001020000", ShareWireError.TooShort)] // says 2 hashes, has 2 bytes
    [InlineData("07000000010000", ShareWireError.TooLong)] // says 0 hashes, has 1 byte
    [InlineData("050000006400000000", ShareWireError.BadRange)] // no bytes
    [InlineData("05000000640000006400", ShareWireError.BadRange)] // beyond totalLength
    [InlineData("05000000100000000000", ShareWireError.BadInfoLength)] // shorter than any info block
    [InlineData("05FFFFFFFF0000000000", ShareWireError.BadInfoLength)]
    [InlineData("0500000064", ShareWireError.TooShort)]
    [InlineData("080000000000000000", ShareWireError.BadRange)] // empty block
    [InlineData("080000000000400010AA", ShareWireError.BadRange)] // beyond the largest sealed piece
    [InlineData("08000000000000", ShareWireError.TooShort)]
    [InlineData("0F00", ShareWireError.TooShort)]
    [InlineData("0F0001C3", ShareWireError.InvalidUtf8)]
    [InlineData("01504E5358", ShareWireError.BadMagic)]
    [InlineData("01504E535702", ShareWireError.UnsupportedVersion)]
    [InlineData("01504E535701", ShareWireError.TooShort)]
    public void HostileInputGetsTypedErrors(string hex, ShareWireError expected)
    {
        Assert.False(ShareMessage.TryParse(Convert.FromHexString(hex), out _, out var error));
        Assert.Equal(expected, error);
        var e = Assert.Throws<ShareWireException>(() => ShareMessage.Parse(Convert.FromHexString(hex)));
        Assert.Equal(expected, e.Error);
    }

    [Theory]
    [InlineData(ShareHelloFlags.HasInfo, 10u, 0, ShareWireError.BadMaxRequests)]
    [InlineData(ShareHelloFlags.HasInfo, 10u, 1025, ShareWireError.BadMaxRequests)]
    [InlineData(ShareHelloFlags.HasInfo, 262_145u, 1, ShareWireError.BadPieceCount)]
    [InlineData(ShareHelloFlags.HasAllPieces, 10u, 1, ShareWireError.BadFlags)] // every piece without the info
    [InlineData(ShareHelloFlags.None, 10u, 1, ShareWireError.BadFlags)] // a count without the info
    [InlineData(ShareHelloFlags.HasInfo, 0xFFFF_FFFFu, 1, ShareWireError.BadFlags)] // the info without a count
    public void HostileHellos(ShareHelloFlags flags, uint pieceCount, int maxRequests, ShareWireError expected)
    {
        var hello = Convert.FromHexString("01504E53570100" + new string('0', 64) + "00000000" + "0001");
        hello[6] = (byte)flags;
        hello[39] = (byte)(pieceCount >> 24);
        hello[40] = (byte)(pieceCount >> 16);
        hello[41] = (byte)(pieceCount >> 8);
        hello[42] = (byte)pieceCount;
        hello[43] = (byte)(maxRequests >> 8);
        hello[44] = (byte)maxRequests;
        Assert.False(ShareMessage.TryParse(hello, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void LimitsAreEnforcedAtTheirEdges()
    {
        var big = new byte[ShareWireLimits.MaxMessageLength + 1];
        big[0] = (byte)ShareMessageType.Piece;
        Assert.False(ShareMessage.TryParse(big, out _, out var error));
        Assert.Equal(ShareWireError.TooLong, error);

        // 65,000-byte blocks and info chunks parse; one byte more does not.
        var b = new byte[ShareWireLimits.MaxMessageLength];
        var n = ShareMessageWriter.WritePiece(b, 0, 0, new byte[65_000]);
        Assert.True(ShareMessage.TryParse(b.AsSpan(0, n), out _, out _));
        Assert.False(ShareMessage.TryParse(b.AsSpan(0, n + 1), out _, out error));
        Assert.Equal(ShareWireError.TooLong, error);
        n = ShareMessageWriter.WriteInfo(b, ShareWireLimits.MaxInfoLength, 0, new byte[65_000]);
        Assert.True(ShareMessage.TryParse(b.AsSpan(0, n), out _, out _));
        Assert.False(ShareMessage.TryParse(b.AsSpan(0, n + 1), out _, out error));
        Assert.Equal(ShareWireError.TooLong, error);

        // A 1,024-byte error text parses; 1,025 does not.
        n = ShareMessageWriter.WriteError(b, ShareErrorCode.Protocol, new string('x', 1024));
        Assert.Equal(3 + 1024, n);
        Assert.True(ShareMessage.TryParse(b.AsSpan(0, n), out _, out _));
        b[n] = (byte)'x';
        Assert.False(ShareMessage.TryParse(b.AsSpan(0, n + 1), out _, out error));
        Assert.Equal(ShareWireError.TooLong, error);

        // The longest bitfield (2^18 pieces) parses; one byte more does not.
        n = ShareMessageWriter.WriteBitfield(b, new byte[ShareWireLimits.MaxBitfieldLength]);
        Assert.True(ShareMessage.TryParse(b.AsSpan(0, n), out _, out _));
        Assert.False(ShareMessage.TryParse(b.AsSpan(0, n + 1), out _, out error));
        Assert.Equal(ShareWireError.TooLong, error);
    }

    [Fact]
    public void ErrorTextIsCutAtACharacterBoundary()
    {
        var b = new byte[ShareWireLimits.MaxMessageLength];
        var n = ShareMessageWriter.WriteError(b, ShareErrorCode.Protocol, new string('é', 600)); // 1,200 UTF-8 bytes
        Assert.Equal(3 + 1024, n);
        Assert.True(ShareMessage.TryParse(b.AsSpan(0, n), out var m, out _));
        Assert.Equal(512, System.Text.Encoding.UTF8.GetString(m.Payload).Length);
    }

    [Fact]
    public void WriterRejectsArgumentsOutsideTheProtocol()
    {
        var b = new byte[ShareWireLimits.MaxMessageLength];
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WriteHello(b, new byte[31], 0, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShareMessageWriter.WriteHello(b, Cid, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShareMessageWriter.WriteHello(b, Cid, 0, 0, 1025));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShareMessageWriter.WriteHave(b, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShareMessageWriter.WriteHave(b, 262_144));
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WriteProof(b, 0, new byte[19 * 32]));
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WriteProof(b, 0, new byte[33]));
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WritePiece(b, 0, 0, new byte[65_001]));
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WritePiece(b, 0, 0, []));
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WriteInfo(b, 100, 0, new byte[65_001]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShareMessageWriter.WriteInfo(b, 100, 99, new byte[2]));
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WriteError(b, ShareErrorCode.Protocol, new byte[1025]));
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WriteSignal(b, ShareMessageType.Have));
        Assert.Throws<ArgumentException>(() => ShareMessageWriter.WriteHave(new byte[4], 1));
    }

    [Fact]
    public void TruncatedAndExtendedMessagesGetTypedErrors()
    {
        foreach (var message in ValidMessages())
        {
            var type = (ShareMessageType)message[0];
            var variable = type is ShareMessageType.Bitfield or ShareMessageType.Error or ShareMessageType.Info or ShareMessageType.Piece;
            for (var length = 0; length < message.Length; length += length < 64 ? 1 : 997)
            {
                var ok = ShareMessage.TryParse(message.AsSpan(0, length), out _, out var error);
                if (!variable)
                {
                    Assert.False(ok, $"{type} cut to {length} bytes parsed");
                }

                Assert.True(ok || error != ShareWireError.None);
            }

            var longer = message.Concat(new byte[] { 0 }).ToArray();
            if (!variable)
            {
                Assert.False(ShareMessage.TryParse(longer, out _, out var error));
                Assert.Equal(ShareWireError.TooLong, error);
            }
        }
    }

    [Fact]
    public void RandomMutationsNeverThrowAndWhatParsesIsCanonical()
    {
        var random = new Random(20251124);
        var seeds = ValidMessages().Select(m => m.Length > 2000 ? m[..(m[0] == (byte)ShareMessageType.Proof ? m.Length : 2000)] : m).ToArray();
        var errors = new HashSet<ShareWireError>();
        var parsed = 0;
        for (var i = 0; i < 60_000; i++)
        {
            var message = Mutate(seeds[random.Next(seeds.Length)], random);
            var ok = ShareMessage.TryParse(message, out var m, out var error);
            if (ok)
            {
                parsed++;
                Assert.Equal(message, Rewrite(m));
            }
            else
            {
                Assert.NotEqual(ShareWireError.None, error);
                Assert.True(Enum.IsDefined(error));
                errors.Add(error);
            }
        }

        Assert.InRange(parsed, 1_000, 59_000);
        Assert.True(errors.Count >= 8, string.Join(",", errors));
    }

    [Fact]
    public void ParsingAndWritingDoNotAllocate()
    {
        var messages = ValidMessages().ToArray();
        var b = new byte[ShareWireLimits.MaxMessageLength];
        var block = new byte[32768];
        var hashes = new byte[18 * 32];
        long total = 0;
        void Run()
        {
            foreach (var message in messages)
            {
                if (ShareMessage.TryParse(message, out var m, out _))
                {
                    total += m.Payload.Length + m.Piece;
                }
            }

            total += ShareMessageWriter.WritePiece(b, 3, 0, block);
            total += ShareMessageWriter.WriteProof(b, 3, hashes);
            total += ShareMessageWriter.WriteHello(b, Cid, ShareHelloFlags.HasInfo, 3, 64);
            total += ShareMessageWriter.WriteHave(b, 3);
        }

        Run();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Run();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(total > 0);
    }

    internal static byte[] Mutate(byte[] message, Random random)
    {
        var m = message.ToArray();
        switch (random.Next(6))
        {
            case 0: // flip some bytes
                for (var k = random.Next(1, 4); k > 0 && m.Length > 0; k--)
                {
                    m[random.Next(m.Length)] ^= (byte)random.Next(1, 256);
                }

                return m;
            case 1: // truncate
                return m[..random.Next(m.Length + 1)];
            case 2: // extend
                var extra = new byte[random.Next(1, 40)];
                random.NextBytes(extra);
                return [.. m, .. extra];
            case 3: // another type with this body
                if (m.Length > 0)
                {
                    m[0] = (byte)random.Next(0, 18);
                }

                return m;
            case 4: // a header field set to an edge value
                if (m.Length > 5)
                {
                    var at = random.Next(1, Math.Min(m.Length - 3, 10));
                    uint[] edges = [0, 1, 0xFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 65_000, 262_144, 69];
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(at), edges[random.Next(edges.Length)]);
                }

                return m;
            default: // random bytes behind a valid type
                var r = new byte[random.Next(0, 80)];
                random.NextBytes(r);
                if (r.Length > 0)
                {
                    r[0] = m.Length > 0 ? m[0] : (byte)1;
                }

                return r;
        }
    }

    /// <summary>Writes a parsed message back with the writer: the codec is canonical, so the bytes must match.</summary>
    internal static byte[] Rewrite(ShareMessage m)
    {
        var b = new byte[ShareWireLimits.MaxMessageLength];
        var n = m.Type switch
        {
            ShareMessageType.Hello => ShareMessageWriter.WriteHello(b, m.ContentId, m.Flags, m.PieceCount, m.MaxRequests),
            ShareMessageType.Bitfield => ShareMessageWriter.WriteBitfield(b, m.Payload),
            ShareMessageType.Have => ShareMessageWriter.WriteHave(b, (int)m.Piece),
            ShareMessageType.Request => ShareMessageWriter.WriteRequest(b, (int)m.Piece),
            ShareMessageType.Cancel => ShareMessageWriter.WriteCancel(b, (int)m.Piece),
            ShareMessageType.Reject => ShareMessageWriter.WriteReject(b, (int)m.Piece),
            ShareMessageType.Info => ShareMessageWriter.WriteInfo(b, (int)m.TotalLength, (int)m.Offset, m.Payload),
            ShareMessageType.Proof => ShareMessageWriter.WriteProof(b, (int)m.Piece, m.Payload),
            ShareMessageType.Piece => ShareMessageWriter.WritePiece(b, (int)m.Piece, (int)m.Offset, m.Payload),
            ShareMessageType.Error => ShareMessageWriter.WriteError(b, (ShareErrorCode)m.ErrorCode, m.Payload),
            _ => ShareMessageWriter.WriteSignal(b, m.Type),
        };
        return b[..n];
    }
}
