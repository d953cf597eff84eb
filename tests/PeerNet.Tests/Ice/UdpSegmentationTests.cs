using System.Collections.Concurrent;
using System.Net;
using PeerNet.Ice;

namespace PeerNet.Tests.Ice;

/// <summary><see cref="UdpIceSocket.SendSegments"/>: a run of datagrams in one call (UDP_SEGMENT on Linux), on loopback.</summary>
public sealed class UdpSegmentationTests
{
    private static async Task<List<byte[]>> SendAndReceiveAsync(Func<UdpIceSocket, System.Net.SocketAddress, int> send, int expected)
    {
        await using var sender = UdpIceSocket.Bind(IPAddress.Loopback);
        await using var receiver = UdpIceSocket.Bind(IPAddress.Loopback);
        var received = new BlockingCollection<byte[]>();
        receiver.Start((_, datagram, _) => received.Add(datagram.ToArray()));
        sender.Start((_, _, _) => { });
        var sent = send(sender, receiver.LocalEndPoint.Serialize());
        Assert.Equal(expected, sent);

        var datagrams = new List<byte[]>();
        while (datagrams.Count < expected && received.TryTake(out var d, TimeSpan.FromSeconds(5)))
        {
            datagrams.Add(d);
        }

        return datagrams;
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task ARunOfEqualDatagramsWithAShorterLastArrivesAsSeparateDatagrams()
    {
        var payload = Pattern((1220 * 40) + 333, 1);
        var datagrams = await SendAndReceiveAsync((s, to) => s.SendSegments(payload, 1220, to), 41);

        Assert.Equal(41, datagrams.Count);
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(payload.AsSpan(i * 1220, 1220).ToArray(), datagrams[i]);
        }

        Assert.Equal(payload.AsSpan(40 * 1220).ToArray(), datagrams[40]);
    }

    [Fact]
    public async Task TheLargestBatchIsSentWhole()
    {
        var count = UdpSegmentationOffload.MaxSegments;
        var payload = Pattern(1000 * count, 2);
        var datagrams = await SendAndReceiveAsync((s, to) => s.SendSegments(payload, 1000, to), count);
        Assert.Equal(count, datagrams.Count);
        Assert.Equal(payload, datagrams.SelectMany(d => d).ToArray());
    }

    [Fact]
    public async Task MoreSegmentsThanOneCallTakesFallBackToSingleSends()
    {
        var count = UdpSegmentationOffload.MaxSegments + 5;
        var payload = Pattern(200 * count, 3);
        var datagrams = await SendAndReceiveAsync((s, to) => s.SendSegments(payload, 200, to), count);
        Assert.Equal(payload, datagrams.SelectMany(d => d).ToArray());
    }

    [Fact]
    public void OffloadIsUsedOnLinux()
    {
        Assert.Equal(OperatingSystem.IsLinux(), UdpSegmentationOffload.IsSupported);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.True(UdpSegmentationOffload.TrySend(socket, new byte[2400], 1200, socket.LocalEndPoint!.Serialize()));
    }
}
