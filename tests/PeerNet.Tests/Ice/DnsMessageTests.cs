using System.Net;
using PeerNet.Ice.Mdns;

namespace PeerNet.Tests.Ice;

public class DnsMessageTests
{
    private const string Name = "4a9b4c3e-d66f-4b61-8d2a-3a8c1b5f6e6d.local";

    [Fact]
    public void Query_has_id_zero_and_the_qu_bit()
    {
        var buffer = new byte[512];
        var length = DnsMessage.WriteQuery(buffer, Name, [DnsRecordType.A, DnsRecordType.Aaaa], unicastResponse: true);
        var message = DnsMessage.Parse(buffer.AsSpan(0, length));
        Assert.Equal(0, message.Id);
        Assert.False(message.IsResponse);
        Assert.Equal(2, message.Questions.Count);
        Assert.Equal(Name, message.Questions[0].Name);
        Assert.Equal((ushort)DnsRecordType.A, message.Questions[0].Type);
        Assert.Equal((ushort)DnsRecordType.Aaaa, message.Questions[1].Type);
        Assert.True(message.Questions[0].UnicastResponse);
        Assert.Equal(1, message.Questions[0].Class);
    }

    [Fact]
    public void Response_with_addresses_round_trips()
    {
        var buffer = new byte[512];
        var length = DnsMessage.WriteAddressResponse(buffer, Name, [IPAddress.Parse("192.168.1.20"), IPAddress.Parse("2001:db8::20")], 120);
        var message = DnsMessage.Parse(buffer.AsSpan(0, length));
        Assert.True(message.IsResponse);
        Assert.Equal(2, message.Answers.Count);
        Assert.True(message.Answers[0].TryGetAddress(out var v4));
        Assert.Equal(IPAddress.Parse("192.168.1.20"), v4);
        Assert.True(message.Answers[1].TryGetAddress(out var v6));
        Assert.Equal(IPAddress.Parse("2001:db8::20"), v6);
        Assert.True(message.Answers[0].CacheFlush);
        Assert.Equal(120u, message.Answers[0].TimeToLive);
    }

    // A response as dnspython (aioice) writes it: the answer name compressed to the question's.
    private static byte[] CompressedResponse()
    {
        var name = DnsMessage.EncodeName("abc.local");
        var bytes = new List<byte> { 0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0 };
        bytes.AddRange(name);
        bytes.AddRange([0, 1, 0, 1]);
        bytes.AddRange([0xC0, 12]); // pointer to the question name
        bytes.AddRange([0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 1, 2, 3]);
        return [.. bytes];
    }

    [Fact]
    public void Compression_pointers_are_followed()
    {
        var message = DnsMessage.Parse(CompressedResponse());
        var answer = Assert.Single(message.Answers);
        Assert.Equal("abc.local", answer.Name);
        Assert.True(answer.TryGetAddress(out var address));
        Assert.Equal(IPAddress.Parse("10.1.2.3"), address);
    }

    [Fact]
    public void A_pointer_to_itself_or_forwards_is_refused()
    {
        var self = CompressedResponse();
        self[12 + 11 + 4] = 0xC0;
        self[12 + 11 + 5] = (byte)(12 + 11 + 4); // points at itself
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(self));

        var forward = CompressedResponse();
        forward[12 + 11 + 5] = 40; // past itself
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(forward));

        // Two pointers that point at each other.
        byte[] loop = [0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0xC0, 12, 0, 1, 0, 1];
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(loop));
    }

    [Fact]
    public void Hostile_shapes_are_refused()
    {
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse([1, 2, 3]));

        // Counts that cannot fit.
        byte[] lyingCounts = [0, 0, 0x84, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0];
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(lyingCounts));

        // Reserved label type 0b01.
        byte[] reserved = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 1, 0, 1];
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(reserved));

        // RDATA length past the end.
        var truncated = CompressedResponse();
        truncated[^5] = 200;
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(truncated));

        // A name over 255 bytes built from labels.
        var longName = new List<byte> { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
        for (var i = 0; i < 5; i++)
        {
            longName.Add(63);
            longName.AddRange(Enumerable.Repeat((byte)'a', 63));
        }

        longName.AddRange([0, 0, 1, 0, 1]);
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(longName.ToArray()));

        Assert.Throws<ArgumentException>(() => DnsMessage.EncodeName(new string('a', 64) + ".local"));
        Assert.Throws<ArgumentException>(() => DnsMessage.EncodeName("a..local"));
    }

    [Fact]
    public void Random_mutations_only_raise_the_format_exception()
    {
        var random = new Random(6762);
        var buffer = new byte[512];
        var length = DnsMessage.WriteAddressResponse(buffer, Name, [IPAddress.Parse("192.168.1.20"), IPAddress.Parse("2001:db8::20")], 120);
        var seeds = new[] { buffer[..length], CompressedResponse() };
        for (var i = 0; i < 50_000; i++)
        {
            var seed = seeds[i % seeds.Length];
            var mutant = seed.ToArray();
            switch (random.Next(3))
            {
                case 0:
                    for (var flips = random.Next(1, 6); flips > 0; flips--)
                    {
                        mutant[random.Next(mutant.Length)] = (byte)random.Next(256);
                    }

                    break;
                case 1:
                    mutant = mutant[..random.Next(mutant.Length)];
                    break;
                default:
                    mutant = [.. mutant, .. Enumerable.Range(0, random.Next(1, 30)).Select(_ => (byte)random.Next(256))];
                    break;
            }

            try
            {
                DnsMessage.Parse(mutant);
            }
            catch (DnsFormatException)
            {
            }
        }
    }
}
