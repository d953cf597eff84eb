using PeerNet.Sdp;
using Xunit.Abstractions;

namespace PeerNet.Tests.Sdp;

/// <summary>
/// Malformed and hostile descriptions: always an <see cref="SdpParseException"/> naming the line
/// (or an <see cref="SdpNegotiationException"/> for a well-formed but unusable one), never anything else.
/// </summary>
public class SdpHostileInputTests(ITestOutputHelper output)
{
    private const string Head = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\n";

    [Theory]
    [InlineData("m=application x UDP/DTLS/SCTP webrtc-datachannel", 5, "port is not a number")]
    [InlineData("m=application 70000 UDP/DTLS/SCTP webrtc-datachannel", 5, "port is out of range (0-65535)")]
    [InlineData("m=application -1 UDP/DTLS/SCTP webrtc-datachannel", 5, "port is not a number")]
    [InlineData("m=application 9/0 UDP/DTLS/SCTP webrtc-datachannel", 5, "the number of ports is not a positive number")]
    [InlineData("m=application 9 UDP/DTLS/SCTP", 5, "expected '<media> <port> <proto> <fmt> ...' (RFC 8866 §5.14)")]
    [InlineData("m=application  9 UDP/DTLS/SCTP webrtc-datachannel", 5, "expected '<media> <port> <proto> <fmt> ...' separated by single spaces")]
    [InlineData("m=application 9 UDP//SCTP webrtc-datachannel", 5, "proto must be tokens separated by '/'")]
    [InlineData("m=appl\"ication 9 UDP/DTLS/SCTP webrtc-datachannel", 5, "media must be a token")]
    [InlineData("a no equals sign", 5, "expected '<type>=<value>' (RFC 8866 §5)")]
    [InlineData("a =x", 5, "expected '<type>=<value>' (RFC 8866 §5)")]
    [InlineData("1=x", 5, "the line type must be a single letter (RFC 8866 §5)")]
    [InlineData("a=", 5, "the attribute has no name")]
    [InlineData("a=bad name:x", 5, "the attribute name must be a token (RFC 8866 §5.13)")]
    [InlineData("c=IN IP4", 5, "expected '<nettype> <addrtype> <address>' (RFC 8866 §5.7)")]
    [InlineData("b=AS", 5, "expected '<bwtype>:<bandwidth>' (RFC 8866 §5.8)")]
    [InlineData("b=AS:lots", 5, "expected '<bwtype>:<bandwidth>' (RFC 8866 §5.8)")]
    [InlineData("t=0", 5, "expected '<start-time> <stop-time>' as numbers (RFC 8866 §5.9)")]
    [InlineData("o=- 1 1 IN IP4 127.0.0.1", 5, "duplicate o= line")]
    [InlineData("a=ice-ufrag:abc", 5, "ice-ufrag must be 4 to 256 characters (RFC 8839 §5.4)")]
    [InlineData("a=ice-ufrag:ab:cd", 5, "ice-ufrag may contain only letters, digits, '+' and '/' (RFC 8839 §5.4)")]
    [InlineData("a=ice-ufrag:ab cd", 5, "ice-ufrag may contain only letters, digits, '+' and '/' (RFC 8839 §5.4)")]
    [InlineData("a=ice-pwd:abcdefghijklmnopqrstu", 5, "ice-pwd must be 22 to 256 characters (RFC 8839 §5.4)")]
    [InlineData("a=ice-pwd", 5, "ice-pwd must be 22 to 256 characters (RFC 8839 §5.4)")]
    [InlineData("a=setup:client", 5, "setup must be active, passive, actpass or holdconn (RFC 4145 §4)")]
    [InlineData("a=setup:ACTIVE", 5, "setup must be active, passive, actpass or holdconn (RFC 4145 §4)")]
    [InlineData("a=fingerprint:sha-256", 5, "fingerprint must be '<hash-function> <hex pairs separated by colons>' (RFC 8122 §5)")]
    [InlineData("a=fingerprint:sha-256 AB:CD:E", 5, "fingerprint must be '<hash-function> <hex pairs separated by colons>' (RFC 8122 §5)")]
    [InlineData("a=fingerprint:sha-256 AB-CD", 5, "fingerprint must be '<hash-function> <hex pairs separated by colons>' (RFC 8122 §5)")]
    [InlineData("a=ice-options:", 5, "ice-options needs at least one token")]
    [InlineData("a=candidate:1 1 udp 1 127.0.0.1 9 host", 5, "candidate must be '<foundation> <component> <transport> <priority> <address> <port> typ <type> ...' (RFC 8839 §5.1)")]
    [InlineData("a=group:BUNDLE  0", 5, "group must be '<semantics> <mid> ...' with tokens (RFC 5888 §5)")]
    public void Malformed_session_line(string line, int lineNumber, string reason)
    {
        var error = Assert.Throws<SdpParseException>(() => SessionDescription.Parse(Head + line + "\n"));
        Assert.Equal(lineNumber, error.LineNumber);
        Assert.Equal(line, error.Line);
        Assert.Equal(reason, error.Reason);
        Assert.Equal($"SDP line {lineNumber} '{line}': {reason}", error.Message);
        Assert.IsAssignableFrom<FormatException>(error);
    }

