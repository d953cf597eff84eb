using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;

namespace PeerNet.Tests.Stun;

public class StunAddressTests
{
    [Theory]
    [InlineData("192.0.2.1:32853")]
    [InlineData("0.0.0.0:0")]
    [InlineData("255.255.255.255:65535")]
    [InlineData("[2001:db8:1234:5678:11:2233:4455:6677]:32853")]
    [InlineData("[::1]:3478")]
    [InlineData("[::]:1")]
    public void Converts_to_and_from_IPEndPoint(string text)
    {
        var endPoint = IPEndPoint.Parse(text);
        var address = StunAddress.FromIPEndPoint(endPoint);
        Assert.Equal(endPoint.AddressFamily == AddressFamily.InterNetwork ? StunAddressFamily.IPv4 : StunAddressFamily.IPv6, address.Family);
        Assert.Equal(endPoint, address.ToIPEndPoint());
        Assert.Equal(text, address.ToString());
        Assert.Equal(address, StunAddress.FromIPEndPoint(IPEndPoint.Parse(text)));
        Assert.Equal(address.GetHashCode(), StunAddress.FromIPEndPoint(IPEndPoint.Parse(text)).GetHashCode());
    }

    [Fact]
    public void IPv4_mapped_IPv6_becomes_IPv4()
    {
        var address = StunAddress.FromIPEndPoint(IPEndPoint.Parse("[::ffff:198.51.100.9]:4242"));
        Assert.Equal(StunAddressFamily.IPv4, address.Family);
        Assert.Equal(0xC6336409u, address.IPv4Value);
        Assert.Equal("198.51.100.9:4242", address.ToString());
    }

    [Fact]
    public void Values_and_equality()
    {
        var a = StunAddress.IPv4(0xC0000201, 80);
        Assert.Equal(StunAddress.IPv4([192, 0, 2, 1], 80), a);
        Assert.NotEqual(a, a.WithPort(81));
        Assert.True(a != a.WithPort(81));
        Assert.Equal(4, a.AddressLength);
        Span<byte> bytes = stackalloc byte[16];
        Assert.Equal(4, a.WriteAddressBytes(bytes));
        Assert.Equal([192, 0, 2, 1], bytes[..4].ToArray());

        StunAddress none = default;
        Assert.Equal(StunAddressFamily.None, none.Family);
        Assert.Equal(0, none.AddressLength);
        Assert.Equal("(none)", none.ToString());
        Assert.Throws<InvalidOperationException>(() => none.ToIPEndPoint());
        Assert.Throws<ArgumentException>(() => StunAddress.IPv4([1, 2, 3], 1));
        Assert.Throws<ArgumentException>(() => StunAddress.IPv6(new byte[15], 1));

        // An IPv6 address that ends like an IPv4 one is not equal to it.
        var v6 = StunAddress.IPv6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1], 80);
        Assert.NotEqual(a, v6);
        Assert.Equal(0u, v6.IPv4Value);
    }

    [Theory]
    [InlineData("192.0.2.1:32853")]
    [InlineData("[2001:db8::5]:3478")]
    [InlineData("[::ffff:10.1.2.3]:9")]
    public void Reads_and_writes_SocketAddress(string text)
    {
        var endPoint = IPEndPoint.Parse(text);
        var socketAddress = endPoint.Serialize();
        Assert.True(StunAddress.TryFromSocketAddress(socketAddress, out var address));
        Assert.Equal(StunAddress.FromIPEndPoint(endPoint), address);

        var target = new SocketAddress(address.Family == StunAddressFamily.IPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6);
        Assert.True(address.TryWriteTo(target));
        var roundTrip = (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(target);
        Assert.Equal(address.ToIPEndPoint(), roundTrip);

        var wrongFamily = new SocketAddress(address.Family == StunAddressFamily.IPv4 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        Assert.False(address.TryWriteTo(wrongFamily));
    }

    [Fact]
    public void Xor_encoding_matches_rfc5769()
    {
        var txid = StunTestData.SampleTransactionId;
        Span<byte> value = stackalloc byte[20];
        var v4 = StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.1:32853"));
        Assert.Equal(8, XorAddress.Encode(v4, txid, value));
        Assert.Equal(StunTestData.Hex("00 01 a1 47 e1 12 a6 43"), value[..8].ToArray());
        Assert.True(XorAddress.TryDecode(value[..8], txid, out var decoded));
        Assert.Equal(v4, decoded);

        var v6 = StunAddress.FromIPEndPoint(IPEndPoint.Parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853"));
        Assert.Equal(20, XorAddress.Encode(v6, txid, value));
        Assert.Equal(StunTestData.Hex("00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"), value.ToArray());

        Assert.Equal(8, MappedAddress.Encode(v4, value));
        Assert.Equal(StunTestData.Hex("00 01 80 55 c0 00 02 01"), value[..8].ToArray());
        var encoded = value[..8].ToArray();
        Assert.Throws<ArgumentException>(() => XorAddress.TryDecode(encoded, txid.AsSpan(0, 11), out _));
    }

    [Fact]
    public void Transaction_ids_are_random_and_compare_by_value()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => StunTransactionId.NewRandom()).ToHashSet();
        Assert.Equal(1000, ids.Count);
        var id = StunTransactionId.FromBytes(StunTestData.SampleTransactionId);
        Assert.Equal("b7e7a701bc34d686fa87dfae", id.ToString());
        var copy = new byte[12];
        id.CopyTo(copy);
        Assert.Equal(StunTestData.SampleTransactionId, copy);
        Assert.True(id == StunTransactionId.FromBytes(copy));
        Assert.Throws<ArgumentException>(() => StunTransactionId.FromBytes(new byte[11]));
    }
}
