using System.Buffers.Binary;
using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

public class SctpCodecTests
{
    // Packets serialized by aiortc 1.4 (an independent implementation), checksums included.
    private const string AiortcInit = "138813880000000006a0e0cf0100001ea1b2c3d400020000ffffffff01020304c00000048008000682c00000";
    private const string AiortcData = "1388138811223344e65167cd00030015fffffffe000300070000003368656c6c6f000000";
    private const string AiortcSack = "1388138811223344587501e10300001c000003e800010000000200010002000300050005000003e7";
    private const string AiortcForwardTsn = "13881388112233444b36b096c0000010000007d00001000a00020014";
    private const string AiortcReConfig = "138813881122334420317a1182000018000d001400000005000000040000006300010003";

    private static SctpChunk SingleChunk(byte[] packet)
    {
        Assert.True(SctpPacket.TryReadHeader(packet, out _, out var reason), reason.ToString());
        var e = SctpPacket.EnumerateChunks(packet);
        Assert.True(e.MoveNext());
        var chunk = e.Current;
        Assert.False(e.MoveNext());
        Assert.Equal(SctpDropReason.None, e.Error);
        return chunk;
    }

    private static byte[] Packet(uint tag, Func<Span<byte>, int> writeChunks)
    {
        var buffer = new byte[1500];
        SctpPacket.WriteHeader(buffer, 5000, 5000, tag);
        var length = SctpPacket.HeaderLength + writeChunks(buffer.AsSpan(SctpPacket.HeaderLength));
        SctpPacket.Seal(buffer.AsSpan(0, length));
        return buffer[..length];
    }

