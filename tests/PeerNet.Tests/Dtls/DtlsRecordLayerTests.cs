using PeerNet.Dtls;
using BcCipherSuite = Org.BouncyCastle.Tls.CipherSuite;

namespace PeerNet.Tests.Dtls;

/// <summary>
/// The record layer after the handshake, through <see cref="DtlsTransport"/>: our own AEAD protection
/// for the GCM and ChaCha20 suites (checked against BouncyCastle's record layer on the other side),
/// sequence numbers that continue after BouncyCastle's Finished, the final flight answered when the
/// peer retransmits, alerts, and no allocation per record.
/// </summary>
public class DtlsRecordLayerTests
{
    public static TheoryData<int> AeadSuites => new()
    {
        BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        BcCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    };

    private static DtlsTransportOptions Options(int suite, bool bouncyCastle = false)
    {
        var options = DtlsLink.FastOptions();
        options.CipherSuites = [suite];
        options.BouncyCastleRecordLayer = bouncyCastle;
        return options;
    }

    [Theory]
    [InlineData(BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true)]
    [InlineData(BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true)]
    [InlineData(BcCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true)]
    [InlineData(BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false)]
    public void Each_suite_round_trips_both_ways_with_the_right_record_layer(int suite, bool ours)
    {
        using var link = new DtlsLink(Options(suite));
        link.Start();
        Assert.True(link.Connect(), $"client {link.Client.Failure}, server {link.Server.Failure}");
        Assert.Equal(ours, link.Client.UsesOwnRecordLayer);
        Assert.Equal(ours, link.Server.UsesOwnRecordLayer);

        var random = new Random(suite);
        foreach (int size in new[] { 0, 1, 17, 1200, 4000, DtlsTransport.MaxApplicationDataSize })
        {
            byte[] up = RandomBytes(random, size), down = RandomBytes(random, size);
            link.Client.Send(up, link.Now);
            link.Server.Send(down, link.Now);
            link.Transfer();
            Assert.Equal(up, DtlsLink.Read(link.Server));
            Assert.Equal(down, DtlsLink.Read(link.Client));
        }
        Assert.Equal(0, link.Client.Statistics.RecordsDropped + link.Server.Statistics.RecordsDropped);
        Assert.Equal(0, link.Client.Statistics.PacketsDropped + link.Server.Statistics.PacketsDropped);
    }

