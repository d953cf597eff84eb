namespace PeerNet.Sdp;

/// <summary>
/// An a= line (RFC 8866 §5.13): a property attribute <c>a=name</c> (<see cref="Value"/> null) or a
/// value attribute <c>a=name:value</c>. Unknown attributes are kept as they are, for round trips.
/// </summary>
public sealed record SdpAttribute
{
    public SdpAttribute(string name, string? value = null)
    {
        Name = SdpGrammar.EnsureToken(name, nameof(name));
        Value = value is null ? null : SdpGrammar.EnsureLineSafe(value, nameof(value));
    }

    public string Name { get; }

    public string? Value { get; }

    /// <summary>The text after <c>a=</c>.</summary>
    public override string ToString() => Value is null ? Name : Name + ":" + Value;
}
