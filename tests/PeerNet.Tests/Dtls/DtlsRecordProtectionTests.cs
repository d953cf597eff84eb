using System.Buffers.Binary;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using PeerNet.Dtls;
using BcChaCha20Poly1305 = Org.BouncyCastle.Crypto.Modes.ChaCha20Poly1305;
using BcCipherSuite = Org.BouncyCastle.Tls.CipherSuite;

namespace PeerNet.Tests.Dtls;

/// <summary>
/// <see cref="DtlsRecordProtection"/> on its own: records built by hand with fixed keys, IVs and sequence
/// numbers, checked against BouncyCastle's own AES-GCM and ChaCha20-Poly1305 (an independent
/// implementation of the ciphers), and every way a received record can be wrong.
/// </summary>
public class DtlsRecordProtectionTests
{
    public static TheoryData<int> Suites => new()
    {
        BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        BcCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    };

    private static (int Key, int Iv) Lengths(int suite) => suite switch
    {
        BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => (16, 4),
        BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => (32, 4),
        _ => (32, 12),
    };

    // A recognisable key block: byte i is i * 7 + 1, so each key and IV differs.
    private static byte[] KeyBlock(int suite)
    {
        var (key, iv) = Lengths(suite);
        byte[] block = new byte[2 * key + 2 * iv];
        for (int i = 0; i < block.Length; i++)
            block[i] = (byte)(i * 7 + 1);
        return block;
    }

    private static (DtlsRecordProtection Client, DtlsRecordProtection Server) Pair(int suite, ulong clientFirst = 1, ulong serverFirst = 1) =>
        (new DtlsRecordProtection(suite, isServer: false, KeyBlock(suite), 1, clientFirst),
         new DtlsRecordProtection(suite, isServer: true, KeyBlock(suite), 1, serverFirst));

