namespace PeerNet.Sdp;

/// <summary>
/// Reads RFC 8866 text into a <see cref="SessionDescription"/>. Strict where this stack relies on
/// the content (line shape, v/o/s/t/c/b/m syntax, the attributes <see cref="SdpAttributeRules"/>
/// knows, unique mids), lenient elsewhere: unknown line types and attributes are kept. Every
/// failure is an <see cref="SdpParseException"/> naming the line; size limits bound the work.
/// </summary>
internal sealed class SdpParser
{
    private enum Expect { Version, Origin, SessionName, Session, Media }

    private readonly string _text;
    private readonly SdpParseOptions _options;
    private readonly HashSet<string> _mids = new(StringComparer.Ordinal);
    private readonly HashSet<string> _singleValuedSeen = new(StringComparer.Ordinal);
    private SessionDescription? _description;
    private MediaDescription? _media;
    private Expect _expect = Expect.Version;
    private int _lineNumber;
    private string _line = "";
    private int _attributeCount;

    private SdpParser(string text, SdpParseOptions options)
    {
        _text = text;
        _options = options;
    }

    public static SessionDescription Parse(string sdp, SdpParseOptions options)
    {
        ArgumentNullException.ThrowIfNull(sdp);
        ArgumentNullException.ThrowIfNull(options);
        if (sdp.Length > options.MaxLength)
            throw new SdpParseException(0, null, $"the description is {sdp.Length} characters long, more than the limit of {options.MaxLength}");
        return new SdpParser(sdp, options).Run();
    }

    private SessionDescription Run()
    {
        int position = 0;
        while (position < _text.Length)
        {
            int newline = _text.IndexOf('\n', position);
            int end = newline < 0 ? _text.Length : newline;
            int next = newline < 0 ? _text.Length : newline + 1;
            // RFC 8866 §5: lines end with CRLF, but parsers should also accept a bare LF.
            int contentEnd = end > position && _text[end - 1] == '\r' ? end - 1 : end;
            _lineNumber++;

            if (contentEnd - position > _options.MaxLineLength)
            {
                _line = _text.Substring(position, Math.Min(contentEnd - position, 40));
                throw Error($"the line is {contentEnd - position} characters long, more than the limit of {_options.MaxLineLength}");
            }
            if (_lineNumber > _options.MaxLines)
                throw new SdpParseException(_lineNumber, null, $"the description has more than {_options.MaxLines} lines");

            _line = _text.Substring(position, contentEnd - position);
            if (_line.Length == 0)
            {
                // Trailing blank lines after the last line are tolerated; a blank line inside is not.
                if (_text.AsSpan(next).ContainsAnyExcept("\r\n \t"))
                    throw Error("empty line");
                break;
            }
            ReadLine();
            position = next;
        }

        if (_lineNumber == 0 || _description is null && _expect == Expect.Version)
            throw new SdpParseException(0, null, "the description is empty");
        if (_expect is Expect.Origin or Expect.SessionName)
            throw new SdpParseException(_lineNumber, null, $"the description ends before its {(_expect == Expect.Origin ? "o=" : "s=")} line");
        var description = _description!;
        if (description.Timings.Count == 0)
            throw new SdpParseException(_lineNumber, null, "the description has no t= line (RFC 8866 §5.9)");
        return description;
    }

    private void ReadLine()
    {
        if (_line.AsSpan().IndexOfAny('\0', '\r') is int bad and >= 0)
            throw Error(_line[bad] == '\0' ? "the line contains a NUL character" : "the line contains a CR that does not end it");
        if (_line.Length < 2 || _line[1] != '=')
            throw Error("expected '<type>=<value>' (RFC 8866 §5)");
        char type = _line[0];
        if (!char.IsAsciiLetter(type))
            throw Error("the line type must be a single letter (RFC 8866 §5)");
        string value = _line[2..];

        switch (_expect)
        {
            case Expect.Version:
                if (type != 'v')
                    throw Error("the first line must be v=0 (RFC 8866 §5.1)");
                if (value != "0")
                    throw Error("the version must be 0 (RFC 8866 §5.1)");
                _expect = Expect.Origin;
                return;
            case Expect.Origin:
                if (type != 'o')
                    throw Error("expected the o= line after v= (RFC 8866 §5.2)");
                _description = new SessionDescription(ReadOrigin(value));
                _description.Timings.Clear();
                _expect = Expect.SessionName;
                return;
            case Expect.SessionName:
                if (type != 's')
                    throw Error("expected the s= line after o= (RFC 8866 §5.3)");
                _description!.SessionName = value;
                _expect = Expect.Session;
                return;
            case Expect.Session:
                ReadSessionLine(_description!, type, value);
                return;
            default:
                ReadMediaLine(_media!, type, value);
                return;
        }
    }

