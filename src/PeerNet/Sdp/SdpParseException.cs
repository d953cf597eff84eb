using System.Text;

namespace PeerNet.Sdp;

/// <summary>
/// A session description that does not follow the SDP grammar (RFC 8866 §9) or breaks a rule this
/// stack relies on. The message names the offending line, e.g.
/// <c>SDP line 7 'm=application x UDP/DTLS/SCTP webrtc-datachannel': port is not a number</c>.
/// </summary>
public sealed class SdpParseException : FormatException
{
    /// <summary>Longest part of a line quoted in <see cref="Exception.Message"/>.</summary>
    private const int QuotedLineLimit = 100;

    public SdpParseException(int lineNumber, string? line, string reason)
        : base(Describe(lineNumber, line, reason))
    {
        LineNumber = lineNumber;
        Line = line;
        Reason = reason;
    }

    /// <summary>1-based number of the offending line; 0 when the problem is the whole input (e.g. its size).</summary>
    public int LineNumber { get; }

    /// <summary>The offending line without its line ending, or null when the problem is the whole input.</summary>
    public string? Line { get; }

    /// <summary>What is wrong, without the line.</summary>
    public string Reason { get; }

    private static string Describe(int lineNumber, string? line, string reason)
    {
        if (lineNumber <= 0)
            return "SDP: " + reason;
        if (line is null)
            return $"SDP line {lineNumber}: {reason}";
        return $"SDP line {lineNumber} '{Quote(line)}': {reason}";
    }

    /// <summary>Quotes hostile text safely for a log: bounded length, control characters escaped.</summary>
    internal static string Quote(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, QuotedLineLimit) + 8);
        foreach (char c in text.Length > QuotedLineLimit ? text.AsSpan(0, QuotedLineLimit) : text.AsSpan())
        {
            if (c < 0x20 || c == 0x7F)
                builder.Append("\\x").Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            else
                builder.Append(c);
        }
        if (text.Length > QuotedLineLimit)
            builder.Append("...");
        return builder.ToString();
    }
}