    [Theory]
    [MemberData(nameof(Suites))]
    public void Key_block_lengths_follow_RFC_5246_6_3(int suite)
    {
        var (key, iv) = Lengths(suite);
        Assert.True(DtlsRecordProtection.IsSupported(suite));
        Assert.Equal(2 * key + 2 * iv, DtlsRecordProtection.KeyBlockLength(suite));
        Assert.False(DtlsRecordProtection.IsSupported(BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA));
        Assert.Equal(0, DtlsRecordProtection.KeyBlockLength(BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA));
        Assert.Throws<ArgumentException>(() => new DtlsRecordProtection(suite, false, new byte[2 * key + 2 * iv - 1], 1, 0));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void A_record_matches_an_independent_computation(int suite)
    {
        // Client → server, epoch 1, sequence number 0x0000_0102_0304 (so every byte of seq_num matters).
        var (key, iv) = Lengths(suite);
        byte[] block = KeyBlock(suite);
        byte[] clientKey = block[..key];
        byte[] clientIv = block[(2 * key)..(2 * key + iv)];
        const ulong sequence = 0x0102_0304;
        using var client = new DtlsRecordProtection(suite, isServer: false, block, 1, sequence);
        byte[] plaintext = "Hello, SCTP over DTLS"u8.ToArray();
        byte[] record = new byte[100];
        int length = client.Protect(23, plaintext, record);
        record = record[..length];

        // The header: application_data, DTLS 1.2, epoch 1, the sequence number, the fragment length.
        bool gcm = suite != BcCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256;
        int explicitNonce = gcm ? 8 : 0;
        Assert.Equal(13 + explicitNonce + plaintext.Length + 16, length);
        Assert.Equal(new byte[] { 23, 0xFE, 0xFD, 0, 1, 0, 0, 1, 2, 3, 4 }, record[..11]);
        Assert.Equal(explicitNonce + plaintext.Length + 16, BinaryPrimitives.ReadUInt16BigEndian(record.AsSpan(11)));

        // RFC 5246 §6.2.3.3 additional data: epoch + seq (8), type, version, plaintext length.
        byte[] aad = [0, 1, 0, 0, 1, 2, 3, 4, 23, 0xFE, 0xFD, 0, (byte)plaintext.Length];
        byte[] nonce;
        IAeadCipher cipher;
        if (gcm)
        {
            // RFC 5288 §3: salt (client_write_IV) + the explicit nonce, which we make seq_num and carry in the record.
            Assert.Equal(aad[..8], record[13..21]);
            nonce = [.. clientIv, .. aad[..8]];
            cipher = new GcmBlockCipher(new AesEngine());
        }
        else
        {
            // RFC 7905 §2: the 12-byte IV XOR the sequence number padded to 12 bytes.
            nonce = (byte[])clientIv.Clone();
            for (int i = 0; i < 8; i++)
                nonce[4 + i] ^= aad[i];
            cipher = new BcChaCha20Poly1305();
        }
        cipher.Init(true, new AeadParameters(new KeyParameter(clientKey), 128, nonce, aad));
        byte[] expected = new byte[cipher.GetOutputSize(plaintext.Length)];
        int n = cipher.ProcessBytes(plaintext, 0, plaintext.Length, expected, 0);
        cipher.DoFinal(expected, n);
        Assert.Equal(expected, record[(13 + explicitNonce)..]);

        // And the server, with the same key block, reads it back.
        using var server = new DtlsRecordProtection(suite, isServer: true, block, 1, 0);
        byte[] output = new byte[100];
        Assert.True(server.TryUnprotect(record, output, out int read, out _));
        Assert.Equal(plaintext, output[..read]);
        Assert.Equal(sequence + 1, client.NextWriteSequence);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Records_round_trip_both_ways_at_every_size(int suite)
    {
        var (client, server) = Pair(suite);
        using (client)
        using (server)
        {
            var random = new Random(suite);
            byte[] record = new byte[DtlsRecordProtection.MaxPlaintextLength + 100];
            byte[] output = new byte[DtlsRecordProtection.MaxPlaintextLength];
            foreach (int size in new[] { 0, 1, 15, 16, 17, 100, 1200, 4096, DtlsRecordProtection.MaxPlaintextLength })
            {
                byte[] message = new byte[size];
                random.NextBytes(message);
                foreach (var (from, to) in new[] { (client, server), (server, client) })
                {
                    int length = from.Protect(23, message, record);
                    Assert.True(to.TryUnprotect(record.AsSpan(0, length), output, out int read, out var reason), reason.ToString());
                    Assert.Equal(message, output[..read]);
                }
            }
            // A direction's keys do not open the other direction's records.
            int own = client.Protect(23, [1, 2, 3], record);
            Assert.False(client.TryUnprotect(record.AsSpan(0, own), output, out _, out var why));
            Assert.Equal(DtlsDropReason.BadRecordMac, why);
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Replays_and_records_older_than_the_window_are_refused(int suite)
    {
        var (client, server) = Pair(suite, clientFirst: 0);
        using (client)
        using (server)
        {
            var records = new List<byte[]>();
            for (int i = 0; i < 200; i++)
            {
                byte[] r = new byte[64];
                records.Add(r[..client.Protect(23, [(byte)i], r)]);
            }
            byte[] output = new byte[16];
            // Out of order inside the window: each accepted once. With 100 the highest, 37 is the oldest the
            // window holds; once 101 arrives, 37 has slid out (and is refused like a replay).
            foreach (var (i, fresh) in new[] { (100, true), (98, true), (99, true), (37, true), (101, true), (100, false), (99, false), (37, false) })
            {
                Assert.Equal(fresh, server.TryUnprotect(records[i], output, out _, out var reason));
                if (!fresh)
                    Assert.Equal(DtlsDropReason.Replayed, reason);
            }
            // 101 - 63 = 38 is the oldest number the window now holds; 36 is long gone.
            Assert.True(server.TryUnprotect(records[38], output, out _, out _));
            Assert.False(server.TryUnprotect(records[36], output, out _, out var old));
            Assert.Equal(DtlsDropReason.Replayed, old);
            // A jump far ahead slides the whole window.
            Assert.True(server.TryUnprotect(records[199], output, out _, out _));
            Assert.False(server.TryUnprotect(records[102], output, out _, out _));
            Assert.True(server.TryUnprotect(records[180], output, out _, out _));
        }
    }

    [Fact]
    public void The_replay_window_slides_as_RFC_6347_describes()
    {
        var window = new DtlsReplayWindow();
        Assert.True(window.IsFresh(0));
        Assert.True(window.IsFresh(ulong.MaxValue >> 16));
        window.Accept(10);
        Assert.False(window.IsFresh(10));
        Assert.True(window.IsFresh(9));
        Assert.True(window.IsFresh(0));
        window.Accept(73); // 73 - 63 = 10: still inside
        Assert.False(window.IsFresh(10));
        Assert.True(window.IsFresh(11));
        window.Accept(74); // 10 slides out: too old, so refused as well
        Assert.False(window.IsFresh(10));
        Assert.True(window.IsFresh(11));
        window.Accept(11);
        Assert.False(window.IsFresh(11));
        window.Accept(1000);
        Assert.False(window.IsFresh(74));
        Assert.True(window.IsFresh(999));
        Assert.True(window.IsFresh(937));
        Assert.False(window.IsFresh(936));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Malformed_records_are_refused_with_a_reason_and_change_nothing(int suite)
    {
        var (client, server) = Pair(suite);
        using (client)
        using (server)
        {
            byte[] buffer = new byte[2000];
            byte[] good = buffer[..client.Protect(23, new byte[300], buffer)];
            byte[] output = new byte[DtlsRecordProtection.MaxPlaintextLength];

            void Refused(byte[] record, DtlsDropReason expected)
            {
                Assert.False(server.TryUnprotect(record, output, out _, out var reason));
                Assert.Equal(expected, reason);
            }

            // Truncated anywhere, or a header whose length lies.
            for (int n = 0; n < good.Length; n++)
                Refused(good[..n], DtlsDropReason.BadLength);
            byte[] liar = (byte[])good.Clone();
            liar[12]--;
            Refused(liar, DtlsDropReason.BadLength);
            // Too short for explicit nonce + tag, with an honest header.
            Refused(Header(23, 1, 5, server.Overhead - 1), DtlsDropReason.BadCiphertextLength);
            // Another epoch.
            byte[] epoch2 = (byte[])good.Clone();
            epoch2[4] = 2;
            Refused(epoch2, DtlsDropReason.WrongEpoch);
            // Decrypting to more than 2^14 bytes.
            Refused(Header(23, 1, 6, DtlsRecordProtection.MaxPlaintextLength + server.Overhead + 1), DtlsDropReason.RecordOverflow);
            // Every bit of the tag, the ciphertext, and the authenticated header fields (type, version, sequence number).
            for (int i = 0; i < good.Length; i++)
            {
                if (i is 3 or 4 or 11 or 12)
                    continue; // epoch and length have their own reasons above
                for (int bit = 0; bit < 8; bit += 3)
                {
                    byte[] flipped = (byte[])good.Clone();
                    flipped[i] ^= (byte)(1 << bit);
                    Refused(flipped, DtlsDropReason.BadRecordMac);
                }
            }

            // None of that moved the replay window or burned the sequence number: the original still opens, once.
            Assert.True(server.TryUnprotect(good, output, out int length, out _));
            Assert.Equal(300, length);
            Refused(good, DtlsDropReason.Replayed);
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void A_forged_record_far_ahead_does_not_move_the_window(int suite)
    {
        var (client, server) = Pair(suite, clientFirst: 5);
        using (client)
        using (server)
        {
            byte[] forged = Header(23, 1, 1_000_000, 40);
            new Random(1).NextBytes(forged.AsSpan(13));
            byte[] output = new byte[100];
            Assert.False(server.TryUnprotect(forged, output, out _, out var reason));
            Assert.Equal(DtlsDropReason.BadRecordMac, reason);
            byte[] record = new byte[100];
            int length = client.Protect(23, [9], record);
            Assert.True(server.TryUnprotect(record.AsSpan(0, length), output, out _, out _));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Thousands_of_random_mutations_never_open(int suite)
    {
        var (client, server) = Pair(suite);
        using (client)
        using (server)
        {
            var random = new Random(4242 + suite);
            var originals = new List<byte[]>();
            for (int i = 0; i < 16; i++)
            {
                byte[] message = new byte[random.Next(0, 1300)];
                random.NextBytes(message);
                byte[] buffer = new byte[1400];
                originals.Add(buffer[..client.Protect((byte)(i % 2 == 0 ? 23 : 21), message, buffer)]);
            }
            byte[] output = new byte[DtlsRecordProtection.MaxPlaintextLength];
            for (int i = 0; i < 5000; i++)
            {
                byte[] original = originals[random.Next(originals.Count)];
                byte[] mutated = Mutate(random, original);
                bool opened = server.TryUnprotect(mutated, output, out _, out _);
                Assert.False(opened && !mutated.AsSpan().SequenceEqual(original), $"mutation {i} opened");
                if (opened)
                    Assert.False(server.TryUnprotect(original, output, out _, out _), "opened twice");
            }
        }
    }

    private static byte[] Mutate(Random random, byte[] original)
    {
        byte[] bytes = (byte[])original.Clone();
        switch (random.Next(4))
        {
            case 0:
                for (int n = random.Next(1, 4); n > 0; n--)
                    bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                return bytes;
            case 1:
                return bytes[..random.Next(bytes.Length)];
            case 2:
                bytes[random.Next(0, 13)] = (byte)random.Next(256);
                return bytes;
            default:
                return bytes; // unchanged: a replay after its first delivery
        }
    }

    [Fact]
    public void Protect_refuses_what_cannot_be_one_record()
    {
        int suite = BcCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
        using var client = new DtlsRecordProtection(suite, false, KeyBlock(suite), 1, DtlsRecordHeader.MaxSequenceNumber);
        Assert.Throws<ArgumentException>(() => client.Protect(23, new byte[DtlsRecordProtection.MaxPlaintextLength + 1], new byte[20000]));
        Assert.Throws<ArgumentException>(() => client.Protect(23, new byte[10], new byte[13 + 8 + 10 + 15]));
        // The last sequence number of the epoch is used once; then the epoch is exhausted (RFC 6347 §4.1: never wrap).
        Assert.Equal(13 + 8 + 10 + 16, client.Protect(23, new byte[10], new byte[100]));
        Assert.Throws<InvalidOperationException>(() => client.Protect(23, new byte[10], new byte[100]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DtlsRecordProtection(suite, false, KeyBlock(suite), 1, DtlsRecordHeader.MaxSequenceNumber + 1));
    }

    private static byte[] Header(byte type, ushort epoch, ulong sequence, int fragmentLength)
    {
        byte[] record = new byte[13 + fragmentLength];
        DtlsRecordHeader.Write(record, type, epoch, sequence, fragmentLength);
        return record;
    }
}
