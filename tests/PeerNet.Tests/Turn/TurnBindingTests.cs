using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>STUN Binding, the amplification rule and RFC 5780 behaviour discovery.</summary>
public class TurnBindingTests
{
    private static byte[] BindingRequest(AttributeWriter? attributes = null) =>
        TurnTestHarness.Build(StunMethod.Binding, StunClass.Request, attributes);

    [Theory]
    [InlineData("198.51.100.7:40000", TurnTransport.Udp)]
    [InlineData("[2001:db8::7]:40000", TurnTransport.Udp)]
    [InlineData("198.51.100.7:40000", TurnTransport.Tcp)]
    [InlineData("198.51.100.7:40000", TurnTransport.Tls)]
    public void Binding_reports_the_mapped_address(string remote, TurnTransport transport)
    {
        var h = new TurnTestHarness();
        var client = h.Endpoint(remote, transport);
        var request = BindingRequest();
        var reply = h.Send(client, request)!;

        Assert.Equal(StunMethod.Binding, reply.Method);
        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        Assert.Equal(request[8..20], reply.Bytes[8..20]);
        Assert.Equal(client.Remote, reply.XorAddress(StunAttributeType.XorMappedAddress));
        Assert.Equal(1, h.Server.GetStatistics().BindingResponses);
        Assert.Equal(default, reply.Output.Source);
    }

    [Fact]
    public void Binding_answers_a_big_request_with_software_and_fingerprint()
    {
        var h = new TurnTestHarness();
        var request = BindingRequest((ref StunMessageWriter w) =>
        {
            w.AddSoftware("a client with a rather long software description");
            w.AddFingerprint();
        });
        var reply = h.Send(h.Endpoint(), request)!;
        Assert.Equal("PeerNet", reply.Text(StunAttributeType.Software));
        Assert.True(reply.Reader.HasFingerprint);
        Assert.True(reply.Bytes.Length <= request.Length);
    }

    [Fact]
    public void Amplification_small_requests_get_only_mandatory_attributes_within_a_per_address_budget()
    {
        var h = new TurnTestHarness(o => o.OversizeResponsesPerSecondPerAddress = 3);
        var request = BindingRequest(); // 20 bytes: the response (32) cannot be smaller
        var client = h.Endpoint();
        for (var i = 0; i < 3; i++)
        {
            var reply = h.Send(client, request)!;
            Assert.Equal(32, reply.Bytes.Length);
            Assert.False(reply.Has(StunAttributeType.Software));
        }

        Assert.Null(h.Send(client, request));
        Assert.Null(h.Send(h.Endpoint("198.51.100.7:1"), request)); // the port does not matter
        Assert.Equal(2, h.Server.GetDropCount(TurnDropReason.AmplificationLimit));
        Assert.NotNull(h.Send(h.Endpoint("198.51.100.8:1"), request)); // another address has its own budget

        h.Now += 1000;
        Assert.NotNull(h.Send(client, request));

        // Streams are not spoofable: no budget.
        for (var i = 0; i < 10; i++)
        {
            Assert.NotNull(h.Send(h.Endpoint(transport: TurnTransport.Tcp), request));
        }
    }

    [Fact]
    public void Amplification_strict_mode_never_answers_with_more_than_was_sent()
    {
        var h = new TurnTestHarness(o => o.OversizeResponsesPerSecondPerAddress = 0);
        var client = h.Client();
        Assert.Null(h.Send(client.Endpoint, BindingRequest()));
        Assert.Null(client.Unsigned(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp)));

