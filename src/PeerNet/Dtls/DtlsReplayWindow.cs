namespace PeerNet.Dtls;

/// <summary>
/// The anti-replay window of one epoch (RFC 6347 §4.1.2.6): a 64-record sliding bitmap whose right edge
/// is the highest sequence number received and authenticated so far. A record is checked before it is
/// decrypted (<see cref="IsFresh"/>) but marked only after it authenticated (<see cref="Accept"/>), so a
/// forged record can neither move the window nor burn a sequence number.
/// </summary>
internal struct DtlsReplayWindow
{
    /// <summary>How many sequence numbers, the highest included, the window remembers.</summary>
    public const int Size = 64;

    // Bit i set: sequence number _highest - i was accepted. Meaningless until _any.
    private ulong _bitmap;
    private ulong _highest;
    private bool _any;

    /// <summary>Whether a record with this 48-bit sequence number may be new: right of the window, or inside it and not yet seen.</summary>
    public readonly bool IsFresh(ulong sequence)
    {
        if (!_any || sequence > _highest)
            return true;
        ulong age = _highest - sequence;
        return age < Size && (_bitmap & (1UL << (int)age)) == 0;
    }

    /// <summary>Marks an authenticated record's sequence number, sliding the window right if it is the newest.</summary>
    public void Accept(ulong sequence)
    {
        if (!_any)
        {
            _any = true;
            _highest = sequence;
            _bitmap = 1;
            return;
        }
        if (sequence > _highest)
        {
            ulong shift = sequence - _highest;
            _bitmap = shift >= Size ? 1 : (_bitmap << (int)shift) | 1;
            _highest = sequence;
            return;
        }
        ulong age = _highest - sequence;
        if (age < Size)
            _bitmap |= 1UL << (int)age;
    }
}