    [Fact]
    public void Ice_credentials_longer_than_256_characters_are_refused()
    {
        // RFC 8839 §5.4: ice-ufrag = 4*256ice-char, ice-pwd = 22*256ice-char.
        Assert.NotNull(SessionDescription.Parse(Head + "a=ice-ufrag:" + new string('u', 256) + "\na=ice-pwd:" + new string('p', 256) + "\n"));
        Assert.Equal("ice-ufrag must be 4 to 256 characters (RFC 8839 §5.4)",
            Assert.Throws<SdpParseException>(() => SessionDescription.Parse(Head + "a=ice-ufrag:" + new string('u', 257) + "\n")).Reason);
        Assert.Equal("ice-pwd must be 22 to 256 characters (RFC 8839 §5.4)",
            Assert.Throws<SdpParseException>(() => SessionDescription.Parse(Head + "a=ice-pwd:" + new string('p', 257) + "\n")).Reason);
    }

    [Theory]
    [InlineData("a=sctp-port:x", "sctp-port (RFC 8841 §5.2) must be a number from 1 to 65535")]
    [InlineData("a=sctp-port:0", "sctp-port (RFC 8841 §5.2) must be a number from 1 to 65535")]
    [InlineData("a=sctp-port:65536", "sctp-port (RFC 8841 §5.2) must be a number from 1 to 65535")]
    [InlineData("a=sctp-port:+5000", "sctp-port (RFC 8841 §5.2) must be a number from 1 to 65535")]
    [InlineData("a=max-message-size:-1", "max-message-size must be a non-negative number (RFC 8841 §6)")]
    [InlineData("a=max-message-size:99999999999999999999", "max-message-size must be a non-negative number (RFC 8841 §6)")]
    [InlineData("a=max-message-size:9223372036854775808", "max-message-size must be a non-negative number (RFC 8841 §6)")]
    [InlineData("a=mid:", "mid must be a token (RFC 5888 §4, RFC 8866 §9)")]
    [InlineData("a=mid:0", "mid '0' is used by another m= section (RFC 5888 §4)")]
    [InlineData("a=ice-ufrag:abcd", "duplicate a=ice-ufrag at the same level")]
    [InlineData("a=sctpmap:5000", "sctpmap must be '<port> <protocol> [<streams>]'")]
    [InlineData("c=IN IP4 0.0.0.0", "more than one c= line in an m= section")]
    [InlineData("t=0 0", "a t= line belongs to the session and may not follow an m= line (RFC 8866 §5)")]
    public void Malformed_media_line(string line, string reason)
    {
        // The line is appended to the second m= section (a copy of the first with mid 0 removed).
        string sdp = DataChannelSectionTests.Minimal("") + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\na=ice-ufrag:abcd\n" + line + "\n";
        int lineNumber = sdp.Count(c => c == '\n');
        var error = Assert.Throws<SdpParseException>(() => SessionDescription.Parse(sdp));
        Assert.Equal(reason, error.Reason);
        Assert.Equal(lineNumber, error.LineNumber);
        Assert.Equal(line, error.Line);
    }

