using PeerNet.Stun;

namespace PeerNet.Tests.Stun;

public class ChannelDataTests
{
    [Theory]
    [InlineData(0, false, 4)]
    [InlineData(0, true, 4)]
    [InlineData(1, false, 5)]
    [InlineData(1, true, 8)]
    [InlineData(4, true, 8)]
    [InlineData(5, true, 12)]
    public void Writes_header_data_and_padding(int dataLength, bool padded, int expectedLength)
    {
        var data = Enumerable.Range(1, dataLength).Select(i => (byte)i).ToArray();
        var buffer = Enumerable.Repeat((byte)0xEE, 32).ToArray();
        Assert.True(ChannelData.TryWrite(buffer, 0x4001, data, padded, out var written));
        Assert.Equal(expectedLength, written);
        Assert.Equal(expectedLength, ChannelData.GetMessageLength(dataLength, padded));
        Assert.Equal(new byte[] { 0x40, 0x01, 0, (byte)dataLength }, buffer[..4]);
        Assert.Equal(data, buffer[4..(4 + dataLength)]);
        Assert.All(buffer[(4 + dataLength)..written], b => Assert.Equal(0, b));

        Assert.True(ChannelData.TryParse(buffer.AsSpan(0, written), out var channel, out var parsed, out var error), error.Describe());
        Assert.Equal(0x4001, channel);
        Assert.Equal(data, parsed.ToArray());
        Assert.Equal(PacketKind.TurnChannel, PacketDemultiplexer.Classify(buffer));
    }

    [Fact]
    public void Udp_datagrams_may_carry_padding_but_not_more()
    {
        var message = new byte[] { 0x4F, 0xFF, 0x00, 0x02, 0xAA, 0xBB, 0, 0 };
        Assert.True(ChannelData.TryParse(message, out var channel, out var data, out _));
        Assert.Equal(0x4FFF, channel);
        Assert.Equal([0xAA, 0xBB], data.ToArray());
        Assert.True(ChannelData.TryParse(message.AsSpan(0, 6), out _, out _, out _));

        Assert.False(ChannelData.TryParse(message.AsSpan(0, 5), out _, out _, out var error)); // shorter than 4 + length
        Assert.Equal(StunParseError.BadLength, error);
        Assert.False(ChannelData.TryParse([.. message, 0, 0, 0, 0], out _, out _, out error)); // more than padding
        Assert.Equal(StunParseError.BadLength, error);
        Assert.False(ChannelData.TryParse(message.AsSpan(0, 3), out _, out _, out error));
        Assert.Equal(StunParseError.TooShort, error);
    }

