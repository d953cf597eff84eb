using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>The hot paths of the core — Binding, Send/ChannelData out, peer data back — allocate nothing.</summary>
public class TurnAllocationFreeTests
{
    [Fact]
    public void Binding_and_relaying_do_not_allocate()
    {
        var h = new TurnTestHarness();
        var peer = TurnTestHarness.Peer("8.8.8.8:5000");
        var peer2 = TurnTestHarness.Peer("9.9.9.9:1");
        var client = h.Client();
        var relayed = client.AllocateOk();
        client.ChannelBind(0x4000, peer);
        client.CreatePermission(TurnTestHarness.Peer("9.9.9.9:1"));

        var binding = TurnTestHarness.Build(StunMethod.Binding, StunClass.Request, (ref StunMessageWriter w) => w.AddFingerprint());
        var send = TurnTestHarness.Build(StunMethod.Send, StunClass.Indication, (ref StunMessageWriter w) =>
        {
            w.AddXorPeerAddress(TurnTestHarness.Peer("9.9.9.9:1"));
            w.AddData(new byte[100]);
        });
        var channel = new byte[104];
        ChannelData.TryWrite(channel, 0x4000, new byte[100], padded: false, out _);
        var response = new byte[TurnServer.ResponseBufferLength];
        var peerBuffer = new byte[TurnServer.PeerDataOffset + 100 + TurnServer.PeerDataTrailer];
        var endpoint = client.Endpoint;
        var bindingClient = h.Endpoint(transport: TurnTransport.Tcp);
        var checksum = 0L;

        void Round()
        {
            checksum += h.Server.HandleClientMessage(bindingClient, binding, response, h.Now).Length;
            checksum += h.Server.HandleClientMessage(endpoint, send, response, h.Now).Length;
            checksum += h.Server.HandleClientMessage(endpoint, channel, response, h.Now).Length;
            checksum += h.Server.HandlePeerData(relayed, peer, peerBuffer, TurnServer.PeerDataOffset, 100, h.Now).Length;
            checksum += h.Server.HandlePeerData(relayed, peer2, peerBuffer, TurnServer.PeerDataOffset, 100, h.Now).Length;
        }

        Round();
        Round();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Round();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1002L * (32 + 100 + 100 + 104 + 136), checksum);
    }
}
