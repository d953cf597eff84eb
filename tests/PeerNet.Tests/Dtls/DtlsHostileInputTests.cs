using PeerNet.Dtls;

namespace PeerNet.Tests.Dtls;

public class DtlsHostileInputTests
{
    private static byte[] Record(byte type, int epoch, long sequence, ReadOnlySpan<byte> fragment, int? lyingLength = null)
    {
        byte[] record = new byte[13 + fragment.Length];
        record[0] = type;
        record[1] = 0xFE;
        record[2] = 0xFD;
        record[3] = (byte)(epoch >> 8);
        record[4] = (byte)epoch;
        for (int i = 0; i < 6; i++)
            record[5 + i] = (byte)(sequence >> (40 - 8 * i));
        int length = lyingLength ?? fragment.Length;
        record[11] = (byte)(length >> 8);
        record[12] = (byte)length;
        fragment.CopyTo(record.AsSpan(13));
        return record;
    }

    [Fact]
    public void Record_headers_are_checked_before_decryption()
    {
        byte[] good = Record(23, 1, 5, new byte[40]);
        Assert.True(DtlsRecordHeader.IsWellFormedDatagram(good, out _));
        Assert.True(DtlsRecordHeader.IsWellFormedDatagram([.. good, .. Record(21, 1, 6, new byte[26])], out _));

        Assert.False(DtlsRecordHeader.IsWellFormedDatagram([], out var reason));
        Assert.Equal(DtlsDropReason.TooShort, reason);
        Assert.False(DtlsRecordHeader.IsWellFormedDatagram(good.AsSpan(0, 12), out reason));
        Assert.Equal(DtlsDropReason.TooShort, reason);
        Assert.False(DtlsRecordHeader.IsWellFormedDatagram(good.AsSpan(0, 52), out reason)); // one byte short of its length
        Assert.Equal(DtlsDropReason.BadLength, reason);
        Assert.False(DtlsRecordHeader.IsWellFormedDatagram([.. good, 23, 0xFE], out reason)); // a partial second header
        Assert.Equal(DtlsDropReason.BadLength, reason);
        Assert.False(DtlsRecordHeader.IsWellFormedDatagram(Record(23, 1, 5, new byte[40], lyingLength: 41), out reason));
        Assert.Equal(DtlsDropReason.BadLength, reason);
        Assert.False(DtlsRecordHeader.IsWellFormedDatagram(Record(23, 1, 5, new byte[40], lyingLength: 0xFFFF), out reason));
        Assert.Equal(DtlsDropReason.BadLength, reason);
        Assert.False(DtlsRecordHeader.IsWellFormedDatagram(Record(24, 1, 5, new byte[40]), out reason)); // heartbeat: not negotiated
        Assert.Equal(DtlsDropReason.NotDtls, reason);
        Assert.False(DtlsRecordHeader.IsWellFormedDatagram(Record(19, 1, 5, new byte[40]), out reason));
        Assert.Equal(DtlsDropReason.NotDtls, reason);
        byte[] tls = Record(23, 1, 5, new byte[40]);
        tls[1] = 0x03; // a TLS, not DTLS, version
        Assert.False(DtlsRecordHeader.IsWellFormedDatagram(tls, out reason));
        Assert.Equal(DtlsDropReason.NotDtls, reason);

        Assert.True(DtlsRecordHeader.HasPlaintextAlertOrData(Record(21, 0, 9, [2, 40])));
        Assert.True(DtlsRecordHeader.HasPlaintextAlertOrData([.. Record(22, 0, 9, new byte[20]), .. Record(23, 0, 10, new byte[4])]));
        Assert.False(DtlsRecordHeader.HasPlaintextAlertOrData(Record(22, 0, 9, new byte[20])));
        Assert.False(DtlsRecordHeader.HasPlaintextAlertOrData(Record(21, 1, 9, new byte[26])));
    }

    [Fact]
    public void Random_bytes_are_dropped_without_harm_during_and_after_the_handshake()
    {
        using var link = new DtlsLink();
        var random = new Random(2024);
        link.Filter = (_, datagram) => [RandomDatagram(random), datagram, RandomDatagram(random)];
        link.Start();
        Assert.True(link.Connect(), $"client {link.Client.Failure}, server {link.Server.Failure}");
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);