        // A request big enough for the answer is answered, and the answer is no bigger.
        var padded = TurnTestHarness.Build(StunMethod.Allocate, StunClass.Request, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(StunTransportProtocol.Udp);
            w.AddSoftware(new string('x', 100));
        });
        var challenge = h.Send(client.Endpoint, padded)!;
        Assert.Equal(401, challenge.ErrorCode);
        Assert.True(challenge.Bytes.Length <= padded.Length);
    }

    [Fact]
    public void Unauthenticated_responses_are_never_larger_than_the_request_unless_mandatory()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        var small = TurnTestHarness.Build(StunMethod.Allocate, StunClass.Request, (ref StunMessageWriter w) => w.AddRequestedTransport(StunTransportProtocol.Udp));
        var challenge = h.Send(client.Endpoint, small)!;
        Assert.Equal(401, challenge.ErrorCode);
        Assert.False(challenge.Has(StunAttributeType.Software));
        Assert.True(challenge.Reader.TryGetErrorCode(out _, out var reason));
        Assert.True(reason.IsEmpty); // even the reason phrase is left out when it does not fit

        // The mandatory part: header, ERROR-CODE, REALM ("example.org"), NONCE (20).
        Assert.Equal(20 + 8 + 4 + 12 + 4 + 20, challenge.Bytes.Length);
    }

    [Fact]
    public void Binding_with_unknown_comprehension_required_attribute_gets_420()
    {
        var h = new TurnTestHarness();
        var reply = h.Send(h.Endpoint(), BindingRequest((ref StunMessageWriter w) =>
        {
            w.AddAttribute((StunAttributeType)0x0042, [1, 2, 3, 4]);
            w.AddSoftware(new string('x', 40));
        }))!;
        Assert.Equal(420, reply.ErrorCode);
        var unknown = new ushort[4];
        Assert.True(reply.Reader.TryGetUnknownAttributes(unknown, out var count));
        Assert.Equal(1, count);
        Assert.Equal(0x0042, unknown[0]);
    }

    [Fact]
    public void Change_request_without_behaviour_discovery_is_an_unknown_attribute()
    {
        var h = new TurnTestHarness();
        var reply = h.Send(h.Endpoint(), BindingRequest((ref StunMessageWriter w) => w.AddChangeRequest(true, true)))!;
        Assert.Equal(420, reply.ErrorCode);
        var unknown = new ushort[4];
        reply.Reader.TryGetUnknownAttributes(unknown, out var count);
        Assert.Equal((ushort)StunAttributeType.ChangeRequest, unknown[0]);
        Assert.Equal(1, count);

        var port = h.Send(h.Endpoint(), BindingRequest((ref StunMessageWriter w) => w.AddResponsePort(1234)))!;
        Assert.Equal(420, port.ErrorCode);
    }

    [Fact]
    public void Behaviour_discovery_reports_other_address_and_answers_change_requests_from_the_alternate()
    {
        var h = new TurnTestHarness();
        var primary = TurnTestHarness.Peer("192.0.2.10:3478");
        var alternate = TurnTestHarness.Peer("192.0.2.11:3479");
        h.Server.EnableBehaviorDiscovery(primary, alternate);
        Assert.True(h.Server.BehaviorDiscoveryEnabled);

        var client = new TurnClientEndpoint(TurnTransport.Udp, 1, primary, TurnTestHarness.Peer("198.51.100.7:40000"));
        var plain = h.Send(client, BindingRequest())!;
        Assert.Equal(default, plain.Output.Source);
        Assert.True(plain.Reader.TryGetResponseOrigin(out var origin));
        Assert.Equal(primary, origin);
        Assert.True(plain.Reader.TryGetOtherAddress(out var other));
        Assert.Equal(alternate, other);

        var both = h.Send(client, BindingRequest((ref StunMessageWriter w) => w.AddChangeRequest(true, true)))!;
        Assert.Equal(alternate, both.Output.Source);
        both.Reader.TryGetResponseOrigin(out origin);
        Assert.Equal(alternate, origin);

        var ipOnly = h.Send(client, BindingRequest((ref StunMessageWriter w) => w.AddChangeRequest(true, false)))!;
        Assert.Equal(TurnTestHarness.Peer("192.0.2.11:3478"), ipOnly.Output.Source);

        var portOnly = h.Send(client, BindingRequest((ref StunMessageWriter w) => w.AddChangeRequest(false, true)))!;
        Assert.Equal(TurnTestHarness.Peer("192.0.2.10:3479"), portOnly.Output.Source);

        var noFlags = h.Send(client, BindingRequest((ref StunMessageWriter w) => w.AddChangeRequest(false, false)))!;
        Assert.Equal(default, noFlags.Output.Source);

        // Received on the alternate port of the primary IP: OTHER-ADDRESS differs in both.
        var fromAltPort = new TurnClientEndpoint(TurnTransport.Udp, 2, TurnTestHarness.Peer("192.0.2.10:3479"), client.Remote);
        var reply = h.Send(fromAltPort, BindingRequest((ref StunMessageWriter w) => w.AddChangeRequest(false, true)))!;
        reply.Reader.TryGetOtherAddress(out other);
        Assert.Equal(TurnTestHarness.Peer("192.0.2.11:3478"), other);
        Assert.Equal(primary, reply.Output.Source);

        // RESPONSE-PORT: the answer goes to another port of the same IP address.
        var redirected = h.Send(client, BindingRequest((ref StunMessageWriter w) =>
        {
            w.AddResponsePort(41000);
            w.AddChangeRequest(true, true);
        }))!;
        Assert.Equal(TurnTestHarness.Peer("198.51.100.7:41000"), redirected.Output.Client.Remote);
        Assert.Equal(client.Remote, redirected.XorAddress(StunAttributeType.XorMappedAddress));
        Assert.Equal(alternate, redirected.Output.Source);
        Assert.Equal(400, h.Send(client, BindingRequest((ref StunMessageWriter w) => w.AddResponsePort(0)))!.ErrorCode);

        // Over TCP a change cannot be honoured.
        var tcp = new TurnClientEndpoint(TurnTransport.Tcp, 3, primary, client.Remote);
        Assert.Equal(400, h.Send(tcp, BindingRequest((ref StunMessageWriter w) => w.AddChangeRequest(true, false)))!.ErrorCode);
    }

    [Fact]
    public void Behaviour_discovery_needs_two_distinct_addresses()
    {
        var h = new TurnTestHarness();
        Assert.Throws<ArgumentException>(() => h.Server.EnableBehaviorDiscovery(TurnTestHarness.Peer("192.0.2.1:1"), TurnTestHarness.Peer("192.0.2.1:2")));
        Assert.Throws<ArgumentException>(() => h.Server.EnableBehaviorDiscovery(TurnTestHarness.Peer("192.0.2.1:1"), TurnTestHarness.Peer("192.0.2.2:1")));
        Assert.Throws<ArgumentException>(() => h.Server.EnableBehaviorDiscovery(TurnTestHarness.Peer("192.0.2.1:1"), TurnTestHarness.Peer("[::1]:2")));
    }

    [Fact]
    public void Binding_indications_and_responses_are_silently_consumed()
    {
        var h = new TurnTestHarness();
        Assert.Null(h.Send(h.Endpoint(), TurnTestHarness.Build(StunMethod.Binding, StunClass.Indication)));
        Assert.Null(h.Send(h.Endpoint(), TurnTestHarness.Build(StunMethod.Binding, StunClass.SuccessResponse)));
        Assert.Null(h.Send(h.Endpoint(), TurnTestHarness.Build(StunMethod.Data, StunClass.Indication)));
        Assert.Null(h.Send(h.Endpoint(), TurnTestHarness.Build(StunMethod.Allocate, StunClass.ErrorResponse)));
    }

    [Fact]
    public void Unknown_method_request_gets_400()
    {
        var h = new TurnTestHarness();
        var request = TurnTestHarness.Build((StunMethod)0x0FF, StunClass.Request, (ref StunMessageWriter w) => w.AddSoftware(new string('x', 40)));
        Assert.Equal(400, h.Send(h.Endpoint(), request)!.ErrorCode);
    }
}
