namespace PeerNet.Sdp;

/// <summary>
/// The o= line (RFC 8866 §5.2): <c>o=&lt;username&gt; &lt;sess-id&gt; &lt;sess-version&gt; &lt;nettype&gt; &lt;addrtype&gt; &lt;unicast-address&gt;</c>.
/// JSEP (RFC 8829 §5.2.1) uses username "-", a random sess-id and an increasing sess-version.
/// </summary>
public sealed record SdpOrigin
{
    public SdpOrigin(string userName, ulong sessionId, ulong sessionVersion,
        string networkType = "IN", string addressType = "IP4", string unicastAddress = "127.0.0.1")
    {
        UserName = EnsureField(userName, nameof(userName));
        SessionId = sessionId;
        SessionVersion = sessionVersion;
        NetworkType = SdpGrammar.EnsureToken(networkType, nameof(networkType));
        AddressType = SdpGrammar.EnsureToken(addressType, nameof(addressType));
        UnicastAddress = EnsureField(unicastAddress, nameof(unicastAddress));
    }

    public string UserName { get; }
    public ulong SessionId { get; init; }
    public ulong SessionVersion { get; init; }
    public string NetworkType { get; }
    public string AddressType { get; }
    public string UnicastAddress { get; }

    public override string ToString() =>
        $"{UserName} {SessionId} {SessionVersion} {NetworkType} {AddressType} {UnicastAddress}";

    /// <summary>username and address are non-whitespace-string (RFC 8866 §9).</summary>
    private static string EnsureField(string value, string paramName)
    {
        SdpGrammar.EnsureLineSafe(value, paramName);
        if (value.Length == 0 || value.AsSpan().IndexOfAny(' ', '\t') >= 0)
            throw new ArgumentException("An o= field must be non-empty and contain no spaces.", paramName);
        return value;
    }
}