    private void ReadSessionLine(SessionDescription description, char type, string value)
    {
        switch (type)
        {
            case 'v' or 'o' or 's':
                throw Error($"duplicate {type}= line");
            case 'c':
                if (description.Connection is not null)
                    throw Error("duplicate session-level c= line");
                description.Connection = ReadConnection(value);
                break;
            case 'b':
                description.Bandwidths.Add(ReadBandwidth(value));
                break;
            case 't':
                description.Timings.Add(ReadTiming(value));
                break;
            case 'r':
                if (description.Timings.Count == 0)
                    throw Error("r= must follow a t= line (RFC 8866 §5.10)");
                var last = description.Timings[^1];
                description.Timings[^1] = new SdpTiming(last.StartTime, last.StopTime, [.. last.RepeatTimes, value]);
                break;
            case 'a':
                description.Attributes.Add(ReadAttribute(value));
                break;
            case 'm':
                if (description.Timings.Count == 0)
                    throw Error("expected a t= line before the first m= line (RFC 8866 §5.9)");
                StartMedia(description, value);
                break;
            default:
                description.OtherLines.Add(new SdpLine(type, value));
                break;
        }
    }

    private void ReadMediaLine(MediaDescription media, char type, string value)
    {
        switch (type)
        {
            case 'm':
                StartMedia(_description!, value);
                break;
            case 'c':
                if (media.Connection is not null)
                    throw Error("more than one c= line in an m= section");
                media.Connection = ReadConnection(value);
                break;
            case 'b':
                media.Bandwidths.Add(ReadBandwidth(value));
                break;
            case 'a':
                var attribute = ReadAttribute(value);
                if (attribute.Name == SdpAttributeNames.Mid && !_mids.Add(attribute.Value!))
                    throw Error($"mid '{SdpParseException.Quote(attribute.Value!)}' is used by another m= section (RFC 5888 §4)");
                media.Attributes.Add(attribute);
                break;
            case 'v' or 'o' or 's' or 'u' or 'e' or 'p' or 't' or 'r' or 'z':
                throw Error($"a {type}= line belongs to the session and may not follow an m= line (RFC 8866 §5)");
            default:
                media.OtherLines.Add(new SdpLine(type, value));
                break;
        }
    }

    private void StartMedia(SessionDescription description, string value)
    {
        if (description.Media.Count >= _options.MaxMediaDescriptions)
            throw Error($"more than {_options.MaxMediaDescriptions} m= sections");
        _media = ReadMedia(value);
        description.Media.Add(_media);
        _singleValuedSeen.Clear();
        _expect = Expect.Media;
    }

    /// <summary>o=&lt;username&gt; &lt;sess-id&gt; &lt;sess-version&gt; &lt;nettype&gt; &lt;addrtype&gt; &lt;unicast-address&gt; (RFC 8866 §5.2).</summary>
    private SdpOrigin ReadOrigin(string value)
    {
        string[] fields = SplitFields(value, "'<username> <sess-id> <sess-version> <nettype> <addrtype> <address>'");
        if (fields.Length != 6)
            throw Error("expected '<username> <sess-id> <sess-version> <nettype> <addrtype> <address>' (RFC 8866 §5.2)");
        if (!SdpGrammar.TryParseDigits(fields[1], out ulong sessionId))
            throw Error("sess-id is not a number");
        if (!SdpGrammar.TryParseDigits(fields[2], out ulong sessionVersion))
            throw Error("sess-version is not a number");
        if (!SdpGrammar.IsToken(fields[3]) || !SdpGrammar.IsToken(fields[4]))
            throw Error("nettype and addrtype must be tokens");
        return new SdpOrigin(fields[0], sessionId, sessionVersion, fields[3], fields[4], fields[5]);
    }

    /// <summary>t=&lt;start-time&gt; &lt;stop-time&gt; (RFC 8866 §5.9).</summary>
    private SdpTiming ReadTiming(string value)
    {
        string[] fields = SplitFields(value, "'<start-time> <stop-time>'");
        if (fields.Length != 2 || !SdpGrammar.TryParseDigits(fields[0], out ulong start) || !SdpGrammar.TryParseDigits(fields[1], out ulong stop))
            throw Error("expected '<start-time> <stop-time>' as numbers (RFC 8866 §5.9)");
        return new SdpTiming(start, stop);
    }

