using PeerNet.DataChannels;

namespace PeerNet.Tests.DataChannels;

public class DcepTests
{
    [Fact]
    public void OpenRoundTripsWithUnicodeLabelAndProtocol()
    {
        var open = new DataChannelOpen(DataChannelType.PartialReliableRexmitUnordered, 512, 3, "chät 🐱", "proto/1");
        var bytes = open.ToArray();
        Assert.Equal(open.Length, bytes.Length);
        Assert.Equal(0x03, bytes[0]);
        Assert.Equal(0x81, bytes[1]);
        Assert.True(DataChannelOpen.TryParse(bytes, out var parsed, out var error));
        Assert.Equal(DcepParseError.None, error);
        Assert.Equal(open, parsed);
    }

    [Fact]
    public void OpenMatchesRfc8832Layout()
    {
        // Reliable ordered, priority 256, label "a", protocol "" — laid out by hand from RFC 8832 §5.1.
        byte[] expected = [0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0x00, 0x01, 0x00, 0x00, (byte)'a'];
        Assert.Equal(expected, new DataChannelOpen(DataChannelType.Reliable, 256, 0, "a", "").ToArray());
    }

    [Theory]
    [InlineData(new byte[0], DcepParseError.TooShort)]
    [InlineData(new byte[] { 0x03, 0, 0, 0 }, DcepParseError.TooShort)]
    [InlineData(new byte[] { 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, DcepParseError.UnknownMessageType)]
    [InlineData(new byte[] { 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, DcepParseError.UnknownChannelType)]
    [InlineData(new byte[] { 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, (byte)'a' }, DcepParseError.LengthMismatch)]
    [InlineData(new byte[] { 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)'a' }, DcepParseError.LengthMismatch)]
    [InlineData(new byte[] { 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xFF }, DcepParseError.InvalidUtf8)]
    public void HostileOpenIsRejectedWithAReason(byte[] message, DcepParseError expected)
    {
        Assert.False(DataChannelOpen.TryParse(message, out var open, out var error));
        Assert.Null(open);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void RandomMutationsNeverThrow()
    {
        var random = new Random(8832);
        var seed = new DataChannelOpen(DataChannelType.PartialReliableTimed, 128, 1000, "label", "protocol").ToArray();
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = random.Next(4) == 0 ? new byte[random.Next(0, 40)] : (byte[])seed.Clone();
            if (bytes.Length != seed.Length) random.NextBytes(bytes);
            else for (var j = random.Next(1, 4); j > 0; j--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            if (DataChannelOpen.TryParse(bytes, out var open, out var error))
            {
                Assert.Equal(DcepParseError.None, error);
                Assert.Equal(bytes.Length, open!.Length);
            }
            else Assert.NotEqual(DcepParseError.None, error);
        }
    }

    [Fact]
    public void ChannelTypeFollowsInitSettings()
    {
        Assert.Equal(DataChannelType.Reliable, DataChannelTypeExtensions.From(true, null, null));
        Assert.Equal(DataChannelType.ReliableUnordered, DataChannelTypeExtensions.From(false, null, null));
        Assert.Equal(DataChannelType.PartialReliableRexmit, DataChannelTypeExtensions.From(true, 0, null));
        Assert.Equal(DataChannelType.PartialReliableTimedUnordered, DataChannelTypeExtensions.From(false, null, 100));
        Assert.Throws<ArgumentException>(() => DataChannelTypeExtensions.From(true, 1, 1));
        Assert.True(DataChannelType.PartialReliableRexmitUnordered.IsUnordered());
        Assert.True(DataChannelType.PartialReliableRexmitUnordered.IsRexmit());
        Assert.True(DataChannelType.PartialReliableTimed.IsTimed());
    }

    [Fact]
    public void AckIsOneByte()
    {
        Assert.Equal(new byte[] { 0x02 }, DataChannelAck.Bytes.ToArray());
        Assert.True(DataChannelAck.Is([0x02]));
        Assert.False(DataChannelAck.Is([]));
        Assert.False(DataChannelAck.Is([0x03]));
    }
}