    [Theory]
    [MemberData(nameof(AeadSuites))]
    public void Our_records_and_BouncyCastles_read_each_other_in_both_roles(int suite)
    {
        foreach (bool oursIsClient in new[] { true, false })
        {
            foreach (bool oursCloses in new[] { true, false })
            {
                using var link = new DtlsLink(Options(suite, bouncyCastle: !oursIsClient), serverOptions: Options(suite, bouncyCastle: oursIsClient));
                link.Start();
                Assert.True(link.Connect(), $"client {link.Client.Failure}, server {link.Server.Failure}");
                DtlsTransport ours = oursIsClient ? link.Client : link.Server, theirs = oursIsClient ? link.Server : link.Client;
                Assert.True(ours.UsesOwnRecordLayer);
                Assert.False(theirs.UsesOwnRecordLayer);

                var random = new Random(suite + (oursIsClient ? 1 : 0));
                for (int i = 0; i < 40; i++)
                {
                    byte[] a = RandomBytes(random, random.Next(0, 1300)), b = RandomBytes(random, random.Next(0, 1300));
                    ours.Send(a, link.Now);
                    theirs.Send(b, link.Now);
                    link.Transfer();
                    Assert.Equal(a, DtlsLink.Read(theirs));
                    Assert.Equal(b, DtlsLink.Read(ours));
                }

                // close_notify each way: the closer is closed, the other side closed by its peer.
                DtlsTransport closer = oursCloses ? ours : theirs, other = oursCloses ? theirs : ours;
                closer.Send([7], link.Now);
                closer.Close(link.Now);
                link.Transfer();
                Assert.Equal([7], DtlsLink.Read(other));
                Assert.Equal(DtlsTransportState.Closed, closer.State);
                Assert.Equal(DtlsTransportState.Closed, other.State);
                List<DtlsEvent> events = other == link.Client ? link.ClientEvents : link.ServerEvents;
                Assert.True(events.Last().ClosedByPeer);
                Assert.Equal(0, ours.Statistics.RecordsDropped);
            }
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]  // the client's Finished is lost once: BouncyCastle sends it again with the next sequence number
    [InlineData(false, true)]  // the server's Finished is lost once: the server sends the same datagrams again
    public void Our_sequence_numbers_continue_after_BouncyCastles_so_no_nonce_repeats(bool loseClientFinished, bool loseServerFinished)
    {
        using var link = new DtlsLink();
        bool clientLost = !loseClientFinished, serverLost = !loseServerFinished;
        link.Filter = (fromClient, datagram) =>
        {
            if (HasProtectedRecord(datagram))
            {
                if (fromClient && !clientLost)
                {
                    clientLost = true;
                    return [];
                }
                if (!fromClient && !serverLost)
                {
                    serverLost = true;
                    return [];
                }
            }
            return [datagram];
        };
        link.Start();
        Assert.True(link.Connect(), $"client {link.Client.Failure}, server {link.Server.Failure}");
        Assert.True(clientLost && serverLost);

        long clientHighest = HighestProtectedSequence(link.SentByClient), serverHighest = HighestProtectedSequence(link.SentByServer);
        Assert.True(clientHighest >= (loseClientFinished ? 1 : 0), $"client Finished went out as {clientHighest}");
        Assert.Equal((ulong)(clientHighest + 1), link.Client.NextWriteSequence);
        Assert.Equal((ulong)(serverHighest + 1), link.Server.NextWriteSequence);
        // (A lost client flight can make both peers retransmit, and the server then answers a duplicate too.)
        if (loseServerFinished)
            Assert.True(link.Server.FinalFlightResends >= 1);
        else if (!loseClientFinished)
            Assert.Equal(0, link.Server.FinalFlightResends);

        for (int i = 0; i < 20; i++)
        {
            link.Client.Send(BitConverter.GetBytes(i), link.Now);
            link.Server.Send(BitConverter.GetBytes(-i), link.Now);
            link.Transfer();
            Assert.Equal(i, BitConverter.ToInt32(DtlsLink.Read(link.Server)));
            Assert.Equal(-i, BitConverter.ToInt32(DtlsLink.Read(link.Client)));
        }

        // Every protected record either side ever sent: one (epoch, sequence number) is one record, byte for
        // byte (a resent flight is the same bytes), so no nonce ever protected two different plaintexts.
        foreach (List<byte[]> sent in new[] { link.SentByClient, link.SentByServer })
        {
            var seen = new Dictionary<(int, long), byte[]>();
            foreach (byte[] datagram in sent)
            {
                foreach (var (epoch, sequence, record) in Records(datagram))
                {
                    if (epoch == 0)
                        continue;
                    if (seen.TryGetValue((epoch, sequence), out byte[]? earlier))
                        Assert.Equal(earlier, record);
                    else
                        seen.Add((epoch, sequence), record);
                }
            }
            Assert.True(seen.Count >= 21);
        }
    }

    [Fact]
    public void The_server_resends_its_final_flight_verbatim_at_most_once_a_second_and_the_client_never()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        byte[] clientFinal = link.SentByClient.Last(HasProtectedRecord);
        byte[] serverFinal = link.SentByServer.Last(HasProtectedRecord);
        byte[] buffer = new byte[2000];

        link.Server.HandleDatagram(clientFinal, link.Now);
        int length = link.Server.PollTransmit(buffer);
        Assert.Equal(serverFinal, buffer[..length]);
        Assert.Equal(0, link.Server.PollTransmit(buffer));
        Assert.Equal(1, link.Server.FinalFlightResends);

        // The rest of a retransmitted flight, and more of it within the second, cause nothing more.
        link.Server.HandleDatagram(clientFinal, link.Now + 999);
        Assert.Equal(0, link.Server.PollTransmit(buffer));
        link.Server.HandleDatagram(clientFinal, link.Now + 1000);
        Assert.Equal(serverFinal, buffer[..link.Server.PollTransmit(buffer)]);
        Assert.Equal(2, link.Server.FinalFlightResends);

        // The client, which did not send the last flight, answers nothing.
        link.Client.HandleDatagram(serverFinal, link.Now);
        foreach (byte[] early in link.SentByServer)
            link.Client.HandleDatagram(early, link.Now);
        Assert.Equal(0, link.Client.PollTransmit(buffer));
        Assert.Equal(0, link.Client.FinalFlightResends);
        Assert.Equal(0, link.Client.Statistics.RecordsDropped);
        Assert.Equal(0, link.Server.Statistics.RecordsDropped);
        AssertStillWorks(link);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Data_that_comes_with_or_before_the_servers_Finished_is_not_lost(bool sameDatagram)
    {
        using var link = new DtlsLink();
        var held = new List<byte[]>();
        link.Filter = (fromClient, datagram) =>
        {
            if (!fromClient && HasProtectedRecord(datagram))
            {
                held.Add(datagram);
                return [];
            }
            return [datagram];
        };
        link.Start();
        Assert.True(link.RunUntil(() => link.Server.State == DtlsTransportState.Connected));
        link.Filter = null;
        byte[] finished = held[0];

        link.Server.Send([1, 2, 3], link.Now);
        byte[] buffer = new byte[2000];
        byte[] data = buffer[..link.Server.PollTransmit(buffer)];
        Assert.Equal(23, data[0]);
        if (sameDatagram)
        {
            link.Client.HandleDatagram([.. finished, .. data], link.Now);
        }
        else
        {
            // Reordered: the data arrives first, while the client still waits for the Finished.
            link.Client.HandleDatagram(data, link.Now);
            Assert.Equal(DtlsTransportState.Connecting, link.Client.State);
            link.Client.HandleDatagram(finished, link.Now);
        }
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        Assert.Equal([1, 2, 3], DtlsLink.Read(link.Client));
        // And only once, however often it comes.
        link.Client.HandleDatagram(data, link.Now);
        Assert.Equal(-1, link.Client.ReadApplicationData(buffer));
        Assert.Equal(1, link.Client.DropCount(DtlsDropReason.Replayed));
        AssertStillWorks(link);
    }

    [Fact]
    public void Several_records_in_one_datagram_are_all_read_in_order()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        byte[] buffer = new byte[2000];
        var datagrams = new List<byte[]>();
        for (int i = 0; i < 4; i++)
        {
            link.Client.Send([(byte)i, 0xAB], link.Now);
            datagrams.Add(buffer[..link.Client.PollTransmit(buffer)]);
        }
        link.Server.HandleDatagram([.. datagrams[0], .. datagrams[1], .. datagrams[2], .. datagrams[3]], link.Now);
        for (int i = 0; i < 4; i++)
            Assert.Equal([(byte)i, 0xAB], DtlsLink.Read(link.Server));
        // A bad record between good ones costs only itself.
        link.Client.Send([9], link.Now);
        byte[] good = buffer[..link.Client.PollTransmit(buffer)];
        byte[] bad = (byte[])good.Clone();
        bad[^1] ^= 1;
        bad[10]++; // another sequence number too, so the good one is no replay of it
        link.Server.HandleDatagram([.. bad, .. good], link.Now);
        Assert.Equal([9], DtlsLink.Read(link.Server));
        Assert.Equal(1, link.Server.DropCount(DtlsDropReason.BadRecordMac));
        Assert.Equal(1, link.Server.Statistics.RecordsDropped);
    }

