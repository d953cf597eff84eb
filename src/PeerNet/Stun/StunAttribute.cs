namespace PeerNet.Stun;

/// <summary>One attribute of a parsed message: its type and its value (without padding).</summary>
public readonly ref struct StunAttribute
{
    /// <summary>Creates a view of an attribute.</summary>
    public StunAttribute(StunAttributeType type, ReadOnlySpan<byte> value)
    {
        Type = type;
        Value = value;
    }

    /// <summary>The attribute type.</summary>
    public StunAttributeType Type { get; }

    /// <summary>The value bytes, excluding padding.</summary>
    public ReadOnlySpan<byte> Value { get; }
}
