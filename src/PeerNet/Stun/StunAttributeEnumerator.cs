using System.Buffers.Binary;

namespace PeerNet.Stun;

/// <summary>
/// Walks the attributes of a message that <see cref="StunMessageReader.TryParse"/> accepted, in
/// order, skipping the ones RFC 8489 §14.5/§14.6 say to ignore: after MESSAGE-INTEGRITY only
/// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
/// </summary>
public ref struct StunAttributeEnumerator
{
    private readonly ReadOnlySpan<byte> _message;
    private int _offset;
    private IntegrityPhase _phase;
    private StunAttribute _current;

    internal StunAttributeEnumerator(ReadOnlySpan<byte> message)
    {
        _message = message;
        _offset = message.Length >= StunMessage.HeaderLength ? StunMessage.HeaderLength : message.Length;
        _phase = IntegrityPhase.BeforeIntegrity;
        _current = default;
    }

    /// <summary>The attribute at the current position.</summary>
    public readonly StunAttribute Current => _current;

    /// <summary>Enables <c>foreach</c>.</summary>
    public readonly StunAttributeEnumerator GetEnumerator() => this;

    /// <summary>Advances to the next attribute that counts.</summary>
    public bool MoveNext()
    {
        // The reader validated the layout, so lengths are within bounds here.
        while (_offset + StunMessage.AttributeHeaderLength <= _message.Length)
        {
            var type = (StunAttributeType)BinaryPrimitives.ReadUInt16BigEndian(_message[_offset..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(_message[(_offset + 2)..]);
            var value = _message.Slice(_offset + StunMessage.AttributeHeaderLength, length);
            _offset += StunMessage.AttributeHeaderLength + StunMessage.Pad(length);
            if (!Advance(ref _phase, type))
            {
                continue;
            }

            _current = new StunAttribute(type, value);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Applies the §14.5/§14.6 rules: returns whether an attribute of this type counts in the current
    /// phase, and moves the phase on past integrity attributes.
    /// </summary>
    internal static bool Advance(ref IntegrityPhase phase, StunAttributeType type)
    {
        switch (phase)
        {
            case IntegrityPhase.BeforeIntegrity:
                if (type == StunAttributeType.MessageIntegrity)
                {
                    phase = IntegrityPhase.AfterIntegrity;
                }
                else if (type == StunAttributeType.MessageIntegritySha256)
                {
                    phase = IntegrityPhase.AfterIntegritySha256;
                }

                return true;
            case IntegrityPhase.AfterIntegrity:
                if (type == StunAttributeType.MessageIntegritySha256)
                {
                    phase = IntegrityPhase.AfterIntegritySha256;
                    return true;
                }

                return type == StunAttributeType.Fingerprint;
            default:
                return type == StunAttributeType.Fingerprint;
        }
    }

    internal enum IntegrityPhase : byte
    {
        BeforeIntegrity,
        AfterIntegrity,
        AfterIntegritySha256,
    }
}