        link.Filter = null;
        for (int i = 0; i < 3000; i++)
        {
            link.Server.HandleDatagram(RandomDatagram(random), link.Now);
            link.Client.HandleDatagram(RandomDatagram(random), link.Now);
        }
        AssertStillWorks(link, 1);
        Assert.True(link.Server.Statistics.PacketsDropped > 2500);
    }

    private static byte[] RandomDatagram(Random random)
    {
        byte[] bytes = new byte[random.Next(0, 1500)];
        random.NextBytes(bytes);
        if (bytes.Length > 0 && random.Next(2) == 0)
            bytes[0] = (byte)random.Next(20, 64); // the DTLS range of RFC 7983, as the demultiplexer passes it
        if (bytes.Length > 2 && random.Next(2) == 0)
        {
            bytes[1] = 0xFE;
            bytes[2] = 0xFD;
        }
        return bytes;
    }

    [Fact]
    public void Truncated_and_length_lying_records_are_dropped()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        byte[] original = CaptureApplicationRecord(link, new byte[300]);

        for (int length = 0; length < original.Length; length++)
            link.Server.HandleDatagram(original.AsSpan(0, length), link.Now);
        foreach (int lie in new[] { 0, 1, 13, original.Length - 14, original.Length - 12, original.Length, 0x4800, 0xFFFF })
        {
            byte[] liar = (byte[])original.Clone();
            liar[11] = (byte)(lie >> 8);
            liar[12] = (byte)lie;
            link.Server.HandleDatagram(liar, link.Now);
        }
        Assert.Equal(-1, link.Server.ReadApplicationData(new byte[2000]));
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);

        // The untouched record still decrypts (it was never accepted, so it is no replay), exactly once.
        link.Server.HandleDatagram(original, link.Now);
        Assert.Equal(300, link.Server.ReadApplicationData(new byte[2000]));
        link.Server.HandleDatagram(original, link.Now);
        Assert.Equal(-1, link.Server.ReadApplicationData(new byte[2000]));
        AssertStillWorks(link, 2);
    }

    [Theory]
    [InlineData(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")]
    [InlineData(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")]
    [InlineData(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")]
    [InlineData(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA")]
    public void Every_suite_connects_and_survives_encrypted_records_of_every_short_length(int suite, string name)
    {
        var options = DtlsLink.FastOptions();
        options.CipherSuites = [suite];
        using var link = new DtlsLink(options);
        link.Start();
        Assert.True(link.Connect(), $"client {link.Client.Failure}, server {link.Server.Failure}");
        Assert.Equal(name, link.Client.CipherSuite);
        Assert.Equal(name, link.Server.CipherSuite);

        // Well-formed headers in the current epoch, fragments of every length up to a few blocks:
        // BouncyCastle would fail the association on the ones too short for the cipher.
        var random = new Random(suite);
        for (int length = 0; length <= 80; length++)
        {
            foreach (byte type in new byte[] { 21, 22, 23 })
            {
                link.Server.HandleDatagram(Record(type, 1, 1000 + length, RandomBytes(random, length)), link.Now);
                link.Client.HandleDatagram(Record(type, 1, 1000 + length, RandomBytes(random, length)), link.Now);
            }
        }
        Assert.Equal(-1, link.Server.ReadApplicationData(new byte[100]));
        AssertStillWorks(link, 5);
        byte[] big = RandomBytes(random, 1200);
        link.Server.Send(big, link.Now);
        link.Transfer();
        Assert.Equal(big, DtlsLink.Read(link.Client));
    }

    [Fact]
    public void Forged_alerts_do_not_close_the_association()
    {
        using var link = new DtlsLink();
        link.Start();
        Assert.True(link.Connect());
        // Plaintext fatal alerts (epoch 0) and forged epoch 1 alerts (no valid tag).
        link.Server.HandleDatagram(Record(21, 0, 100, [2, 40]), link.Now);
        link.Server.HandleDatagram(Record(21, 0, 101, [1, 0]), link.Now);
        link.Server.HandleDatagram(Record(21, 1, 100, new byte[26]), link.Now);
        link.Server.HandleDatagram(Record(21, 1, 101, [2, 40]), link.Now);
        link.Client.HandleDatagram(Record(21, 0, 100, [2, 42]), link.Now);
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        AssertStillWorks(link, 3);
    }

    [Fact]
    public void Thousands_of_seeded_mutations_interleaved_with_good_traffic()
    {
        using var link = new DtlsLink();
        var handshake = new List<byte[]>();
        link.Filter = (_, datagram) =>
        {
            handshake.Add(datagram);
            return [datagram];
        };
        link.Start();
        Assert.True(link.Connect());
        link.Filter = null;

        var random = new Random(31337);
        var samples = new List<byte[]>(handshake);
        for (int i = 0; i < 8; i++)
            samples.Add(CaptureApplicationRecord(link, RandomBytes(random, random.Next(0, 1200))));
        // Deliver the captured ones once so that every later copy is a replay.
        foreach (byte[] sample in samples.Skip(handshake.Count))
            link.Server.HandleDatagram(sample, link.Now);
        while (link.Server.ReadApplicationData(new byte[2000]) >= 0)
        {
        }

        byte[] readBuffer = new byte[DtlsTransport.MaxApplicationDataSize];
        int good = 0;
        for (int i = 0; i < 5000; i++)
        {
            byte[] mutated = Mutate(random, samples[random.Next(samples.Count)]);
            link.Server.HandleDatagram(mutated, link.Now);
            Assert.Equal(-1, link.Server.ReadApplicationData(readBuffer)); // nothing forged or replayed gets through

            if (i % 50 == 0)
            {
                byte[] message = RandomBytes(random, random.Next(0, 1200));
                link.Client.Send(message, link.Now);
                link.Transfer();
                Assert.Equal(message, DtlsLink.Read(link.Server));
                good++;
            }
        }
        Assert.Equal(100, good);
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        AssertStillWorks(link, 4);
        // Dropped with a reason, and counted: whole datagrams before decryption, single records at it.
        Assert.True(link.Server.Statistics.PacketsDropped > 500, $"{link.Server.Statistics}");
        Assert.True(link.Server.Statistics.RecordsDropped > 500, $"{link.Server.Statistics}");
        Assert.True(link.Server.DropCount(DtlsDropReason.BadRecordMac) > 100);
        Assert.True(link.Server.DropCount(DtlsDropReason.Replayed) > 100);
        Assert.True(link.Server.DropCount(DtlsDropReason.BadLength) > 100);
    }

    private static byte[] Mutate(Random random, byte[] original)
    {
        byte[] bytes = (byte[])original.Clone();
        switch (random.Next(5))
        {
            case 0: // flip a few bytes anywhere (headers included)
                for (int n = random.Next(1, 4); n > 0 && bytes.Length > 0; n--)
                    bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                return bytes;
            case 1: // truncate
                return bytes[..random.Next(bytes.Length)];
            case 2: // append garbage
                return [.. bytes, .. RandomBytes(random, random.Next(1, 40))];
            case 3: // rewrite the header's epoch, sequence number or length
                if (bytes.Length >= 13)
                    bytes[random.Next(3, 13)] = (byte)random.Next(256);
                return bytes;
            default: // replay unchanged
                return bytes;
        }
    }

    private static byte[] CaptureApplicationRecord(DtlsLink link, byte[] message)
    {
        link.Client.Send(message, link.Now);
        byte[] buffer = new byte[2000];
        int length = link.Client.PollTransmit(buffer);
        Assert.True(length > 0);
        return buffer[..length];
    }

    private static void AssertStillWorks(DtlsLink link, byte tag)
    {
        link.Client.Send([tag, 1], link.Now);
        link.Server.Send([tag, 2], link.Now);
        link.Transfer();
        Assert.Equal([tag, 1], DtlsLink.Read(link.Server));
        Assert.Equal([tag, 2], DtlsLink.Read(link.Client));
        Assert.Equal(DtlsTransportState.Connected, link.Client.State);
        Assert.Equal(DtlsTransportState.Connected, link.Server.State);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