    [Fact]
    public void Replays_and_other_epochs_are_dropped_and_counted()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        byte[] buffer = new byte[2000];
        link.Client.Send([5, 5], link.Now);
        byte[] record = buffer[..link.Client.PollTransmit(buffer)];
        link.Server.HandleDatagram(record, link.Now);
        link.Server.HandleDatagram(record, link.Now);
        Assert.Equal([5, 5], DtlsLink.Read(link.Server));
        Assert.Equal(-1, link.Server.ReadApplicationData(buffer));
        Assert.Equal(1, link.Server.DropCount(DtlsDropReason.Replayed));

        foreach (byte epoch in new byte[] { 2, 0xFF })
        {
            byte[] other = (byte[])record.Clone();
            other[4] = epoch;
            link.Server.HandleDatagram(other, link.Now);
        }
        Assert.Equal(2, link.Server.DropCount(DtlsDropReason.WrongEpoch));
        // Epoch 0 handshake records from the handshake, replayed, are ignored by the client.
        foreach (byte[] old in link.SentByServer)
            link.Client.HandleDatagram(old, link.Now);
        Assert.Equal(3, link.Server.Statistics.RecordsDropped);
        Assert.Equal(0, link.Client.Statistics.RecordsDropped);
        AssertStillWorks(link);
    }

    [Fact]
    public void A_fatal_alert_after_the_handshake_fails_the_association_and_a_warning_does_not()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        link.Server.SendAlertForTest(DtlsAlertDescription.NoRenegotiation, fatal: false, link.Now);
        link.Transfer();
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        AssertStillWorks(link);

        link.Server.SendAlertForTest(DtlsAlertDescription.InternalError, fatal: true, link.Now);
        link.Transfer();
        Assert.Equal(DtlsTransportState.Failed, link.Client.State);
        Assert.Equal(DtlsFailureReason.AlertReceived, link.Client.Failure!.Reason);
        Assert.Equal(DtlsAlertDescription.InternalError, link.Client.Failure.Alert);
        Assert.Contains("internal_error", link.Client.Failure.Message);
        Assert.Equal(DtlsEventKind.Failed, link.ClientEvents.Last().Kind);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Close_notify_is_encrypted_and_answered(bool clientCloses)
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        DtlsTransport closer = clientCloses ? link.Client : link.Server, other = clientCloses ? link.Server : link.Client;
        closer.Close(link.Now);
        byte[] buffer = new byte[2000];
        int length = closer.PollTransmit(buffer);
        // An alert in epoch 1: level and description (2 bytes) plus the cipher's overhead.
        Assert.Equal(21, buffer[0]);
        Assert.Equal(1, buffer[4]);
        Assert.Equal(13 + 8 + 2 + 16, length);
        Assert.Equal(0, closer.PollTransmit(buffer));

        other.HandleDatagram(buffer.AsSpan(0, length), link.Now);
        Assert.Equal(DtlsTransportState.Closed, other.State);
        link.Collect();
        Assert.True((clientCloses ? link.ServerEvents : link.ClientEvents).Last().ClosedByPeer);
        Assert.False((clientCloses ? link.ClientEvents : link.ServerEvents).Last().ClosedByPeer);
        // RFC 5246 §7.2.1: the other side answers with its own close_notify; the closed closer ignores it.
        length = other.PollTransmit(buffer);
        Assert.Equal(21, buffer[0]);
        closer.HandleDatagram(buffer.AsSpan(0, length), link.Now);
        Assert.Equal(DtlsTransportState.Closed, closer.State);
        Assert.Throws<InvalidOperationException>(() => other.Send([1], link.Now));
    }

    [Theory]
    [MemberData(nameof(AeadSuites))]
    public void Sending_and_receiving_a_record_allocates_nothing_in_the_steady_state(int suite)
    {
        using var link = new DtlsLink(Options(suite));
        link.Start();
        Assert.True(link.Connect());
        byte[] message = RandomBytes(new Random(3), 1200);
        byte[] datagram = new byte[2000];
        byte[] read = new byte[DtlsTransport.MaxApplicationDataSize];
        long now = link.Now;

        void RoundTrip(DtlsTransport from, DtlsTransport to)
        {
            from.Send(message, now);
            int length = from.PollTransmit(datagram);
            to.HandleDatagram(datagram.AsSpan(0, length), now);
            if (to.ReadApplicationData(read) != message.Length)
                throw new InvalidOperationException("lost a record");
        }

        long Round()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                RoundTrip(link.Client, link.Server);
                RoundTrip(link.Server, link.Client);
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        // The first round warms up (JIT, the queues' slot buffers: ~130 KB). A per-record allocation shows
        // in every round (2000 records); the runtime's own one-off work (tiering, on-stack replacement) in
        // at most one.
        var rounds = new List<long> { Round() };
        for (int i = 0; i < 4; i++)
            rounds.Add(Round());
        Assert.True(rounds.Skip(1).Min() == 0, $"bytes allocated per round of 2000 records: {string.Join(", ", rounds)}");
        Assert.Equal(5000, link.Server.Statistics.MessagesReceived);
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static IEnumerable<(int Epoch, long Sequence, byte[] Record)> Records(byte[] datagram)
    {
        int at = 0;
        while (at + 13 <= datagram.Length)
        {
            int length = 13 + (datagram[at + 11] << 8 | datagram[at + 12]);
            int epoch = datagram[at + 3] << 8 | datagram[at + 4];
            long sequence = 0;
            for (int i = 5; i < 11; i++)
                sequence = sequence << 8 | datagram[at + i];
            yield return (epoch, sequence, datagram[at..(at + length)]);
            at += length;
        }
    }

    private static bool HasProtectedRecord(byte[] datagram) => Records(datagram).Any(r => r.Epoch != 0);

    private static long HighestProtectedSequence(IEnumerable<byte[]> datagrams) =>
        datagrams.SelectMany(Records).Where(r => r.Epoch != 0 && r.Record[0] == 22).Max(r => r.Sequence);

    private static void AssertStillWorks(DtlsLink link)
    {
        link.Client.Send([1, 1], link.Now);
        link.Server.Send([2, 2], link.Now);
        link.Transfer();
        Assert.Equal([1, 1], DtlsLink.Read(link.Server));
        Assert.Equal([2, 2], DtlsLink.Read(link.Client));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
