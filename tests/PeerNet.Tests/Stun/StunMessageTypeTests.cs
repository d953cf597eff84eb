using PeerNet.Stun;

namespace PeerNet.Tests.Stun;

public class StunMessageTypeTests
{
    [Theory]
    [InlineData(StunMethod.Binding, StunClass.Request, 0x0001)]
    [InlineData(StunMethod.Binding, StunClass.Indication, 0x0011)]
    [InlineData(StunMethod.Binding, StunClass.SuccessResponse, 0x0101)]
    [InlineData(StunMethod.Binding, StunClass.ErrorResponse, 0x0111)]
    [InlineData(StunMethod.Allocate, StunClass.Request, 0x0003)]
    [InlineData(StunMethod.Allocate, StunClass.SuccessResponse, 0x0103)]
    [InlineData(StunMethod.Allocate, StunClass.ErrorResponse, 0x0113)]
    [InlineData(StunMethod.Refresh, StunClass.Request, 0x0004)]
    [InlineData(StunMethod.Send, StunClass.Indication, 0x0016)]
    [InlineData(StunMethod.Data, StunClass.Indication, 0x0017)]
    [InlineData(StunMethod.CreatePermission, StunClass.Request, 0x0008)]
    [InlineData(StunMethod.ChannelBind, StunClass.SuccessResponse, 0x0109)]
    public void Known_types_match_the_registries(StunMethod method, StunClass messageClass, int expected)
    {
        Assert.Equal(expected, StunMessageType.Encode(method, messageClass));
        Assert.Equal(method, StunMessageType.GetMethod((ushort)expected));
        Assert.Equal(messageClass, StunMessageType.GetClass((ushort)expected));
    }

    [Fact]
    public void Every_method_and_class_round_trips_through_the_interleaving()
    {
        var seen = new HashSet<ushort>();
        for (var m = 0; m <= StunMessageType.MaxMethod; m++)
        {
            foreach (var c in Enum.GetValues<StunClass>())
            {
                var type = StunMessageType.Encode((StunMethod)m, c);
                Assert.Equal(0, type & 0xC000);
                Assert.Equal((StunMethod)m, StunMessageType.GetMethod(type));
                Assert.Equal(c, StunMessageType.GetClass(type));
                Assert.True(seen.Add(type));
            }
        }
    }

    [Fact]
    public void Methods_wider_than_12_bits_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => StunMessageType.Encode((StunMethod)0x1000, StunClass.Request));
    }

    [Fact]
    public void Error_codes_have_reason_phrases()
    {
        Assert.Equal("Unauthenticated", StunErrorCode.Unauthenticated.ReasonPhrase());
        Assert.Equal("Stale Nonce", StunErrorCode.StaleNonce.ReasonPhrase());
        Assert.Equal("Insufficient Capacity", StunErrorCode.InsufficientCapacity.ReasonPhrase());
        foreach (var code in Enum.GetValues<StunErrorCode>())
        {
            Assert.NotEqual("Error", code.ReasonPhrase());
        }

        Assert.Equal(
            [300, 400, 401, 403, 420, 437, 438, 440, 441, 442, 443, 486, 487, 500, 508],
            Enum.GetValues<StunErrorCode>().Select(c => (int)c));
    }

    [Fact]
    public void Every_parse_error_is_described()
    {
        foreach (var error in Enum.GetValues<StunParseError>())
        {
            Assert.NotEqual("unknown error", error.Describe());
        }
    }

    [Fact]
    public void Attribute_types_are_classified()
    {
        Assert.True(StunAttributeType.Username.IsComprehensionRequired());
        Assert.False(StunAttributeType.Software.IsComprehensionRequired());
        Assert.True(StunAttributeType.ResponsePort.IsComprehensionRequired());
        Assert.False(StunAttributeType.AdditionalAddressFamily.IsComprehensionRequired());
        foreach (var type in Enum.GetValues<StunAttributeType>())
        {
            Assert.True(type.IsKnown());
        }

        Assert.False(((StunAttributeType)0x0002).IsKnown());
        Assert.False(((StunAttributeType)0xC001).IsKnown());
    }
}
