namespace PeerNet.Sdp;

/// <summary>
/// The syntax of the attributes data-channel negotiation relies on, checked wherever they appear
/// (the parser, and the typed view for descriptions built in code). Other attributes are kept
/// unchecked. Each rule returns null when the value is good, or the reason it is not.
/// </summary>
internal static class SdpAttributeRules
{
    /// <summary>RFC 8839 §5.4: ice-ufrag = 4*256ice-char.</summary>
    public const int MinUfragLength = 4;
    /// <summary>RFC 8839 §5.4: ice-pwd = 22*256ice-char.</summary>
    public const int MinPwdLength = 22;
    /// <summary>RFC 8839 §5.4: both at most 256 ice-chars.</summary>
    public const int MaxIceCredentialLength = 256;

    /// <summary>Attributes that may appear at most once per level.</summary>
    public static bool IsSingleValued(string name) => name is
        SdpAttributeNames.Mid or SdpAttributeNames.IceUfrag or SdpAttributeNames.IcePwd or
        SdpAttributeNames.Setup or SdpAttributeNames.SctpPort or SdpAttributeNames.MaxMessageSize;

    public static string? Check(string name, string? value) => name switch
    {
        SdpAttributeNames.IceUfrag => CheckIceCredential(value, MinUfragLength, "ice-ufrag"),
        SdpAttributeNames.IcePwd => CheckIceCredential(value, MinPwdLength, "ice-pwd"),
        SdpAttributeNames.IceOptions => CheckTokenList(value, "ice-options"),
        SdpAttributeNames.Fingerprint => CheckFingerprint(value),
        SdpAttributeNames.Setup => SdpSetupRoleNames.TryParse(value, out _)
            ? null : "setup must be active, passive, actpass or holdconn (RFC 4145 §4)",
        SdpAttributeNames.Mid => value is not null && SdpGrammar.IsToken(value)
            ? null : "mid must be a token (RFC 5888 §4, RFC 8866 §9)",
        SdpAttributeNames.SctpPort => CheckPort(value, "sctp-port (RFC 8841 §5.2)"),
        SdpAttributeNames.MaxMessageSize => value is not null && SdpGrammar.TryParseDigits(value, out ulong size) && size <= long.MaxValue
            ? null : "max-message-size must be a non-negative number (RFC 8841 §6)",
        SdpAttributeNames.Candidate => CheckCandidate(value),
        SdpAttributeNames.Group => CheckGroup(value),
        SdpAttributeNames.SctpMap => CheckSctpMap(value),
        _ => null,
    };

    private static string? CheckIceCredential(string? value, int minLength, string what)
    {
        if (value is null || value.Length < minLength || value.Length > MaxIceCredentialLength)
            return $"{what} must be {minLength} to {MaxIceCredentialLength} characters (RFC 8839 §5.4)";
        foreach (char c in value)
        {
            if (!SdpGrammar.IsIceChar(c))
                return $"{what} may contain only letters, digits, '+' and '/' (RFC 8839 §5.4)";
        }
        return null;
    }

    private static string? CheckTokenList(string? value, string what)
    {
        if (string.IsNullOrEmpty(value))
            return $"{what} needs at least one token";
        foreach (var range in value.AsSpan().Split(' '))
        {
            if (!SdpGrammar.IsToken(value.AsSpan()[range]))
                return $"{what} must be tokens separated by single spaces";
        }
        return null;
    }

    /// <summary>
    /// RFC 8122 §5: fingerprint-attribute = hash-func SP fingerprint; fingerprint = 2UHEX *(":" 2UHEX).
    /// Lower-case hex is accepted too: some stacks write it.
    /// </summary>
    private static string? CheckFingerprint(string? value)
    {
        const string Reason = "fingerprint must be '<hash-function> <hex pairs separated by colons>' (RFC 8122 §5)";
        if (value is null)
            return Reason;
        int space = value.IndexOf(' ');
        if (space <= 0 || !SdpGrammar.IsToken(value.AsSpan(0, space)))
            return Reason;
        var hex = value.AsSpan(space + 1);
        if (hex.Length < 2 || (hex.Length + 1) % 3 != 0)
            return Reason;
        for (int i = 0; i < hex.Length; i++)
        {
            bool ok = i % 3 == 2 ? hex[i] == ':' : char.IsAsciiHexDigit(hex[i]);
            if (!ok)
                return Reason;
        }
        return null;
    }

    private static string? CheckPort(string? value, string what) =>
        value is not null && SdpGrammar.TryParseDigits(value, out ulong port) && port is >= 1 and <= 65535
            ? null : $"{what} must be a number from 1 to 65535";

    /// <summary>
    /// Only the shape RFC 8839 §5.1 fixes up to the candidate type: foundation component transport
    /// priority address port "typ" type. The rest is the ICE layer's to interpret.
    /// </summary>
    private static string? CheckCandidate(string? value)
    {
        const string Reason = "candidate must be '<foundation> <component> <transport> <priority> <address> <port> typ <type> ...' (RFC 8839 §5.1)";
        if (string.IsNullOrEmpty(value))
            return Reason;
        int index = 0;
        foreach (var range in value.AsSpan().Split(' '))
        {
            var field = value.AsSpan()[range];
            if (field.IsEmpty && index < 8)
                return Reason;
            if (index == 6 && !field.SequenceEqual("typ"))
                return Reason;
            index++;
        }
        return index >= 8 ? null : Reason;
    }

    /// <summary>RFC 5888 §5: group-attribute = "group:" semantics *(SP identification-tag).</summary>
    private static string? CheckGroup(string? value) =>
        CheckTokenList(value, "group") is null ? null : "group must be '<semantics> <mid> ...' with tokens (RFC 5888 §5)";

    /// <summary>draft-ietf-mmusic-sctp-sdp-05 §4.1: sctpmap = port SP protocol [SP streams].</summary>
    private static string? CheckSctpMap(string? value)
    {
        const string Reason = "sctpmap must be '<port> <protocol> [<streams>]'";
        if (value is null)
            return Reason;
        string[] parts = value.Split(' ');
        if (parts.Length is < 2 or > 3 || CheckPort(parts[0], "sctpmap port") is not null || !SdpGrammar.IsToken(parts[1]))
            return Reason;
        if (parts.Length == 3 && !SdpGrammar.TryParseDigits(parts[2], out _))
            return Reason;
        return null;
    }
}