    /// <summary>c=&lt;nettype&gt; &lt;addrtype&gt; &lt;connection-address&gt; (RFC 8866 §5.7).</summary>
    private SdpConnection ReadConnection(string value)
    {
        string[] fields = SplitFields(value, "'<nettype> <addrtype> <address>'");
        if (fields.Length != 3)
            throw Error("expected '<nettype> <addrtype> <address>' (RFC 8866 §5.7)");
        if (!SdpGrammar.IsToken(fields[0]) || !SdpGrammar.IsToken(fields[1]))
            throw Error("nettype and addrtype must be tokens");
        return new SdpConnection(fields[0], fields[1], fields[2]);
    }

    /// <summary>b=&lt;bwtype&gt;:&lt;bandwidth&gt; (RFC 8866 §5.8).</summary>
    private SdpBandwidth ReadBandwidth(string value)
    {
        int colon = value.IndexOf(':');
        if (colon <= 0 || !SdpGrammar.IsToken(value.AsSpan(0, colon)) || !SdpGrammar.TryParseDigits(value.AsSpan(colon + 1), out ulong bandwidth))
            throw Error("expected '<bwtype>:<bandwidth>' (RFC 8866 §5.8)");
        return new SdpBandwidth(value[..colon], bandwidth);
    }

    /// <summary>m=&lt;media&gt; &lt;port&gt;[/&lt;number of ports&gt;] &lt;proto&gt; &lt;fmt&gt; ... (RFC 8866 §5.14).</summary>
    private MediaDescription ReadMedia(string value)
    {
        string[] fields = SplitFields(value, "'<media> <port> <proto> <fmt> ...'");
        if (fields.Length < 4)
            throw Error("expected '<media> <port> <proto> <fmt> ...' (RFC 8866 §5.14)");
        if (!SdpGrammar.IsToken(fields[0]))
            throw Error("media must be a token");
        string portText = fields[1];
        int? portCount = null;
        int slash = portText.IndexOf('/');
        if (slash >= 0)
        {
            if (!SdpGrammar.TryParseDigits(portText.AsSpan(slash + 1), out ulong count) || count is 0 or > int.MaxValue)
                throw Error("the number of ports is not a positive number");
            portCount = (int)count;
            portText = portText[..slash];
        }
        if (!SdpGrammar.TryParseDigits(portText, out ulong port))
            throw Error("port is not a number");
        if (port > 65535)
            throw Error("port is out of range (0-65535)");
        if (!SdpGrammar.IsProtocol(fields[2]))
            throw Error("proto must be tokens separated by '/'");
        for (int i = 3; i < fields.Length; i++)
        {
            if (!SdpGrammar.IsToken(fields[i]))
                throw Error($"format '{SdpParseException.Quote(fields[i])}' is not a token");
        }
        return new MediaDescription(fields[0], (int)port, fields[2], fields[3..]) { PortCount = portCount };
    }

    /// <summary>a=&lt;attribute&gt; or a=&lt;attribute&gt;:&lt;value&gt; (RFC 8866 §5.13).</summary>
    private SdpAttribute ReadAttribute(string value)
    {
        if (++_attributeCount > _options.MaxAttributes)
            throw Error($"more than {_options.MaxAttributes} a= lines");
        int colon = value.IndexOf(':');
        string name = colon < 0 ? value : value[..colon];
        string? attributeValue = colon < 0 ? null : value[(colon + 1)..];
        if (!SdpGrammar.IsToken(name))
            throw Error(name.Length == 0 ? "the attribute has no name" : "the attribute name must be a token (RFC 8866 §5.13)");
        if (SdpAttributeRules.Check(name, attributeValue) is { } reason)
            throw Error(reason);
        if (SdpAttributeRules.IsSingleValued(name) && !_singleValuedSeen.Add(name))
            throw Error($"duplicate a={name} at the same level");
        return new SdpAttribute(name, attributeValue);
    }

    /// <summary>Fields are separated by exactly one space (RFC 8866 §9); trailing blanks are forgiven.</summary>
    private string[] SplitFields(string value, string expected)
    {
        string[] fields = value.TrimEnd(' ', '\t').Split(' ');
        foreach (string field in fields)
        {
            if (field.Length == 0 || field.Contains('\t'))
                throw Error($"expected {expected} separated by single spaces");
        }
        return fields;
    }

    private SdpParseException Error(string reason) => new(_lineNumber, _line, reason);
}
