using System.Net;
using PeerNet.Stun;

namespace PeerNet.Tests.Stun;

/// <summary>The hot path — parsing and writing typical messages — allocates nothing.</summary>
public class StunAllocationTests
{
    private static readonly byte[] Key = "a-fairly-long-ice-password-22"u8.ToArray();
    private static readonly StunAddress Mapped = StunAddress.FromIPEndPoint(IPEndPoint.Parse("198.51.100.20:61000"));
    private static readonly StunAddress MappedV6 = StunAddress.FromIPEndPoint(IPEndPoint.Parse("[2001:db8::20]:61000"));

    [Fact]
    public void Binding_request_and_response_round_trip_without_allocating()
    {
        var request = new byte[1500];
        var response = new byte[1500];
        var channel = new byte[1500];
        var checksum = 0L;

        RoundTrip(request, response, channel, ref checksum); // warm up: JIT, static tables
        RoundTrip(request, response, channel, ref checksum);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            RoundTrip(request, response, channel, ref checksum);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.NotEqual(0, checksum);
    }

    private static void RoundTrip(byte[] requestBuffer, byte[] responseBuffer, byte[] channelBuffer, ref long checksum)
    {
        // An ICE connectivity check (RFC 8445 §7.1.1).
        var txid = StunTransactionId.NewRandom();
        var w = new StunMessageWriter(requestBuffer, StunMethod.Binding, StunClass.Request, txid);
        w.AddUsername("remoteufrag:localufrag"u8);
        w.AddPriority(0x6e0001ff);
        w.AddIceControlling(0x1234567890ABCDEF);
        w.AddUseCandidate();
        w.AddMessageIntegrity(Key);
        w.AddFingerprint();
        if (!w.TryGetMessage(out var requestBytes))
        {
            throw new InvalidOperationException("overflow");
        }

        // The server side: parse, check, answer.
        if (!StunMessageReader.TryParse(requestBytes, out var request, out _)
            || !request.VerifyMessageIntegrity(Key)
            || !request.TryGetUsername(out var username)
            || !request.TryGetPriority(out var priority)
            || request.UnknownComprehensionRequiredCount != 0)
        {
            throw new InvalidOperationException("request rejected");
        }

        checksum += username.Length + priority + (request.HasUseCandidate ? 1 : 0);
        var r = new StunMessageWriter(responseBuffer, StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId);
        r.AddXorMappedAddress((checksum & 1) == 0 ? Mapped : MappedV6);
        r.AddSoftware("PeerNet"u8);
        r.AddMessageIntegrity(Key);
        r.AddFingerprint();

        // The client side.
        if (!StunMessageReader.TryParse(r.Message, out var response, out _)
            || response.TransactionId != txid
            || !response.TryVerifyIntegrity(Key, out _)
            || !response.TryGetXorMappedAddress(out var mapped))
        {
            throw new InvalidOperationException("response rejected");
        }

        checksum += mapped.Port;

        // And a TURN ChannelData message.
        ChannelData.TryWrite(channelBuffer, 0x4001, requestBytes, padded: true, out var written);
        ChannelData.TryParse(channelBuffer.AsSpan(0, written), out _, out var data, out _);
        checksum += data.Length + (int)PacketDemultiplexer.Classify(channelBuffer);
    }
}
