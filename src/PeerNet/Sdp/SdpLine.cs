namespace PeerNet.Sdp;

/// <summary>
/// A line this stack does not interpret (i=, u=, e=, p=, z=, k=, or a type letter it does not
/// know), kept so a description survives a parse/write round trip.
/// </summary>
public sealed record SdpLine
{
    public SdpLine(char type, string value)
    {
        if (!char.IsAsciiLetter(type))
            throw new ArgumentException("An SDP line type is a single letter (RFC 8866 §5).", nameof(type));
        if (type is 'v' or 'o' or 's' or 'c' or 'b' or 't' or 'r' or 'a' or 'm')
            throw new ArgumentException($"'{type}=' lines have their own property; they are not kept as plain lines.", nameof(type));
        Type = type;
        Value = SdpGrammar.EnsureLineSafe(value, nameof(value));
    }

    public char Type { get; }

    public string Value { get; }

    /// <summary>Lines written right after s= (session) or m= (media): i=, and at session level u=, e=, p= (RFC 8866 §5).</summary>
    internal bool IsSessionInformation => Type is 'i' or 'u' or 'e' or 'p';

    public override string ToString() => $"{Type}={Value}";
}
