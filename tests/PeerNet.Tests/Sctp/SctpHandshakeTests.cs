using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

public class SctpHandshakeTests
{
    [Fact]
    public void OneSideConnects()
    {
        var link = new SimulatedLink(1);
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 10_000));
        Assert.Equal(SctpAssociationState.Established, link.A.State);
        Assert.Equal(SctpAssociationState.Established, link.B.State);
        Assert.True(link.A.PeerSupportsPartialReliability);
        Assert.True(link.A.PeerSupportsStreamReset);
        Assert.True(link.B.PeerSupportsPartialReliability);
        Assert.Equal(65535, link.A.OutboundStreamCount);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void BothConnectAtOnceResolveToOneAssociation(int seed)
    {
        var link = new SimulatedLink(seed);
        link.A.Connect(link.Now);
        link.B.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 10_000));
        Assert.Single(link.EventsA, e => e.Kind == SctpEventKind.Connected);
        Assert.Single(link.EventsB, e => e.Kind == SctpEventKind.Connected);

        // One association: data flows both ways.
        link.A.Send(1, 53, "ping"u8, SctpSendOptions.Default, link.Now);
        link.B.Send(1, 53, "pong"u8, SctpSendOptions.Default, link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.MessageReceived) && link.Has(false, SctpEventKind.MessageReceived), 10_000));
        Assert.Equal("pong"u8.ToArray(), link.EventsA.Find(e => e.Kind == SctpEventKind.MessageReceived).Payload);
        Assert.Equal("ping"u8.ToArray(), link.EventsB.Find(e => e.Kind == SctpEventKind.MessageReceived).Payload);
    }
}
