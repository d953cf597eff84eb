namespace PeerNet.Sdp;

/// <summary>A b= line (RFC 8866 §5.8): <c>b=&lt;bwtype&gt;:&lt;bandwidth&gt;</c>, e.g. <c>b=AS:30</c>.</summary>
public sealed record SdpBandwidth
{
    public SdpBandwidth(string type, ulong value)
    {
        Type = SdpGrammar.EnsureToken(type, nameof(type));
        Value = value;
    }

    public string Type { get; }

    public ulong Value { get; }

    public override string ToString() => $"{Type}:{Value}";
}