    [Theory]
    [InlineData(0x3FFF)]
    [InlineData(0x5000)]
    [InlineData(0x7FFF)]
    [InlineData(0x0001)]
    public void Channel_numbers_outside_the_range_are_rejected(int number)
    {
        var message = new byte[] { (byte)(number >> 8), (byte)number, 0, 0 };
        Assert.False(ChannelData.TryParse(message, out _, out _, out var error));
        Assert.Equal(StunParseError.BadChannelNumber, error);
        Assert.False(ChannelData.IsValidChannelNumber((ushort)number));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChannelData.TryWrite(new byte[8], (ushort)number, default, true, out _));
    }

    [Fact]
    public void Stream_messages_are_framed_with_padding()
    {
        var stream = new byte[64];
        Assert.True(ChannelData.TryWrite(stream, 0x4000, [1, 2, 3], padded: true, out var first));
        Assert.True(ChannelData.TryWrite(stream.AsSpan(first), 0x4002, [9], padded: true, out var second));
        var buffered = stream.AsSpan(0, first + second);

        Assert.True(ChannelData.TryParseStream(buffered, out var channel, out var data, out var consumed, out _));
        Assert.Equal((0x4000, 8), ((int)channel, consumed));
        Assert.Equal([1, 2, 3], data.ToArray());
        Assert.True(ChannelData.TryParseStream(buffered[consumed..], out channel, out data, out consumed, out _));
        Assert.Equal((0x4002, 8), ((int)channel, consumed));
        Assert.Equal([9], data.ToArray());

        // Partial frames need more data, which is not an error.
        for (var length = 0; length < 8; length++)
        {
            Assert.False(ChannelData.TryParseStream(stream.AsSpan(0, length), out _, out _, out _, out var error));
            Assert.Equal(StunParseError.None, error);
        }

        Assert.False(ChannelData.TryParseStream([0x30, 0, 0, 0], out _, out _, out _, out var bad));
        Assert.Equal(StunParseError.BadChannelNumber, bad);
    }

    [Fact]
    public void Header_can_be_written_around_data_already_in_place()
    {
        var buffer = new byte[16];
        "hello"u8.CopyTo(buffer.AsSpan(4));
        buffer[9] = 0xFF; // garbage where padding goes
        Assert.True(ChannelData.TryWriteHeader(buffer, 0x4ABC, 5, padded: true, out var written));
        Assert.Equal(12, written);
        Assert.Equal(0, buffer[9]);
        Assert.True(ChannelData.TryParse(buffer.AsSpan(0, written), out _, out var data, out _));
        Assert.Equal("hello"u8.ToArray(), data.ToArray());

        Assert.False(ChannelData.TryWrite(new byte[7], 0x4000, [1, 2, 3, 4], padded: false, out written));
        Assert.Equal(0, written);
        Assert.Throws<ArgumentOutOfRangeException>(() => ChannelData.TryWriteHeader(new byte[8], 0x4000, 65536, false, out _));
    }

    [Fact]
    public void Stream_framing_tells_stun_from_channel_data()
    {
        Assert.Equal(StunFrameKind.NeedMoreData, StunStreamFraming.TryGetFrameLength([0, 1, 0], out _));
        Assert.Equal(StunFrameKind.Stun, StunStreamFraming.TryGetFrameLength(StunTestData.SampleRequest, out var length));
        Assert.Equal(StunTestData.SampleRequest.Length, length);
        Assert.Equal(StunFrameKind.NeedMoreData, StunStreamFraming.TryGetFrameLength(StunTestData.SampleRequest.AsSpan(0, 7), out _));
        Assert.Equal(StunFrameKind.Stun, StunStreamFraming.TryGetFrameLength(StunTestData.SampleRequest.AsSpan(0, 8), out length));
        Assert.Equal(StunTestData.SampleRequest.Length, length);
        Assert.Equal(StunFrameKind.Invalid, StunStreamFraming.TryGetFrameLength([0, 1, 0, 3], out _)); // STUN length not a multiple of 4
        Assert.Equal(StunFrameKind.ChannelData, StunStreamFraming.TryGetFrameLength([0x40, 0, 0, 5], out length));
        Assert.Equal(12, length);
        Assert.Equal(StunFrameKind.Invalid, StunStreamFraming.TryGetFrameLength([0x50, 0, 0, 5], out _)); // reserved channel
        Assert.Equal(StunFrameKind.Invalid, StunStreamFraming.TryGetFrameLength([0x80, 0, 0, 0], out _));
        Assert.Equal(StunFrameKind.Invalid, StunStreamFraming.TryGetFrameLength([0x16, 0xFE, 0xFD, 0, 0, 1, 0, 0], out _)); // DTLS
    }

    [Fact]
    public void First_byte_demultiplexing_follows_rfc7983()
    {
        for (var b = 0; b < 256; b++)
        {
            var expected = b switch
            {
                <= 3 => PacketKind.Stun,
                >= 16 and <= 19 => PacketKind.Zrtp,
                >= 20 and <= 63 => PacketKind.Dtls,
                >= 64 and <= 79 => PacketKind.TurnChannel,
                >= 128 and <= 191 => PacketKind.Rtp,
                _ => PacketKind.Unknown,
            };
            Assert.Equal(expected, PacketDemultiplexer.Classify((byte)b));
        }

        Assert.Equal(PacketKind.Unknown, PacketDemultiplexer.Classify(ReadOnlySpan<byte>.Empty));
        Assert.Equal(PacketKind.Stun, PacketDemultiplexer.Classify(StunTestData.SampleRequest));
        Assert.True(StunMessage.IsStun(StunTestData.SampleRequest));
        Assert.False(StunMessage.IsStun(StunTestData.SampleRequest.AsSpan(1)));
    }
}