    [Theory]
    [InlineData("", 0, "the description is empty")]
    [InlineData("\r\n\r\n", 0, "the description is empty")]
    [InlineData("o=- 1 1 IN IP4 0.0.0.0\n", 1, "the first line must be v=0 (RFC 8866 §5.1)")]
    [InlineData("v=1\n", 1, "the version must be 0 (RFC 8866 §5.1)")]
    [InlineData("v=0\ns=-\n", 2, "expected the o= line after v= (RFC 8866 §5.2)")]
    [InlineData("v=0\no=- 1 1 IN IP4\n", 2, "expected '<username> <sess-id> <sess-version> <nettype> <addrtype> <address>' (RFC 8866 §5.2)")]
    [InlineData("v=0\no=- x 1 IN IP4 0.0.0.0\n", 2, "sess-id is not a number")]
    [InlineData("v=0\no=- 1 99999999999999999999 IN IP4 0.0.0.0\n", 2, "sess-version is not a number")]
    [InlineData("v=0\no=- 1 1 IN IP4 0.0.0.0\nt=0 0\n", 3, "expected the s= line after o= (RFC 8866 §5.3)")]
    [InlineData("v=0\no=- 1 1 IN IP4 0.0.0.0\n", 2, "the description ends before its s= line")]
    [InlineData("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\n", 3, "the description has no t= line (RFC 8866 §5.9)")]
    [InlineData("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\n", 4, "expected a t= line before the first m= line (RFC 8866 §5.9)")]
    [InlineData("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\n\nt=0 0\n", 4, "empty line")]
    [InlineData("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=x\rb\n", 5, "the line contains a CR that does not end it")]
    [InlineData("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=x\0\n", 5, "the line contains a NUL character")]
    [InlineData("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nr=1 2 3\n", 4, "r= must follow a t= line (RFC 8866 §5.10)")]
    public void Malformed_structure(string sdp, int lineNumber, string reason)
    {
        var error = Assert.Throws<SdpParseException>(() => SessionDescription.Parse(sdp));
        Assert.Equal(reason, error.Reason);
        Assert.Equal(lineNumber, error.LineNumber);
    }

    [Fact]
    public void Control_characters_are_escaped_in_the_message()
    {
        var error = Assert.Throws<SdpParseException>(() => SessionDescription.Parse(Head + "a=x\0y\n"));
        Assert.Equal("a=x\0y", error.Line);
        Assert.Equal("SDP line 5 'a=x\\x00y': the line contains a NUL character", error.Message);
        Assert.DoesNotContain('\0', error.Message);
    }

    [Fact]
    public void One_mebibyte_is_refused_before_any_work()
    {
        string huge = Head + string.Concat(Enumerable.Repeat("a=x-padding:0123456789abcdef0123456789abcdef0123456789abcdef\n", 1024 * 1024 / 60 + 1));
        Assert.True(huge.Length > 1024 * 1024);
        var error = Assert.Throws<SdpParseException>(() => SessionDescription.Parse(huge));
        Assert.Equal(0, error.LineNumber);
        Assert.Null(error.Line);
        Assert.StartsWith("SDP: the description is ", error.Message);
        Assert.Contains("more than the limit of 262144", error.Message);
    }

    [Fact]
    public void A_line_over_the_limit_is_refused_with_a_short_quote()
    {
        var error = Assert.Throws<SdpParseException>(() => SessionDescription.Parse(Head + "a=x:" + new string('y', 10_000) + "\n"));
        Assert.Equal(5, error.LineNumber);
        Assert.Equal("the line is 10004 characters long, more than the limit of 8192", error.Reason);
        Assert.True(error.Message.Length < 200);
    }

