namespace PeerNet.Sdp;

/// <summary>
/// A c= line (RFC 8866 §5.7): <c>c=&lt;nettype&gt; &lt;addrtype&gt; &lt;connection-address&gt;</c>.
/// JSEP writes <c>c=IN IP4 0.0.0.0</c> when there is no default candidate (RFC 8829 §5.2.1).
/// </summary>
public sealed record SdpConnection
{
    /// <summary><c>IN IP4 0.0.0.0</c>: no address yet (RFC 8840 §4.1.1, trickle ICE).</summary>
    public static SdpConnection Unspecified { get; } = new("IN", "IP4", "0.0.0.0");

    public SdpConnection(string networkType, string addressType, string address)
    {
        NetworkType = SdpGrammar.EnsureToken(networkType, nameof(networkType));
        AddressType = SdpGrammar.EnsureToken(addressType, nameof(addressType));
        SdpGrammar.EnsureLineSafe(address, nameof(address));
        if (address.Length == 0 || address.AsSpan().IndexOfAny(' ', '\t') >= 0)
            throw new ArgumentException("A connection address must be non-empty and contain no spaces.", nameof(address));
        Address = address;
    }

    public string NetworkType { get; }
    public string AddressType { get; }

    /// <summary>The address, possibly with a multicast /ttl and /count suffix kept as written.</summary>
    public string Address { get; }

    public override string ToString() => $"{NetworkType} {AddressType} {Address}";
}
