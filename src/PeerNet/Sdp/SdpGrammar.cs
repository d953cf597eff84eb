namespace PeerNet.Sdp;

/// <summary>Character classes and number rules of the SDP grammar (RFC 8866 §9).</summary>
internal static class SdpGrammar
{
    /// <summary>token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E (RFC 8866 §9).</summary>
    public static bool IsTokenChar(char c) =>
        c == '!' || (c >= '#' && c <= '\'') || c == '*' || c == '+' || c == '-' || c == '.' ||
        (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= '^' && c <= '~');

    public static bool IsToken(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
            return false;
        foreach (char c in text)
        {
            if (!IsTokenChar(c))
                return false;
        }
        return true;
    }

    /// <summary>proto = token *("/" token) (RFC 8866 §9), e.g. UDP/DTLS/SCTP.</summary>
    public static bool IsProtocol(string text)
    {
        foreach (var range in text.AsSpan().Split('/'))
        {
            if (!IsToken(text.AsSpan()[range]))
                return false;
        }
        return true;
    }

    /// <summary>ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4).</summary>
    public static bool IsIceChar(char c) =>
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';

    /// <summary>
    /// 1*DIGIT as an unsigned 64-bit number. No sign, no spaces, no overflow: the values SDP
    /// carries (session ids, ports, sizes) all fit.
    /// </summary>
    public static bool TryParseDigits(ReadOnlySpan<char> text, out ulong value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 20)
            return false;
        foreach (char c in text)
        {
            if (c < '0' || c > '9')
                return false;
            ulong digit = (ulong)(c - '0');
            if (value > (ulong.MaxValue - digit) / 10)
                return false;
            value = value * 10 + digit;
        }
        return true;
    }

    /// <summary>True for a character that may not appear inside an SDP line (RFC 8866 §9: byte-string excludes NUL, CR, LF).</summary>
    public static bool IsForbiddenInLine(char c) => c == '\0' || c == '\r' || c == '\n';

    /// <summary>Guards builders: a value written into a line must not end the line or smuggle in another one.</summary>
    public static string EnsureLineSafe(string value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        if (value.AsSpan().IndexOfAny('\0', '\r', '\n') >= 0)
            throw new ArgumentException("An SDP value may not contain NUL, CR or LF.", paramName);
        return value;
    }

    public static string EnsureToken(string value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        if (!IsToken(value))
            throw new ArgumentException($"'{SdpParseException.Quote(value)}' is not an SDP token (RFC 8866 §9).", paramName);
        return value;
    }
}