    [Fact]
    public void Line_attribute_and_media_counts_are_limited()
    {
        var options = new SdpParseOptions { MaxLines = 10, MaxAttributes = 3, MaxMediaDescriptions = 2 };
        Assert.Equal("the description has more than 10 lines",
            Assert.Throws<SdpParseException>(() => SessionDescription.Parse(Head + string.Concat(Enumerable.Repeat("k=x\n", 7)), options)).Reason);
        Assert.Equal("more than 3 a= lines",
            Assert.Throws<SdpParseException>(() => SessionDescription.Parse(Head + "a=a\na=b\na=c\na=d\n", options)).Reason);
        Assert.Equal("more than 2 m= sections",
            Assert.Throws<SdpParseException>(() => SessionDescription.Parse(Head + "m=a 0 P 0\nm=a 0 P 0\nm=a 0 P 0\n", options)).Reason);

        // Defaults: many attributes, lines and sections are refused too, without quadratic work.
        string many = Head + string.Concat(Enumerable.Range(0, 12_000).Select(i => $"a=x{i}\n"));
        Assert.Equal("more than 10000 a= lines", Assert.Throws<SdpParseException>(() => SessionDescription.Parse(many)).Reason);
        string sections = Head + string.Concat(Enumerable.Range(0, 1_100).Select(i => $"m=audio 0 RTP/AVP 0\na=mid:{i}\n"));
        Assert.Equal("more than 1024 m= sections", Assert.Throws<SdpParseException>(() => SessionDescription.Parse(sections)).Reason);
    }

    [Fact]
    public void Random_mutations_of_real_descriptions_fail_only_with_typed_exceptions()
    {
        var random = new Random(20261124);
        string[] samples = [.. SdpParseTests.SampleNames.Select(SdpParseTests.Sample)];
        string alphabet = " :=/\r\n\0\t-0123456789amcvotsbAZ+\"\u00e9";
        int parsed = 0, refused = 0, negotiated = 0;
        for (int iteration = 0; iteration < 6000; iteration++)
        {
            string sdp = samples[random.Next(samples.Length)];
            int mutations = 1 + random.Next(4);
            for (int m = 0; m < mutations; m++)
                sdp = Mutate(sdp, random, alphabet);

            try
            {
                var description = SessionDescription.Parse(sdp);
                parsed++;
                // What parses writes back to text that parses to the same text.
                string written = description.ToString();
                Assert.Equal(written, SessionDescription.Parse(written).ToString());
                try
                {
                    DataChannelSection.Read(description, SdpType.Offer);
                    Jsep.CreateAnswer(description, JsepOfferTests.Local);
                    negotiated++;
                }
                catch (SdpNegotiationException)
                {
                }
            }
            catch (SdpParseException e)
            {
                refused++;
                Assert.True(e.LineNumber >= 0);
                Assert.DoesNotContain('\0', e.Message);
                Assert.DoesNotContain('\n', e.Message);
            }
        }
        output.WriteLine($"parsed {parsed} (negotiated {negotiated}), refused {refused}");
        // The loop must exercise both outcomes, or it tests nothing.
        Assert.True(parsed > 500, $"parsed {parsed}");
        Assert.True(refused > 500, $"refused {refused}");
        Assert.True(negotiated > 100, $"negotiated {negotiated}");
    }

    private static string Mutate(string sdp, Random random, string alphabet)
    {
        int at = random.Next(sdp.Length);
        switch (random.Next(7))
        {
            case 0: // replace one character
                return string.Concat(sdp.AsSpan(0, at), alphabet[random.Next(alphabet.Length)].ToString(), sdp.AsSpan(at + 1));
            case 1: // insert one character
                return sdp.Insert(at, alphabet[random.Next(alphabet.Length)].ToString());
            case 2: // delete a run
                return sdp.Remove(at, Math.Min(sdp.Length - at, 1 + random.Next(12)));
            case 3: // truncate
                return sdp[..at];
            default:
            {
                // line-level: drop, duplicate or swap lines
                var lines = sdp.Split("\r\n").ToList();
                int i = random.Next(lines.Count), j = random.Next(lines.Count);
                switch (random.Next(3))
                {
                    case 0: lines.RemoveAt(i); break;
                    case 1: lines.Insert(i, lines[j]); break;
                    default: (lines[i], lines[j]) = (lines[j], lines[i]); break;
                }
                return string.Join("\r\n", lines);
            }
        }
    }
}
