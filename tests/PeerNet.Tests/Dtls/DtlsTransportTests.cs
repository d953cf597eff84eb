using System.Diagnostics;
using PeerNet.Dtls;

namespace PeerNet.Tests.Dtls;

public class DtlsTransportTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Handshake_connects_and_reports_the_suite_and_the_matched_fingerprint(bool serverStartsFirst)
    {
        using var link = new DtlsLink();
        if (serverStartsFirst)
        {
            link.Server.Start(link.Now);
            link.Client.Start(link.Now);
        }
        else
        {
            // The server's peer may start first: its ClientHello waits until we start.
            link.Client.Start(link.Now);
            Assert.True(link.Transfer());
            Assert.Equal(DtlsTransportState.New, link.Server.State);
            link.Server.Start(link.Now);
        }

        Assert.True(link.Connect(), $"client {link.Client.State} {link.Client.Failure}, server {link.Server.State} {link.Server.Failure}");
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);

        DtlsEvent client = Assert.Single(link.ClientEvents);
        Assert.Equal(DtlsEventKind.Connected, client.Kind);
        Assert.Equal("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", client.CipherSuite);
        Assert.Equal(DtlsLink.ServerCertificate.GetFingerprints()[0], client.RemoteFingerprint);
        DtlsEvent server = Assert.Single(link.ServerEvents);
        Assert.Equal(DtlsEventKind.Connected, server.Kind);
        Assert.Equal(DtlsLink.ClientCertificate.GetFingerprints()[0], server.RemoteFingerprint);
        Assert.Equal(client.CipherSuite, link.Server.CipherSuite);
        Assert.Null(link.Client.PollTimeout());
        Assert.Null(link.Server.PollTimeout());
    }

    [Fact]
    public void Roles_are_independent_of_which_certificate_a_side_holds()
    {
        // The same identities with the roles swapped: the "server certificate" side is now the client.
        var a = DtlsLink.ServerCertificate;
        var b = DtlsLink.ClientCertificate;
        using var client = new DtlsTransport(DtlsRole.Client, a, b.GetFingerprints(), DtlsLink.FastOptions());
        using var server = new DtlsTransport(DtlsRole.Server, b, a.GetFingerprints(), DtlsLink.FastOptions());
        Assert.True(Pump(client, server));
        Assert.Equal(DtlsTransportState.Connected, client.State);
        Assert.Equal(DtlsTransportState.Connected, server.State);
        Assert.Equal(a.GetFingerprints()[0], server.RemoteFingerprint);
    }

    [Fact]
    public void The_handshake_thread_ends_with_the_handshake()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        Assert.True(SpinWait.SpinUntil(() => !link.Client.IsWorkerAlive && !link.Server.IsWorkerAlive, 2000));
    }

    [Fact]
    public void Application_data_flows_both_ways_record_by_record()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());

        var random = new Random(1234);
        var sizes = Enumerable.Range(0, 1201).Where(n => n % 7 == 0 || n < 20 || n > 1180).ToList();
        var toServer = sizes.Select(n => RandomBytes(random, n)).ToList();
        var toClient = sizes.Select(n => RandomBytes(random, n)).ToList();
        for (int i = 0; i < toServer.Count; i++)
        {
            link.Client.Send(toServer[i], link.Now);
            link.Server.Send(toClient[i], link.Now);
            if (i % 16 == 0)
                link.Transfer();
        }
        link.Transfer();

        foreach (byte[] expected in toServer)
            Assert.Equal(expected, DtlsLink.Read(link.Server));
        foreach (byte[] expected in toClient)
            Assert.Equal(expected, DtlsLink.Read(link.Client));
        Assert.Equal(-1, link.Server.ReadApplicationData(new byte[10]));
        Assert.Equal(toServer.Count, link.Server.Statistics.MessagesReceived);
        Assert.Equal(toServer.Sum(m => (long)m.Length), link.Client.Statistics.BytesSent);
        Assert.Equal(0, link.Server.Statistics.PacketsDropped);
    }

    [Fact]
    public void Large_records_up_to_the_TLS_limit_work()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        byte[] big = RandomBytes(new Random(5), DtlsTransport.MaxApplicationDataSize);
        link.Client.Send(big, link.Now);
        link.Transfer();
        Assert.Equal(big, DtlsLink.Read(link.Server));
        Assert.Throws<ArgumentException>(() => link.Client.Send(new byte[DtlsTransport.MaxApplicationDataSize + 1], link.Now));
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
    }

    [Fact]
    public void A_too_small_read_buffer_keeps_the_record()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        link.Client.Send(new byte[100], link.Now);
        link.Transfer();
        Assert.Throws<ArgumentException>(() => link.Server.ReadApplicationData(new byte[99]));
        Assert.Equal(100, link.Server.ReadApplicationData(new byte[100]));
    }

    [Fact]
    public void Sending_before_connected_is_a_clear_error()
    {
        using var link = new DtlsLink();
        var e = Assert.Throws<InvalidOperationException>(() => link.Client.Send([1, 2, 3], link.Now));
        Assert.Contains("New", e.Message);
        link.Start();
        e = Assert.Throws<InvalidOperationException>(() => link.Client.Send([1, 2, 3], link.Now));
        Assert.Contains("Connecting", e.Message);
        Assert.Throws<InvalidOperationException>(() => link.Client.Start(link.Now));
    }

    [Fact]
    public void Client_refuses_a_server_certificate_that_does_not_match_the_fingerprint()
    {
        var stranger = RtcCertificate.Generate();
        using var link = new DtlsLink(clientExpects: stranger.GetFingerprints());
        link.Start();
        Assert.True(link.RunUntil(() => link.Client.State == DtlsTransportState.Failed && link.Server.State == DtlsTransportState.Failed));

        DtlsFailure ours = link.Client.Failure!;
        Assert.Equal(DtlsFailureReason.FingerprintMismatch, ours.Reason);
        Assert.Contains("does not match the fingerprint", ours.Message);
        Assert.Contains(DtlsLink.ServerCertificate.GetFingerprints()[0].Value, ours.Message);
        Assert.Equal(DtlsEventKind.Failed, Assert.Single(link.ClientEvents).Kind);

        DtlsFailure theirs = link.Server.Failure!;
        Assert.Equal(DtlsFailureReason.AlertReceived, theirs.Reason);
        Assert.Equal(DtlsAlertDescription.BadCertificate, theirs.Alert);
        AssertNoApplicationData(link);
    }

    [Fact]
    public void Server_refuses_a_client_certificate_that_does_not_match_the_fingerprint()
    {
        var stranger = RtcCertificate.Generate();
        using var link = new DtlsLink(serverExpects: stranger.GetFingerprints());
        link.Start();
        Assert.True(link.RunUntil(() => link.Client.State == DtlsTransportState.Failed && link.Server.State == DtlsTransportState.Failed));

        Assert.Equal(DtlsFailureReason.FingerprintMismatch, link.Server.Failure!.Reason);
        Assert.Equal(DtlsAlertDescription.BadCertificate, link.Server.Failure.Alert);
        Assert.Equal(DtlsFailureReason.AlertReceived, link.Client.Failure!.Reason);
        Assert.Equal(DtlsAlertDescription.BadCertificate, link.Client.Failure.Alert);
        AssertNoApplicationData(link);
    }

    [Fact]
    public void Any_one_of_several_fingerprints_may_match()
    {
        var other = RtcCertificate.Generate();
        var sha512 = DtlsFingerprint.Compute(DtlsFingerprint.Sha512, DtlsLink.ServerCertificate.CertificateDer.Span);
        using var link = new DtlsLink(clientExpects: [other.GetFingerprints()[0], sha512]);
        link.Start();
        Assert.True(link.Connect());
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        Assert.Equal(sha512, link.Client.RemoteFingerprint);
    }

    private static void AssertNoApplicationData(DtlsLink link)
    {
        Assert.Throws<InvalidOperationException>(() => link.Client.Send([1], link.Now));
        Assert.Throws<InvalidOperationException>(() => link.Server.Send([1], link.Now));
        Assert.Equal(-1, link.Client.ReadApplicationData(new byte[100]));
        Assert.Equal(-1, link.Server.ReadApplicationData(new byte[100]));
        Assert.DoesNotContain(link.ClientEvents, e => e.Kind == DtlsEventKind.Connected);
        Assert.DoesNotContain(link.ServerEvents, e => e.Kind == DtlsEventKind.Connected);
    }

    [Theory]
    [InlineData(true, 0)]   // the ClientHello
    [InlineData(false, 0)]  // the server's first flight
    [InlineData(true, 1)]   // the client's Certificate..Finished flight
    [InlineData(false, 1)]  // the server's ChangeCipherSpec + Finished
    public void A_lost_flight_is_retransmitted(bool fromClient, int flight)
    {
        using var link = new DtlsLink();
        int seen = 0;
        bool dropped = false;
        link.Filter = (client, datagram) =>
        {
            if (client != fromClient || dropped)
                return [datagram];
            // A flight may span several datagrams; drop all datagrams of the chosen one.
            if (seen == flight)
            {
                if (IsLastOfFlight(datagram, client))
                {
                    dropped = true;
                    seen++;
                }
                return [];
            }
            if (IsLastOfFlight(datagram, client))
                seen++;
            return [datagram];
        };
        link.Start();
        var real = Stopwatch.StartNew();
        Assert.True(link.Connect(), $"client {link.Client.State} {link.Client.Failure}, server {link.Server.State} {link.Server.Failure}");
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);
        Assert.True(dropped);
        Assert.True(real.ElapsedMilliseconds < 5000, $"took {real.ElapsedMilliseconds} ms");

        // And the association works afterwards in both directions.
        link.Client.Send([1, 2, 3], link.Now);
        link.Server.Send([4, 5], link.Now);
        link.Transfer();
        Assert.Equal([1, 2, 3], DtlsLink.Read(link.Server));
        Assert.Equal([4, 5], DtlsLink.Read(link.Client));
    }

    // Every flight of an ECDHE handshake ends with a ClientHello, ServerHelloDone or Finished message
    // (the last one in epoch 1, so encrypted: recognised by its epoch).
    private static bool IsLastOfFlight(byte[] datagram, bool fromClient)
    {
        int at = 0;
        bool last = false;
        while (at + 13 <= datagram.Length)
        {
            byte type = datagram[at];
            int epoch = datagram[at + 3] << 8 | datagram[at + 4];
            int length = datagram[at + 11] << 8 | datagram[at + 12];
            if (type == 22 && epoch == 0 && length > 0)
            {
                byte handshakeType = datagram[at + 13];
                if (handshakeType is 1 or 14) // client_hello, server_hello_done
                    last = true;
            }
            if (type == 22 && epoch == 1)
                last = true; // Finished
            at += 13 + length;
        }
        return last;
    }

    [Fact]
    public void A_peer_that_never_answers_times_out()
    {
        var options = new DtlsTransportOptions { HandshakeTimeout = 1500, InitialRetransmissionTimeout = 100 };
        using var client = new DtlsTransport(DtlsRole.Client, DtlsLink.ClientCertificate, DtlsLink.ServerCertificate.GetFingerprints(), options);
        long start = 50_000, now = start;
        var real = Stopwatch.StartNew();
        client.Start(now);
        int sent = 0;
        byte[] buffer = new byte[2000];
        while (client.State == DtlsTransportState.Connecting && real.ElapsedMilliseconds < 8000)
        {
            while (client.PollTransmit(buffer) > 0)
                sent++;
            long? next = client.PollTimeout();
            Assert.NotNull(next);
            Assert.True(next <= start + 1500, $"timer {next - start} ms after start");
            now = Math.Max(now, next.Value);
            client.HandleTimeout(now);
        }
        Assert.Equal(DtlsTransportState.Failed, client.State);
        Assert.Equal(DtlsFailureReason.HandshakeTimeout, client.Failure!.Reason);
        Assert.Contains("1500 ms", client.Failure.Message);
        Assert.Equal(start + 1500, now);
        Assert.True(sent >= 3, $"only {sent} ClientHellos were sent");
        Assert.True(client.TryPollEvent(out DtlsEvent e) && e.Kind == DtlsEventKind.Failed);
        Assert.Null(client.PollTimeout());
        Assert.True(SpinWait.SpinUntil(() => !client.IsWorkerAlive, 2000));
        Assert.True(real.ElapsedMilliseconds < 5000, $"took {real.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void The_worker_gives_up_by_itself_when_the_driver_goes_quiet()
    {
        // A driver that stops calling in must not leave the handshake thread behind.
        var options = new DtlsTransportOptions { HandshakeTimeout = 300, InitialRetransmissionTimeout = 100 };
        var client = new DtlsTransport(DtlsRole.Client, DtlsLink.ClientCertificate, DtlsLink.ServerCertificate.GetFingerprints(), options);
        client.Start(0);
        Assert.True(client.IsWorkerAlive);
        Assert.True(SpinWait.SpinUntil(() => !client.IsWorkerAlive, 3000));
        Assert.Equal(DtlsTransportState.Failed, client.State);
        Assert.Equal(DtlsFailureReason.HandshakeTimeout, client.Failure!.Reason);
        client.Dispose();
    }

    [Fact]
    public void A_server_whose_client_never_comes_times_out_without_sending_anything()
    {
        var options = new DtlsTransportOptions { HandshakeTimeout = 300, InitialRetransmissionTimeout = 100 };
        using var server = new DtlsTransport(DtlsRole.Server, DtlsLink.ServerCertificate, DtlsLink.ClientCertificate.GetFingerprints(), options);
        server.Start(0);
        Assert.Equal(0, server.PollTransmit(new byte[2000]));
        long now = 0;
        var real = Stopwatch.StartNew();
        while (server.State == DtlsTransportState.Connecting && real.ElapsedMilliseconds < 5000)
        {
            now = server.PollTimeout()!.Value;
            server.HandleTimeout(now);
            Assert.Equal(0, server.PollTransmit(new byte[2000]));
        }
        Assert.Equal(DtlsFailureReason.HandshakeTimeout, server.Failure!.Reason);
        Assert.Equal(300, now);
    }

    [Fact]
    public void Close_sends_close_notify_and_the_peer_reports_closed()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        link.Client.Send([9], link.Now);
        link.Client.Close(link.Now);
        Assert.Equal(DtlsTransportState.Closed, link.Client.State);
        link.Transfer();

        Assert.Equal(DtlsTransportState.Closed, link.Server.State);
        Assert.Equal([9], DtlsLink.Read(link.Server)); // data before close_notify still arrives
        DtlsEvent closed = link.ServerEvents.Last();
        Assert.Equal(DtlsEventKind.Closed, closed.Kind);
        Assert.True(closed.ClosedByPeer);
        Assert.False(link.ClientEvents.Last().ClosedByPeer);
        Assert.Throws<InvalidOperationException>(() => link.Server.Send([1], link.Now));
        // Closing again or disposing is harmless.
        link.Client.Close(link.Now);
        Assert.Single(link.ClientEvents, e => e.Kind == DtlsEventKind.Closed);
    }

    [Fact]
    public void Closing_or_disposing_during_the_handshake_stops_the_worker()
    {
        using var link = new DtlsLink();
        link.Start();
        link.Client.Close(link.Now);
        Assert.Equal(DtlsTransportState.Closed, link.Client.State);
        link.Server.Dispose();
        Assert.True(SpinWait.SpinUntil(() => !link.Client.IsWorkerAlive && !link.Server.IsWorkerAlive, 3000));
        Assert.Null(link.Client.PollTimeout());
    }

    [Fact]
    public void HelloVerifyRequest_cookie_exchange_as_server()
    {
        var serverOptions = DtlsLink.FastOptions();
        serverOptions.HelloVerifyRequest = true;
        using var link = new DtlsLink(serverOptions: serverOptions);
        link.Start();
        Assert.True(link.Connect(), $"client {link.Client.Failure}, server {link.Server.Failure}");
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);
        // The server's first datagram is a HelloVerifyRequest (handshake type 3), and the client said hello twice.
        Assert.Equal(3, link.SentByServer[0][13]);
        Assert.Equal(2, link.SentByClient.Count(d => d[0] == 22 && d[13] == 1));
        link.Server.Send([7], link.Now);
        link.Transfer();
        Assert.Equal([7], DtlsLink.Read(link.Client));
    }

    [Theory]
    [InlineData(77)]
    [InlineData(78)]
    [InlineData(79)]
    [InlineData(80)]
    [InlineData(81)]
    [InlineData(82)]
    [InlineData(83)]
    [InlineData(84)]
    public void Duplicated_and_reordered_datagrams_do_not_disturb_the_handshake_or_the_data(int seed)
    {
        using var link = new DtlsLink();
        var random = new Random(seed);
        var held = new Dictionary<bool, byte[]?> { [true] = null, [false] = null };
        var trace = new List<string>();
        link.Filter = (fromClient, datagram) =>
        {
            trace.Add($"{link.Now - 1_000_000} {(fromClient ? "C>S" : "S>C")} {Describe(datagram)}");
            var output = new List<byte[]> { datagram };
            if (random.Next(3) == 0)
                output.Add(datagram); // duplicated
            if (held[fromClient] is byte[] late)
            {
                output.Add(late); // reordered: an earlier datagram after this one
                held[fromClient] = null;
            }
            else if (random.Next(4) == 0)
            {
                held[fromClient] = datagram;
                output.RemoveAt(0);
            }
            return output;
        };
        link.Start();
        Assert.True(link.Connect(), $"client {link.Client.Failure}, server {link.Server.Failure}");
        Assert.True(link.Client.State == DtlsTransportState.Connected && link.Server.State == DtlsTransportState.Connected, string.Join("\n", trace) + $"\nclient {link.Client.Failure}, server {link.Server.Failure}");
        for (int i = 0; i < 200; i++)
            link.Client.Send(BitConverter.GetBytes(i), link.Now);
        link.Transfer();
        link.Filter = null;
        var received = new HashSet<int>();
        byte[] buffer = new byte[100];
        int length;
        while ((length = link.Server.ReadApplicationData(buffer)) >= 0)
            Assert.True(received.Add(BitConverter.ToInt32(buffer, 0)), "a replayed record was delivered twice");
        Assert.True(received.Count >= 190, $"{received.Count} of 200 arrived");
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);
    }

    [Fact]
    public void One_certificate_serves_many_connections_at_once()
    {
        var shared = RtcCertificate.Generate();
        var pairs = Enumerable.Range(0, 4).Select(_ =>
        {
            var peer = RtcCertificate.Generate();
            return (Client: new DtlsTransport(DtlsRole.Client, shared, peer.GetFingerprints(), DtlsLink.FastOptions()),
                    Server: new DtlsTransport(DtlsRole.Server, peer, shared.GetFingerprints(), DtlsLink.FastOptions()));
        }).ToList();
        try
        {
            Parallel.ForEach(pairs, pair => Assert.True(Pump(pair.Client, pair.Server)));
            Assert.All(pairs, p => Assert.Equal(shared.GetFingerprints()[0], p.Server.RemoteFingerprint));
        }
        finally
        {
            foreach (var (c, s) in pairs)
            {
                c.Dispose();
                s.Dispose();
            }
        }
    }

    private static bool Pump(DtlsTransport client, DtlsTransport server)
    {
        long now = 0;
        server.Start(now);
        client.Start(now);
        byte[] buffer = new byte[70000];
        var real = Stopwatch.StartNew();
        while (real.ElapsedMilliseconds < 8000)
        {
            if (client.State == DtlsTransportState.Connected && server.State == DtlsTransportState.Connected)
                return true;
            if (client.State is DtlsTransportState.Failed || server.State is DtlsTransportState.Failed)
                return false;
            bool moved = false;
            int n;
            while ((n = client.PollTransmit(buffer)) > 0) { server.HandleDatagram(buffer.AsSpan(0, n), now); moved = true; }
            while ((n = server.PollTransmit(buffer)) > 0) { client.HandleDatagram(buffer.AsSpan(0, n), now); moved = true; }
            if (moved)
                continue;
            long next = Math.Min(client.PollTimeout() ?? long.MaxValue, server.PollTimeout() ?? long.MaxValue);
            if (next == long.MaxValue)
                return false;
            now = Math.Max(now, next);
            client.HandleTimeout(now);
            server.HandleTimeout(now);
        }
        return false;
    }

    private static string Describe(byte[] datagram)
    {
        var parts = new List<string>();
        int at = 0;
        while (at + 13 <= datagram.Length)
        {
            int length = datagram[at + 11] << 8 | datagram[at + 12];
            int epoch = datagram[at + 3] << 8 | datagram[at + 4];
            long seq = 0;
            for (int i = 5; i < 11; i++) seq = seq << 8 | datagram[at + i];
            string what = datagram[at] == 22 && epoch == 0 ? $"hs{datagram[at + 13]}/m{(datagram[at + 17] << 8 | datagram[at + 18])}" : $"t{datagram[at]}";
            parts.Add($"{what}(e{epoch} s{seq})");
            at += 13 + length;
        }
        return string.Join(" ", parts);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
