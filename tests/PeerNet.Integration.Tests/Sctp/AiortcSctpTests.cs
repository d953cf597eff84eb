using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PeerNet.Sctp;

namespace PeerNet.Integration.Tests.Sctp;

/// <summary>
/// Our association against aiortc 1.4's (Debian's python3-aiortc under /usr/bin/python3), one SCTP
/// packet per UDP datagram on loopback standing in for DTLS records. aiortc sends messages up to
/// 64 KiB on a reliable channel and we echo them; it closes that channel (RFC 6525 reset; we reset
/// our side back, RFC 8831 §6.7); it sends on an unordered maxRetransmits=0 channel, then "done" on
/// a third; we shut the association down. With and without loss, with either side sending INIT,
/// and both at once (INIT collision).
/// </summary>
public class AiortcSctpTests
{
    private const string Script = """"
        import asyncio, random, sys

        from aiortc.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
        from aiortc.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport

        peer_port, role, loss, seed = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
        rng = random.Random(seed)


        class FakeIce:
            def __init__(self, role):
                self.role = role


        class FakeDtls:
            # What RTCSctpTransport needs from an RTCDtlsTransport.
            def __init__(self):
                self.state = "connected"
                self.transport = FakeIce("controlling" if role == "client" else "controlled")
                self._data_receiver = None
                self.udp = None

            def _register_data_receiver(self, receiver):
                self._data_receiver = receiver

            def _unregister_data_receiver(self, receiver):
                self._data_receiver = None

            async def _send_data(self, data):
                if rng.random() >= loss:
                    self.udp.sendto(data, ("127.0.0.1", peer_port))


        class Receiver(asyncio.DatagramProtocol):
            def __init__(self, queue):
                self.queue = queue

            def datagram_received(self, data, addr):
                if rng.random() >= loss:
                    self.queue.put_nowait(data)


        async def pump(dtls, queue):
            while True:
                data = await queue.get()
                if dtls._data_receiver is not None:
                    await dtls._data_receiver._handle_data(data)


        async def main():
            loop = asyncio.get_running_loop()
            dtls = FakeDtls()
            queue = asyncio.Queue()
            dtls.udp, _ = await loop.create_datagram_endpoint(lambda: Receiver(queue), local_addr=("127.0.0.1", 0))
            print("PORT", dtls.udp.get_extra_info("sockname")[1], flush=True)
            asyncio.ensure_future(pump(dtls, queue))

            sctp = RTCSctpTransport(dtls)
            reliable = RTCDataChannel(sctp, RTCDataChannelParameters(label="r", negotiated=True, id=1))
            partial = RTCDataChannel(sctp, RTCDataChannelParameters(label="p", negotiated=True, id=3, ordered=False, maxRetransmits=0))
            control = RTCDataChannel(sctp, RTCDataChannelParameters(label="c", negotiated=True, id=5))
            echoes = asyncio.Queue()
            reliable.on("message", echoes.put_nowait)
            await sctp.start(RTCSctpCapabilities(maxMessageSize=65536), 5000)

            for _ in range(1000):
                if reliable.readyState == "open":
                    break
                await asyncio.sleep(0.01)
            assert reliable.readyState == "open", "association not established"
            print("ESTABLISHED", flush=True)

            sizes = [1, 2, 100, 1171, 1172, 1173, 5000, 20000, 65536] + [rng.randint(1, 65536) for _ in range(30)]
            messages = [rng.randbytes(n) for n in sizes]
            for m in messages:
                reliable.send(m)
            for i, m in enumerate(messages):
                got = await asyncio.wait_for(echoes.get(), 60)
                assert got == m, "echo %d differs (%d vs %d bytes)" % (i, len(got), len(m))
            print("ECHOED", len(messages), flush=True)

            # Before the maxRetransmits=0 traffic: aiortc sends a FORWARD TSN only once, so after a
            # lost one the receiver's cumulative TSN stays behind and a later reset stays "in progress".
            closed = asyncio.Event()
            reliable.on("close", closed.set)
            reliable.close()
            await asyncio.wait_for(closed.wait(), 30)
            print("CHANNEL-CLOSED", flush=True)

            for i in range(200):
                partial.send(bytes([i % 256]) * 100)
            control.send(b"done")

            for _ in range(3000):
                if sctp.state == "closed":
                    break
                await asyncio.sleep(0.01)
            print("SCTP", sctp.state, flush=True)


        asyncio.run(main())
        """";

    // aiortc 1.4 sends its RE-CONFIG (stream reset) request once and never retransmits it, nor asks again
    // when our response is lost; so the simulated loss spares packets that start with a RE-CONFIG chunk
    // (RFC 6525 §3.1, type 130), or a closing channel would hang on aiortc's side by chance.
    private static bool CarriesReConfig(ReadOnlySpan<byte> packet) => packet.Length > 12 && packet[12] == 130;

