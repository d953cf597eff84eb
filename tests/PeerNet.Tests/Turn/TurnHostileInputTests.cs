using System.Buffers.Binary;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>Garbage, truncations and mutations never throw, get the right error or silence, and never disturb other clients.</summary>
public class TurnHostileInputTests
{
    private static readonly StunAddress Peer = TurnTestHarness.Peer("8.8.8.8:5000");

    [Fact]
    public void Random_datagrams_never_throw_and_the_server_keeps_serving()
    {
        var h = new TurnTestHarness();
        var victim = h.Client("198.51.100.9:1000");
        var relayed = victim.AllocateOk();
        victim.ChannelBind(0x4000, Peer);

        var random = new Random(1234);
        var attacker = h.Endpoint("203.0.113.66:666");
        var sameTuple = victim.Endpoint;
        for (var i = 0; i < 20_000; i++)
        {
            var length = random.Next(0, 200);
            var bytes = new byte[length];
            random.NextBytes(bytes);
            if (length > 0 && i % 3 == 0)
            {
                bytes[0] &= 0x3F; // look like STUN
            }

            if (length >= 8 && i % 6 == 0)
            {
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), StunMessage.MagicCookie);
                BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)((length - 20) & ~3));
            }

            if (length > 0 && i % 5 == 0)
            {
                bytes[0] = (byte)(0x40 | (bytes[0] & 0x0F)); // look like ChannelData
            }

            h.Send(i % 2 == 0 ? attacker : sameTuple, bytes);
        }

        // The victim's allocation and channel still work.
        Assert.Equal(TurnOutputKind.ToPeer, victim.SendChannel(0x4000, [1, 2, 3]).Kind);
        Assert.NotNull(h.FromPeer(relayed, Peer, [4, 5, 6], out _));
        Assert.Equal(StunClass.SuccessResponse, victim.Refresh(600).Class);
        Assert.Equal(1, h.Server.AllocationCount);
    }

    [Fact]
    public void Every_truncation_and_bit_flip_of_valid_requests_is_handled()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();
        client.CreatePermission(Peer);

        var messages = new List<byte[]>
        {
            client.Signed(StunMethod.Refresh, (ref StunMessageWriter w) => w.AddLifetime(600)),
            client.Signed(StunMethod.CreatePermission, (ref StunMessageWriter w) => w.AddXorPeerAddress(Peer)),
            client.Signed(StunMethod.ChannelBind, (ref StunMessageWriter w) =>
            {
                w.AddChannelNumber(0x4001);
                w.AddXorPeerAddress(Peer);
            }),
            TurnTestHarness.Build(StunMethod.Send, StunClass.Indication, (ref StunMessageWriter w) =>
            {
                w.AddXorPeerAddress(Peer);
                w.AddData([1, 2, 3, 4, 5]);
                w.AddFingerprint();
            }),
            TurnTestHarness.Build(StunMethod.Binding, StunClass.Request, (ref StunMessageWriter w) => w.AddFingerprint()),
            new byte[] { 0x40, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 },
        };

        var other = h.Endpoint("198.51.100.200:2000");
        foreach (var message in messages)
        {
            for (var length = 0; length < message.Length; length++)
            {
                h.Send(client.Endpoint, message.AsSpan(0, length));
                h.Send(other, message.AsSpan(0, length));
            }

            for (var bit = 0; bit < message.Length * 8; bit++)
            {
                var mutated = (byte[])message.Clone();
                mutated[bit / 8] ^= (byte)(1 << (bit % 8));
                h.Send(client.Endpoint, mutated); // the harness checks that whatever comes back parses
            }
        }

        Assert.Equal(1, h.Server.AllocationCount);
        Assert.Equal(StunClass.SuccessResponse, client.Refresh(600).Class);
    }

    [Fact]
    public void A_request_with_a_malformed_known_attribute_gets_400_and_other_garbage_is_silent()
    {
        var h = new TurnTestHarness();
        var client = h.Endpoint();

        // LIFETIME with 3 bytes: the header parses, the attribute does not.
        var bad = TurnTestHarness.Build(StunMethod.Allocate, StunClass.Request, (ref StunMessageWriter w) =>
        {
            w.AddAttribute(StunAttributeType.Lifetime, [0, 0, 1]);
            w.AddSoftware(new string('x', 40));
        });
        var reply = h.Send(client, bad)!;
        Assert.Equal(400, reply.ErrorCode);
        Assert.Equal(StunMethod.Allocate, reply.Method);
        Assert.Equal(bad[8..20], reply.Bytes[8..20]);

        // The same as an indication: silence.
        var badIndication = (byte[])bad.Clone();
        badIndication[1] |= 0x10;
        Assert.Null(h.Send(client, badIndication));

        // Wrong cookie, bad length, bad fingerprint: silence.
        var binding = TurnTestHarness.Build(StunMethod.Binding, StunClass.Request, (ref StunMessageWriter w) => w.AddFingerprint());
        var cookie = (byte[])binding.Clone();
        cookie[4] ^= 0xFF;
        Assert.Null(h.Send(client, cookie));
        var fingerprint = (byte[])binding.Clone();
        fingerprint[^1] ^= 1;
        Assert.Null(h.Send(client, fingerprint));
        Assert.Null(h.Send(client, binding.AsSpan(0, binding.Length - 4)));
        Assert.Null(h.Send(client, [0x80, 0, 0, 0, 0, 0, 0, 0]));
        Assert.True(h.Server.GetDropCount(TurnDropReason.Malformed) >= 4);
    }

    [Fact]
    public void Channel_data_with_bad_lengths_or_numbers_is_dropped()
    {
        var h = new TurnTestHarness();
        var client = h.Client();
        client.AllocateOk();
        client.ChannelBind(0x4000, Peer);

        Assert.Null(h.Send(client.Endpoint, [0x40, 0x00, 0x00, 0x10, 1, 2], out var output)); // claims 16 bytes, has 2
        Assert.Equal(TurnOutputKind.None, output.Kind);
        Assert.Null(h.Send(client.Endpoint, [0x50, 0x00, 0x00, 0x00], out output)); // 0x5000 is reserved
        Assert.Equal(TurnOutputKind.None, output.Kind);
        Assert.Null(h.Send(client.Endpoint, [0x40, 0x00, 0x00, 0x01, 1, 0, 0, 0, 0, 0], out output)); // too much padding
        Assert.Equal(TurnOutputKind.None, output.Kind);
        Assert.Null(h.Send(client.Endpoint, [0x40, 0x01, 0x00, 0x00], out output)); // unbound
        Assert.Equal(TurnOutputKind.None, output.Kind);

        // Empty ChannelData on a bound channel is legal.
        Assert.Null(h.Send(client.Endpoint, [0x40, 0x00, 0x00, 0x00], out output));
        Assert.Equal(TurnOutputKind.ToPeer, output.Kind);
        Assert.Equal(0, output.Length);
    }

    [Fact]
    public void Bad_input_is_logged_once_per_client_and_kind()
    {
        var logger = new CountingLogger();
        var h = new TurnTestHarness(o => o.Logger = logger);
        var attacker = h.Endpoint("203.0.113.66:666");
        for (var i = 0; i < 100; i++)
        {
            h.Send(attacker, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
            h.Send(h.Endpoint($"203.0.113.66:{1000 + i}"), [0xFF, 0xFF, 0xFF, 0xFF]);
        }

        Assert.Equal(1, logger.Warnings);
        h.Send(h.Endpoint("203.0.113.67:666"), [0xFF, 0xFF, 0xFF, 0xFF]);
        Assert.Equal(2, logger.Warnings);
        Assert.Equal(201, h.Server.GetDropCount(TurnDropReason.Malformed));
    }

    [Fact]
    public void Response_buffer_must_be_big_enough()
    {
        var h = new TurnTestHarness();
        Assert.Throws<ArgumentException>(() => h.Server.HandleClientMessage(h.Endpoint(), [0, 1, 0, 0], new byte[100], h.Now));
    }

    private sealed class CountingLogger : Microsoft.Extensions.Logging.ILogger
    {
        public int Warnings { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == Microsoft.Extensions.Logging.LogLevel.Warning)
            {
                Warnings++;
            }

            _ = formatter(state, exception);
        }
    }
}
