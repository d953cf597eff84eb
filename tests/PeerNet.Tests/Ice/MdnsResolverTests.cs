using System.Net;
using System.Net.Sockets;
using PeerNet.Ice.Mdns;

namespace PeerNet.Tests.Ice;

/// <summary>
/// The resolver against a unicast responder on 127.0.0.1 (queries are pointed at it instead of the
/// multicast group, so nothing leaves loopback).
/// </summary>
public class MdnsResolverTests
{
    private sealed class LoopbackResponder : IDisposable
    {
        private readonly UdpClient _client = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public LoopbackResponder(Dictionary<string, IPAddress> names)
        {
            _loop = Task.Run(async () =>
            {
                var buffer = new byte[512];
                while (!_stop.IsCancellationRequested)
                {
                    UdpReceiveResult received;
                    try
                    {
                        received = await _client.ReceiveAsync(_stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    Queries++;
                    var query = DnsMessage.Parse(received.Buffer);
                    foreach (var question in query.Questions.Where(q => q.Type == (ushort)DnsRecordType.A))
                    {
                        if (names.TryGetValue(question.Name, out var address))
                        {
                            var length = DnsMessage.WriteAddressResponse(buffer, question.Name, [address], 120);
                            await _client.SendAsync(buffer.AsMemory(0, length), received.RemoteEndPoint);
                        }
                    }
                }
            });
        }

        public int Port => ((IPEndPoint)_client.Client.LocalEndPoint!).Port;

        public int Queries { get; private set; }

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
            _client.Dispose();
            _stop.Dispose();
        }
    }

    private static MdnsResolver Resolver(int port, TimeSpan? timeout = null) => new(new MdnsResolverOptions
    {
        InterfaceAddresses = [IPAddress.Loopback],
        IPv4Destination = IPAddress.Loopback,
        Port = port,
        ListenOnMulticastPort = false,
        Timeout = timeout ?? TimeSpan.FromSeconds(3),
        RetryAfter = TimeSpan.FromMilliseconds(300),
    });

    [Fact]
    public async Task Resolves_and_caches()
    {
        using var responder = new LoopbackResponder(new() { ["abc.local"] = IPAddress.Parse("10.1.2.3") });
        await using var resolver = Resolver(responder.Port);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(IPAddress.Parse("10.1.2.3"), await resolver.ResolveAsync("abc.local", timeout.Token));
        var queries = responder.Queries;
        Assert.Equal(IPAddress.Parse("10.1.2.3"), await resolver.ResolveAsync("ABC.local", timeout.Token));
        Assert.Equal(queries, responder.Queries);
    }

    [Fact]
    public async Task Unknown_names_time_out_after_a_retry()
    {
        using var responder = new LoopbackResponder([]);
        await using var resolver = Resolver(responder.Port, TimeSpan.FromMilliseconds(800));
        var started = Environment.TickCount64;
        Assert.Null(await resolver.ResolveAsync("nobody.local"));
        Assert.InRange(Environment.TickCount64 - started, 700, 5000);
        await Task.Delay(100);
        Assert.True(responder.Queries >= 2);
    }

    [Fact]
    public async Task Cancellation_and_bad_names()
    {
        using var responder = new LoopbackResponder([]);
        await using var resolver = Resolver(responder.Port);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => resolver.ResolveAsync("slow.local", cancel.Token));
        await Assert.ThrowsAsync<ArgumentException>(() => resolver.ResolveAsync("example.com"));
        await Assert.ThrowsAsync<ArgumentException>(() => resolver.ResolveAsync(".local"));
    }

    [Fact]
    public async Task Unsolicited_or_garbage_answers_fill_nothing()
    {
        await using var resolver = Resolver(9);
        var buffer = new byte[512];
        var length = DnsMessage.WriteAddressResponse(buffer, "poison.local", [IPAddress.Parse("6.6.6.6")], 120);
        resolver.HandleDatagram(buffer.AsSpan(0, length));
        resolver.HandleDatagram([1, 2, 3]);
        Assert.Equal(1, resolver.MalformedAnswers);

        // Not cached: a query for it waits for a real answer (none comes here).
        var resolve = resolver.ResolveAsync("poison.local");
        var winner = await Task.WhenAny(resolve, Task.Delay(200));
        Assert.NotSame(resolve, winner);
    }
}
