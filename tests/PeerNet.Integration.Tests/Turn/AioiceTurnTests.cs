using System.Globalization;
using System.Net;

namespace PeerNet.Integration.Tests.Turn;

/// <summary>
/// aioice's TURN client (Debian's python3-aioice, run by /usr/bin/python3) allocates on our server,
/// binds a channel, relays to an echoing UDP peer and back byte for byte, then deletes the
/// allocation — over UDP, TCP and TLS.
/// </summary>
public class AioiceTurnTests
{
    private const string Script = """
        import asyncio, ssl, sys
        from aioice import turn

        host, port, username, password, transport, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]

        class Client(asyncio.DatagramProtocol):
            def __init__(self):
                self.received = asyncio.Queue()
            def connection_made(self, transport):
                pass
            def datagram_received(self, data, addr):
                self.received.put_nowait((data, addr))

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.transport = transport
            def datagram_received(self, data, addr):
                self.transport.sendto(data, addr)

        async def main():
            loop = asyncio.get_running_loop()
            context = ssl.create_default_context(cafile=cafile) if cafile != "-" else False
            peer, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
            peer_addr = peer.get_extra_info("sockname")
            relay, client = await asyncio.wait_for(turn.create_turn_endpoint(
                Client, server_addr=(host, port), username=username, password=password,
                transport=transport, ssl=context), 10)
            relayed = relay.get_extra_info("sockname")
            for i in range(20):
                payload = bytes((i + j) % 256 for j in range(100 + 37 * i))
                relay.sendto(payload, peer_addr)
                data, addr = await asyncio.wait_for(client.received.get(), 5)
                assert data == payload, "payload %d differs" % i
                assert tuple(addr) == tuple(peer_addr), "from %r" % (addr,)
            print("RELAYED", relayed[0], relayed[1], 20, flush=True)
            relay.close()
            await asyncio.sleep(1)
            peer.close()

        asyncio.run(main())
        """;

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("tls")]
    public async Task Aioice_allocates_binds_a_channel_and_relays(string transport)
    {
        var python = TurnLoopback.PythonWithAioice();
        using var certificate = TurnLoopback.CreateCertificate();
        await using var host = await TurnLoopback.StartHostAsync(o =>
        {
            o.TlsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)];
            o.TlsCertificate = certificate;
        });
        var port = transport switch
        {
            "udp" => host.UdpEndPoints[0].Port,
            "tcp" => host.TcpEndPoints[0].Port,
            _ => host.TlsEndPoints[0].Port,
        };
        var caFile = "-";
        if (transport == "tls")
        {
            caFile = Path.Combine(Path.GetTempPath(), $"peernet-turn-ca-{Guid.NewGuid():N}.pem");
            await File.WriteAllTextAsync(caFile, certificate.ExportCertificatePem());
        }

        try
        {
            var (code, output) = await TurnLoopback.RunAsync(python,
                ["-", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture), TurnLoopback.User, TurnLoopback.Password, transport == "udp" ? "udp" : "tcp", caFile],
                TimeSpan.FromSeconds(40), Script);

            var statistics = host.GetStatistics();
            Assert.True(code == 0, output);
            Assert.Contains("RELAYED 127.0.0.1", output);
            Assert.True(statistics.PacketsToPeers >= 20 && statistics.PacketsToClients >= 20, output);
            Assert.Equal(1, statistics.AllocationsCreated);

            // relay.close() refreshed with LIFETIME 0.
            for (var i = 0; i < 50 && host.GetStatistics().Allocations != 0; i++)
            {
                await Task.Delay(100);
            }

            Assert.Equal(0, host.GetStatistics().Allocations);
        }
        finally
        {
            if (caFile != "-")
            {
                File.Delete(caFile);
            }
        }
    }
}