    [Theory]
    [InlineData("client", false, 0.0)]
    [InlineData("server", true, 0.0)]
    [InlineData("client", true, 0.0)]
    [InlineData("client", false, 0.03)]
    [InlineData("server", true, 0.03)]
    [InlineData("client", true, 0.03)]
    public async Task Aiortc_echo_reset_partial_reliability_and_shutdown(string aiortcRole, bool weConnect, double loss)
    {
        const string python = "/usr/bin/python3";
        if (!Directory.Exists("/usr/lib/python3/dist-packages/aiortc"))
        {
            Assert.Fail("aiortc is missing: install the Debian package python3-aiortc (apt-get install python3-aiortc).");
        }

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var ourPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", Script, ourPort.ToString(CultureInfo.InvariantCulture), aiortcRole, loss.ToString(CultureInfo.InvariantCulture), "7" })
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var lines = new List<string>();
        var portSeen = new TaskCompletionSource<int>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (lines)
            {
                lines.Add(e.Data);
            }

            if (e.Data.StartsWith("PORT ", StringComparison.Ordinal))
            {
                portSeen.TrySetResult(int.Parse(e.Data[5..], CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add("stderr: " + e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var peer = new IPEndPoint(IPAddress.Loopback, await portSeen.Task.WaitAsync(TimeSpan.FromSeconds(20)));
            var association = new SctpAssociation(new SctpAssociationOptions { MinRtoMs = 200, InitialRtoMs = 500 });
            var rng = new Random(11);
            var seen = new List<string>();
            var echoed = 0;
            var partialReceived = 0;
            var ourResetDone = false;
            var doneReceived = false;
            var shutdownSent = false;
            var closed = false;
            var buffer = new byte[1500];
            var receive = new byte[2048];
            if (weConnect)
            {
                association.Connect(Environment.TickCount64);
            }

            async Task FlushAsync()
            {
                int n;
                while ((n = association.PollTransmit(buffer)) > 0)
                {
                    if (rng.NextDouble() >= loss || CarriesReConfig(buffer.AsSpan(0, n)))
                    {
                        await socket.SendToAsync(buffer.AsMemory(0, n), peer);
                    }
                }
            }

            using var overall = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            while (!closed && !overall.IsCancellationRequested)
            {
                await FlushAsync();
                while (association.TryPollEvent(out var e))
                {
                    var now = Environment.TickCount64;
                    if (e.Kind != SctpEventKind.MessageReceived)
                    {
                        seen.Add(e.ToString());
                    }

                    switch (e.Kind)
                    {
                        case SctpEventKind.MessageReceived when e.StreamId == 1:
                            association.Send(1, e.PayloadProtocolIdentifier, e.Payload, SctpSendOptions.Default, now);
                            echoed++;
                            break;
                        case SctpEventKind.MessageReceived when e.StreamId == 3:
                            Assert.True(e.Unordered);
                            partialReceived++;
                            break;
                        case SctpEventKind.MessageReceived when e.StreamId == 5:
                            doneReceived = true;
                            break;
                        case SctpEventKind.StreamsReset:
                            Assert.Contains((ushort)1, e.StreamIds!);
                            association.ResetStreams([1], now);
                            break;
                        case SctpEventKind.OutgoingStreamsReset:
                            ourResetDone = true;
                            break;
                        case SctpEventKind.Closed:
                            closed = true;
                            break;
                        case SctpEventKind.Aborted:
                            Assert.Fail("aborted: " + e.Reason + "\n" + Output());
                            break;
                    }
                }

                if (doneReceived && ourResetDone && !shutdownSent)
                {
                    shutdownSent = true;
                    association.Shutdown(Environment.TickCount64);
                    continue;
                }

                if (closed)
                {
                    break;
                }

                var wait = association.PollTimeout() is { } deadline ? Math.Clamp(deadline - Environment.TickCount64, 1, 200) : 200;
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(overall.Token);
                cts.CancelAfter(TimeSpan.FromMilliseconds(wait));
                try
                {
                    var result = await socket.ReceiveFromAsync(receive, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
                    if (rng.NextDouble() >= loss || CarriesReConfig(receive.AsSpan(0, result.ReceivedBytes)))
                    {
                        association.HandlePacket(receive.AsSpan(0, result.ReceivedBytes), Environment.TickCount64);
                    }
                }
                catch (OperationCanceledException)
                {
                }

                if (association.PollTimeout() is { } due && due <= Environment.TickCount64)
                {
                    association.HandleTimeout(Environment.TickCount64);
                }
            }

            await FlushAsync(); // the SHUTDOWN COMPLETE
            var st = association.Statistics;
            Assert.True(closed, $"not closed: {association.State}, shutdown asked {shutdownSent}, echoed {echoed}, partial {partialReceived}, rtx {st.DataChunksRetransmitted}, drops {st.PacketsDropped} ({st.LastDropReason}), events {string.Join(";", seen)}\n{Output()}");
            Assert.True(process.WaitForExit(20_000), "aiortc did not finish\n" + Output());
            process.WaitForExit(); // flushes the asynchronous output readers
            var output = Output();
            Assert.Contains("ECHOED 39", output);
            Assert.Contains("CHANNEL-CLOSED", output);
            Assert.True(output.Contains("SCTP closed", StringComparison.Ordinal), output);
            Assert.Equal(39, echoed);
            Assert.InRange(partialReceived, loss > 0 ? 1 : 200, 200);
            Assert.Contains(seen, e => e.StartsWith("StreamsReset(1)", StringComparison.Ordinal));
            Assert.Equal(0, st.GetDrops(SctpDropReason.MalformedChunk));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        string Output()
        {
            lock (lines)
            {
                return string.Join("\n", lines);
            }
        }
    }
}
