using System.Security.Cryptography;
using PeerNet.Sctp;

namespace PeerNet.Tests.Sctp;

public class SctpTransferTests
{
    internal static SimulatedLink Connected(int seed, SctpAssociationOptions? a = null, SctpAssociationOptions? b = null)
    {
        var link = new SimulatedLink(seed, a, b);
        link.A.Connect(link.Now);
        Assert.True(link.RunUntil(() => link.Has(true, SctpEventKind.Connected) && link.Has(false, SctpEventKind.Connected), 30_000));
        return link;
    }

    internal static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static List<SctpEvent> Messages(List<SctpEvent> events, ushort? stream = null) =>
        events.FindAll(e => e.Kind == SctpEventKind.MessageReceived && (stream is null || e.StreamId == stream));

    [Fact]
    public void OrderedMessagesArriveInOrderUnderReordering()
    {
        var link = Connected(7);
        link.Reordering = 0.3;
        link.Duplication = 0.05;
        for (var i = 0; i < 200; i++)
        {
            link.A.Send(3, 51, BitConverter.GetBytes(i), SctpSendOptions.Default, link.Now);
        }

        Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 200, 60_000));
        var got = Messages(link.EventsB).Select(e => BitConverter.ToInt32(e.Payload)).ToList();
        Assert.Equal(Enumerable.Range(0, 200), got);
        Assert.All(Messages(link.EventsB), e => Assert.Equal(51u, e.PayloadProtocolIdentifier));
    }

    [Fact]
    public void UnorderedMessagesAllArrive()
    {
        var link = Connected(8);
        link.Reordering = 0.5;
        for (var i = 0; i < 200; i++)
        {
            link.A.Send(4, 53, Pattern(100 + (i * 37 % 3000), i), SctpSendOptions.Unordered, link.Now);
        }

        Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 200, 60_000));
        var got = Messages(link.EventsB);
        Assert.All(got, e => Assert.True(e.Unordered));
        var expected = Enumerable.Range(0, 200).Select(i => Convert.ToHexString(SHA256.HashData(Pattern(100 + (i * 37 % 3000), i)))).Order();
        Assert.Equal(expected, got.Select(e => Convert.ToHexString(SHA256.HashData(e.Payload!))).Order());
    }

    [Fact]
    public void MessageSizesFromOneByteToMaxMessageSizeReassemble()
    {
        var link = Connected(9);
        link.Reordering = 0.2;
        int[] sizes = [1, 2, 3, 4, 5, 1000, 1171, 1172, 1173, 2344, 2345, 65535, 65536, 100_000, 262_143, 262_144];
        foreach (var size in sizes)
        {
            link.A.Send(1, 53, Pattern(size, size), SctpSendOptions.Default, link.Now);
            link.A.Send(2, 53, Pattern(size, size + 1), SctpSendOptions.Unordered, link.Now);
        }

        Assert.True(link.RunUntil(() => Messages(link.EventsB).Count == 2 * sizes.Length, 120_000));
        Assert.Equal(sizes.Select(s => Pattern(s, s)), Messages(link.EventsB, 1).Select(e => e.Payload!));
        Assert.Equal(sizes.Select(s => Convert.ToHexString(Pattern(s, s + 1))).Order(), Messages(link.EventsB, 2).Select(e => Convert.ToHexString(e.Payload!)).Order());
    }

    [Fact]
    public void SendRejectsEmptyOversizedAndOutOfRange()
    {
        var link = Connected(10);
        Assert.Throws<ArgumentException>(() => link.A.Send(1, 53, [], SctpSendOptions.Default, link.Now));
        Assert.Throws<ArgumentException>(() => link.A.Send(1, 53, new byte[262_145], SctpSendOptions.Default, link.Now));
        var small = Connected(11, new SctpAssociationOptions { OutboundStreams = 10 }, new SctpAssociationOptions { InboundStreams = 5 });
        Assert.Equal(5, small.A.OutboundStreamCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => small.A.Send(5, 53, [1], SctpSendOptions.Default, small.Now));
    }

    [Theory]
    [InlineData(0.0, 0.0, 21)]
    [InlineData(0.05, 0.1, 22)]
    [InlineData(0.05, 0.1, 23)]
    public void TenMebibytesEachWayByteExact(double loss, double reordering, int seed)
    {
        var link = Connected(seed);
        link.Loss = loss;
        link.Reordering = reordering;
        link.Duplication = loss > 0 ? 0.01 : 0;
        const int total = 10 * 1024 * 1024;
        const int messageSize = 64 * 1024;
        var dataA = Pattern(total, seed * 2);
        var dataB = Pattern(total, (seed * 2) + 1);
        for (var offset = 0; offset < total; offset += messageSize)
        {
            link.A.Send(0, 53, dataA.AsSpan(offset, messageSize), SctpSendOptions.Default, link.Now);
            link.B.Send(0, 53, dataB.AsSpan(offset, messageSize), SctpSendOptions.Default, link.Now);
        }

        var receivedA = new MemoryStream();
        var receivedB = new MemoryStream();
        link.OnEvent = (isA, e) =>
        {
            if (e.Kind == SctpEventKind.MessageReceived)
            {
                (isA ? receivedA : receivedB).Write(e.Payload!);
            }
        };
        Assert.True(link.RunUntil(() => receivedA.Length == total && receivedB.Length == total, 3_600_000), $"A got {receivedA.Length}, B got {receivedB.Length}");
        Assert.True(dataB.AsSpan().SequenceEqual(receivedA.ToArray()));
        Assert.True(dataA.AsSpan().SequenceEqual(receivedB.ToArray()));
        Assert.Equal(0, link.A.TotalBufferedAmount);
        Assert.Contains(link.EventsA, e => e.Kind == SctpEventKind.BufferedAmountDecreased && e.StreamId == 0 && e.BufferedAmount == 0);
    }
}
