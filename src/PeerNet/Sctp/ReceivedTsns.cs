namespace PeerNet.Sctp;

/// <summary>
/// The receiver's view of TSNs (RFC 9260 §6.2): the cumulative TSN ack point, the received TSNs
/// above it as sorted disjoint ranges (which become the SACK's gap ack blocks), and duplicates seen
/// since the last SACK. Bounded: at most <see cref="MaxRanges"/> ranges and TSNs within 65535 of the
/// cumulative point (gap block offsets are 16-bit), so a peer cannot grow it.
/// </summary>
internal sealed class ReceivedTsns
{
    public const int MaxRanges = 64;
    public const int MaxDuplicates = 16;
    public const uint MaxAhead = 65535;

    private readonly uint[] _start = new uint[MaxRanges];
    private readonly uint[] _end = new uint[MaxRanges];
    private readonly uint[] _duplicates = new uint[MaxDuplicates];
    private int _count;
    private int _duplicateCount;

    public uint CumulativeTsn { get; private set; }

    public bool HasGaps => _count > 0;

    public int GapCount => _count;

    public int DuplicateCount => _duplicateCount;

    public void Reset(uint cumulativeTsn)
    {
        CumulativeTsn = cumulativeTsn;
        _count = 0;
        _duplicateCount = 0;
    }

    public bool IsReceived(uint tsn)
    {
        if (SerialNumber.Lte(tsn, CumulativeTsn))
        {
            return true;
        }

        for (var i = _count - 1; i >= 0; i--)
        {
            if (SerialNumber.Gte(tsn, _start[i]))
            {
                return SerialNumber.Lte(tsn, _end[i]);
            }
        }

        return false;
    }

    /// <summary>True when the TSN is within what we can record.</summary>
    public bool IsWithinWindow(uint tsn) => tsn - CumulativeTsn <= MaxAhead;

    /// <summary>Records a new TSN (not a duplicate, within the window). False when the range table is full.</summary>
    public bool Add(uint tsn)
    {
        if (tsn == CumulativeTsn + 1)
        {
            CumulativeTsn = tsn;
            if (_count > 0 && _start[0] == tsn + 1)
            {
                CumulativeTsn = _end[0];
                RemoveAt(0);
            }

            return true;
        }

        // Last range starting at or before tsn (usually the last one: data mostly arrives in order).
        var i = _count - 1;
        while (i >= 0 && SerialNumber.Gt(_start[i], tsn))
        {
            i--;
        }

        var joinPrevious = i >= 0 && _end[i] + 1 == tsn;
        var joinNext = i + 1 < _count && _start[i + 1] == tsn + 1;
        if (joinPrevious && joinNext)
        {
            _end[i] = _end[i + 1];
            RemoveAt(i + 1);
        }
        else if (joinPrevious)
        {
            _end[i] = tsn;
        }
        else if (joinNext)
        {
            _start[i + 1] = tsn;
        }
        else
        {
            if (_count == MaxRanges)
            {
                return false;
            }

            Array.Copy(_start, i + 1, _start, i + 2, _count - i - 1);
            Array.Copy(_end, i + 1, _end, i + 2, _count - i - 1);
            _start[i + 1] = tsn;
            _end[i + 1] = tsn;
            _count++;
        }

        return true;
    }

    public void AddDuplicate(uint tsn)
    {
        if (_duplicateCount < MaxDuplicates)
        {
            _duplicates[_duplicateCount++] = tsn;
        }
    }

    /// <summary>Moves the cumulative point forward (FORWARD TSN, RFC 3758 §3.6), absorbing ranges it reaches.</summary>
    public void ForwardTo(uint newCumulativeTsn)
    {
        if (SerialNumber.Lte(newCumulativeTsn, CumulativeTsn))
        {
            return;
        }

        CumulativeTsn = newCumulativeTsn;
        while (_count > 0 && SerialNumber.Lte(_start[0], CumulativeTsn + 1))
        {
            if (SerialNumber.Gt(_end[0], CumulativeTsn))
            {
                CumulativeTsn = _end[0];
            }

            RemoveAt(0);
        }
    }

    /// <summary>Bytes a SACK would take with every gap block and duplicate.</summary>
    public int SackLength => SackChunk.GetLength(_count, _duplicateCount);

    /// <summary>Writes a SACK that fits in <paramref name="room"/> (dropping trailing gap blocks if needed); clears the duplicates.</summary>
    public int WriteSack(Span<byte> destination, uint advertisedWindow, int room)
    {
        var duplicates = Math.Min(_duplicateCount, Math.Max(0, (room - SackChunk.HeaderLength) / 4));
        var gaps = Math.Min(_count, Math.Max(0, (room - SackChunk.HeaderLength - (4 * duplicates)) / 4));
        Span<SctpGapAckBlock> blocks = stackalloc SctpGapAckBlock[gaps];
        for (var i = 0; i < gaps; i++)
        {
            blocks[i] = new SctpGapAckBlock((ushort)(_start[i] - CumulativeTsn), (ushort)(_end[i] - CumulativeTsn));
        }

        var written = SackChunk.Write(destination, CumulativeTsn, advertisedWindow, blocks, _duplicates.AsSpan(0, duplicates));
        _duplicateCount = 0;
        return written;
    }

    private void RemoveAt(int index)
    {
        Array.Copy(_start, index + 1, _start, index, _count - index - 1);
        Array.Copy(_end, index + 1, _end, index, _count - index - 1);
        _count--;
    }
}