    [Fact]
    public void Crc32cCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32c.Compute("123456789"u8));
        Assert.Equal(0u, Crc32c.Compute([]));
        var big = new byte[1000];
        new Random(1).NextBytes(big);
        var split = ~Crc32c.Append(Crc32c.Append(0xFFFFFFFF, big.AsSpan(0, 333)), big.AsSpan(333));
        Assert.Equal(Crc32c.Compute(big), split);
    }

    [Fact]
    public void InitMatchesAiortcByteForByte()
    {
        var packet = Convert.FromHexString(AiortcInit);
        var init = SingleChunk(packet);
        Assert.True(InitChunk.TryRead(init, out var chunk));
        Assert.False(chunk.IsAck);
        Assert.Equal(0xA1B2C3D4u, chunk.InitiateTag);
        Assert.Equal(131072u, chunk.AdvertisedReceiverWindowCredit);
        Assert.Equal(65535, chunk.OutboundStreams);
        Assert.Equal(65535, chunk.InboundStreams);
        Assert.Equal(0x01020304u, chunk.InitialTsn);

        var written = Packet(0, dest =>
        {
            var p = new SctpParameterBuilder(dest[InitChunk.HeaderLength..]);
            p.Add(SctpParameterType.ForwardTsnSupported, default);
            p.Add(SctpParameterType.SupportedExtensions, [0x82, 0xC0]);
            return InitChunk.Write(dest, false, 0xA1B2C3D4, 131072, 65535, 65535, 0x01020304, p.UnpaddedLength);
        });
        Assert.Equal(AiortcInit, Convert.ToHexString(written).ToLowerInvariant());
    }

    [Fact]
    public void DataMatchesAiortc()
    {
        var packet = Convert.FromHexString(AiortcData);
        Assert.True(DataChunk.TryRead(SingleChunk(packet), out var data));
        Assert.Equal(0xFFFFFFFEu, data.Tsn);
        Assert.Equal(3, data.StreamId);
        Assert.Equal(7, data.StreamSequenceNumber);
        Assert.Equal(51u, data.PayloadProtocolIdentifier);
        Assert.True(data.Beginning && data.Ending && !data.Unordered);
        Assert.Equal("hello"u8.ToArray(), data.UserData.ToArray());
        var written = Packet(0x11223344, d => DataChunk.Write(d, DataChunk.BeginningFlag | DataChunk.EndingFlag, 0xFFFFFFFE, 3, 7, 51, "hello"u8));
        Assert.Equal(AiortcData, Convert.ToHexString(written).ToLowerInvariant());
    }

    [Fact]
    public void SackMatchesAiortc()
    {
        var packet = Convert.FromHexString(AiortcSack);
        Assert.True(SackChunk.TryRead(SingleChunk(packet), out var sack));
        Assert.Equal(1000u, sack.CumulativeTsnAck);
        Assert.Equal(65536u, sack.AdvertisedReceiverWindowCredit);
        Assert.Equal(2, sack.GapAckBlockCount);
        Assert.Equal(new SctpGapAckBlock(2, 3), sack.GetGapAckBlock(0));
        Assert.Equal(new SctpGapAckBlock(5, 5), sack.GetGapAckBlock(1));
        Assert.Equal(1, sack.DuplicateTsnCount);
        Assert.Equal(999u, sack.GetDuplicateTsn(0));
        var written = Packet(0x11223344, d => SackChunk.Write(d, 1000, 65536, [new(2, 3), new(5, 5)], [999u]));
        Assert.Equal(AiortcSack, Convert.ToHexString(written).ToLowerInvariant());
    }

    [Fact]
    public void ForwardTsnMatchesAiortc()
    {
        var packet = Convert.FromHexString(AiortcForwardTsn);
        Assert.True(ForwardTsnChunk.TryRead(SingleChunk(packet), out var f));
        Assert.Equal(2000u, f.NewCumulativeTsn);
        Assert.Equal(2, f.StreamCount);
        Assert.Equal(new SctpForwardTsnStream(2, 20), f.GetStream(1));
        var written = Packet(0x11223344, d => ForwardTsnChunk.Write(d, 2000, [new(1, 10), new(2, 20)]));
        Assert.Equal(AiortcForwardTsn, Convert.ToHexString(written).ToLowerInvariant());
    }

    [Fact]
    public void ReConfigMatchesAiortc()
    {
        var packet = Convert.FromHexString(AiortcReConfig);
        Assert.True(ReConfigChunk.TryRead(SingleChunk(packet), out var parameters));
        var e = new SctpParameterEnumerator(parameters);
        Assert.True(e.MoveNext());
        Assert.True(ReConfigChunk.TryReadOutgoingResetRequest(e.Current, out var request));
        Assert.Equal(5u, request.RequestSequenceNumber);
        Assert.Equal(4u, request.ResponseSequenceNumber);
        Assert.Equal(99u, request.SendersLastAssignedTsn);
        Assert.Equal(2, request.StreamCount);
        Assert.Equal(3, request.GetStream(1));
        var written = Packet(0x11223344, d => ReConfigChunk.WriteOutgoingResetRequest(d, 5, 4, 99, [1, 3]));
        Assert.Equal(AiortcReConfig, Convert.ToHexString(written).ToLowerInvariant());

        var response = Packet(1, d => ReConfigChunk.WriteResponse(d, 77, SctpReconfigurationResult.InProgress));
        Assert.True(ReConfigChunk.TryRead(SingleChunk(response), out var responseParameters));
        var r = new SctpParameterEnumerator(responseParameters);
        Assert.True(r.MoveNext());
        Assert.True(ReConfigChunk.TryReadResponse(r.Current, out var seq, out var result));
        Assert.Equal(77u, seq);
        Assert.Equal(SctpReconfigurationResult.InProgress, result);
    }

    [Fact]
    public void ControlChunksRoundTrip()
    {
        var hb = Packet(9, d => HeartbeatChunk.WriteRequest(d, "0123456789"u8));
        var hbChunk = SingleChunk(hb);
        Assert.Equal(SctpChunkType.Heartbeat, hbChunk.Type);
        Assert.True(HeartbeatChunk.TryRead(hbChunk, out var info));
        Assert.Equal("0123456789"u8.ToArray(), info[4..].ToArray());
        var infoBytes = info.ToArray();
        var ack = Packet(9, d => HeartbeatChunk.WriteAck(d, infoBytes));
        var ackChunk = SingleChunk(ack);
        Assert.Equal(SctpChunkType.HeartbeatAck, ackChunk.Type);
        Assert.True(HeartbeatChunk.TryRead(ackChunk, out var echoed));
        Assert.Equal(info.ToArray(), echoed.ToArray());

        var abort = SingleChunk(Packet(9, d => ErrorCauses.WriteAbort(d, true, SctpErrorCauseCode.UserInitiatedAbort, "bye"u8)));
        Assert.Equal(SctpChunkType.Abort, abort.Type);
        Assert.Equal(ErrorCauses.TFlag, abort.Flags);
        Assert.True(ErrorCauses.TryRead(abort, out var causes));
        Assert.Equal(SctpErrorCauseCode.UserInitiatedAbort, ErrorCauses.FirstCause(causes));

        var error = SingleChunk(Packet(9, d => ErrorCauses.WriteError(d, SctpErrorCauseCode.StaleCookie, [0, 0, 1, 0])));
        Assert.Equal(SctpChunkType.Error, error.Type);
        Assert.True(ErrorCauses.TryRead(error, out var errorCauses));
        Assert.Equal(SctpErrorCauseCode.StaleCookie, ErrorCauses.FirstCause(errorCauses));

        var shutdown = SingleChunk(Packet(9, d => ShutdownChunk.Write(d, 0xDEADBEEF)));
        Assert.True(ShutdownChunk.TryRead(shutdown, out var cumulative));
        Assert.Equal(0xDEADBEEFu, cumulative);
        foreach (var type in new[] { SctpChunkType.ShutdownAck, SctpChunkType.ShutdownComplete, SctpChunkType.CookieAck })
        {
            var chunk = SingleChunk(Packet(9, d => ShutdownChunk.WriteEmpty(d, type)));
            Assert.Equal(type, chunk.Type);
            Assert.True(ShutdownChunk.IsValidEmpty(chunk));
        }

        var cookie = SingleChunk(Packet(9, d => CookieEchoChunk.Write(d, "cookie!"u8)));
        Assert.Equal(SctpChunkType.CookieEcho, cookie.Type);
        Assert.Equal("cookie!"u8.ToArray(), cookie.Value.ToArray());

        var initAck = SingleChunk(Packet(9, d =>
        {
            var p = new SctpParameterBuilder(d[InitChunk.HeaderLength..]);
            p.Add(SctpParameterType.StateCookie, "abc"u8);
            p.Add(0x8005, "zz"u8);
            return InitChunk.Write(d, true, 1, 2, 3, 4, 5, p.UnpaddedLength);
        }));
        Assert.True(InitChunk.TryRead(initAck, out var ia));
        Assert.True(ia.IsAck);
        var pe = new SctpParameterEnumerator(ia.Parameters);
        Assert.True(pe.MoveNext());
        Assert.Equal((ushort)SctpParameterType.StateCookie, pe.Current.Type);
        Assert.Equal("abc"u8.ToArray(), pe.Current.Value.ToArray());
        Assert.True(pe.MoveNext());
        Assert.Equal(0x8005, pe.Current.Type);
        Assert.False(pe.MoveNext());
    }

    [Fact]
    public void StateCookieRejectsTamperingAndOtherSecrets()
    {
        var secret = new byte[32];
        var cookie = new StateCookie { Timestamp = 123, LocalTag = 1, PeerTag = 2, LocalInitialTsn = 3, PeerInitialTsn = 4, PeerReceiverWindow = 5, PeerOutboundStreams = 6, PeerInboundStreams = 7, PeerFeatures = SctpPeerFeatures.ReConfig };
        var bytes = new byte[StateCookie.Length];
        cookie.Write(bytes, secret);
        Assert.True(StateCookie.TryRead(bytes, secret, out var read));
        Assert.Equal(cookie.PeerTag, read.PeerTag);
        Assert.Equal(cookie.Timestamp, read.Timestamp);
        Assert.Equal(SctpPeerFeatures.ReConfig, read.PeerFeatures);
        for (var i = 0; i < bytes.Length; i++)
        {
            var tampered = (byte[])bytes.Clone();
            tampered[i] ^= 0x01;
            Assert.False(StateCookie.TryRead(tampered, secret, out _));
        }

        var other = new byte[32];
        other[0] = 1;
        Assert.False(StateCookie.TryRead(bytes, other, out _));
        Assert.False(StateCookie.TryRead(bytes.AsSpan(1), secret, out _));
    }

    [Fact]
    public void ReceivedTsnsTracksGapsAndWrapsAround()
    {
        var r = new ReceivedTsns();
        r.Reset(uint.MaxValue - 2);
        Assert.True(r.Add(uint.MaxValue));
        Assert.True(r.Add(1));
        Assert.True(r.Add(2));
        Assert.Equal(2, r.GapCount);
        Assert.True(r.IsReceived(uint.MaxValue));
        Assert.False(r.IsReceived(0));
        var sack = new byte[64];
        var length = r.WriteSack(sack, 1000, 64);
        Assert.True(SackChunk.TryRead(new SctpChunk(sack.AsSpan(0, length)), out var s));
        Assert.Equal(uint.MaxValue - 2, s.CumulativeTsnAck);
        Assert.Equal(new SctpGapAckBlock(2, 2), s.GetGapAckBlock(0));
        Assert.Equal(new SctpGapAckBlock(4, 5), s.GetGapAckBlock(1));
        Assert.True(r.Add(uint.MaxValue - 1));
        Assert.Equal(uint.MaxValue, r.CumulativeTsn);
        Assert.True(r.Add(0));
        Assert.Equal(2u, r.CumulativeTsn);
        Assert.False(r.HasGaps);
        r.ForwardTo(10);
        Assert.Equal(10u, r.CumulativeTsn);
        Assert.False(r.IsWithinWindow(10 + 65536));
    }

    [Fact]
    public void ReceivedTsnsBoundsTheNumberOfGaps()
    {
        var r = new ReceivedTsns();
        r.Reset(0);
        for (uint i = 0; i < ReceivedTsns.MaxRanges; i++)
        {
            Assert.True(r.Add(2 + (2 * i)));
        }

        Assert.False(r.Add(1000));
        Assert.True(r.Add(3)); // joins two ranges: always possible
        Assert.Equal(ReceivedTsns.MaxRanges - 1, r.GapCount);
    }
}
