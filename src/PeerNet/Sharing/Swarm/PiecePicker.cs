using PeerNet.Sharing.Wire;

namespace PeerNet.Sharing.Swarm;

/// <summary>
/// Chooses which piece to request next (docs/sharing.md §6): first the priority window
/// (streaming: the pieces from the playing position forward, in order), then rarest first — the
/// wanted piece held by the fewest connected peers, ties at random — and in endgame a piece
/// already in flight elsewhere. Keeps each piece's state and availability; wanted pieces sit in
/// buckets by availability so a pick does not scan every piece. Deterministic for a seeded Random.
/// </summary>
public sealed class PiecePicker
{
    private readonly Random _random;
    private readonly PieceState[] _state;
    private readonly int[] _availability;
    private readonly int[] _position;
    private readonly short[] _copies;
    private readonly List<List<int>> _buckets = [];
    private readonly List<int> _inFlight = [];
    private int _windowFirst;
    private int _windowCount;

    /// <summary>A picker for <paramref name="pieceCount"/> pieces, all wanted and held by nobody.</summary>
    public PiecePicker(int pieceCount, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(pieceCount);
        _random = random;
        _state = new PieceState[pieceCount];
        _availability = new int[pieceCount];
        _position = new int[pieceCount];
        _copies = new short[pieceCount];
        var zero = new List<int>(pieceCount);
        for (var i = 0; i < pieceCount; i++)
        {
            _position[i] = i;
            zero.Add(i);
        }

        _buckets.Add(zero);
        WantedCount = pieceCount;
        MissingCount = pieceCount;
    }

    /// <summary>How many pieces the item has.</summary>
    public int PieceCount => _state.Length;

    /// <summary>Pieces missing and requested from nobody.</summary>
    public int WantedCount { get; private set; }

    /// <summary>Pieces not yet stored.</summary>
    public int MissingCount { get; private set; }

    /// <summary>Pieces requested and not yet verified.</summary>
    public int InFlightCount => _inFlight.Count;

    /// <summary>Every missing piece is requested (§6 "Endgame"): duplicates may go to other peers.</summary>
    public bool IsEndgame => WantedCount == 0 && _inFlight.Count > 0;

    /// <summary>
    /// Grows by one whenever a piece becomes wanted again: a peer for which a rarest-first pick
    /// found nothing need not search again until this (or its own pieces) changes.
    /// </summary>
    public long WantedVersion { get; private set; }

    /// <summary>A piece's state.</summary>
    public PieceState GetState(int piece) => _state[piece];

    /// <summary>How many connected peers have <paramref name="piece"/>.</summary>
    public int GetAvailability(int piece) => _availability[piece];

    /// <summary>How many requests for <paramref name="piece"/> are in flight.</summary>
    public int GetCopies(int piece) => _copies[piece];

    /// <summary>The first piece of the priority window, and its length (0: no window).</summary>
    public (int First, int Count) PriorityWindow => (_windowFirst, _windowCount);

    /// <summary>Streaming: wanted pieces in [first, first + count) go before all others, in order.</summary>
    public void SetPriorityWindow(int first, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _windowFirst = Math.Min(first, PieceCount);
        _windowCount = Math.Min(count, PieceCount - _windowFirst);
    }

    /// <summary>One more connected peer has <paramref name="piece"/>.</summary>
    public void AddAvailability(int piece)
    {
        var a = _availability[piece]++;
        if (_state[piece] == PieceState.Wanted)
        {
            MoveBucket(piece, a, a + 1);
        }
    }

    /// <summary>One fewer connected peer has <paramref name="piece"/>.</summary>
    public void RemoveAvailability(int piece)
    {
        var a = _availability[piece];
        if (a == 0)
        {
            throw new InvalidOperationException($"Piece {piece} has no availability to remove.");
        }

        _availability[piece] = a - 1;
        if (_state[piece] == PieceState.Wanted)
        {
            MoveBucket(piece, a, a - 1);
        }
    }

    /// <summary>
    /// The next piece to request from a peer holding <paramref name="peerHas"/>: the priority window
    /// first, then rarest first. -1 when it has no wanted piece (see <see cref="PickEndgame"/>).
    /// </summary>
    public int PickWanted(PieceBitfield peerHas, Func<int, bool>? skip = null)
    {
        var end = _windowFirst + _windowCount;
        for (var p = _windowFirst; p < end; p++)
        {
            if (_state[p] == PieceState.Wanted && peerHas[p] && (skip is null || !skip(p)))
            {
                return p;
            }
        }

        for (var a = 1; a < _buckets.Count; a++)
        {
            var bucket = _buckets[a];
            var n = bucket.Count;
            if (n == 0)
            {
                continue;
            }

            // A random starting point in the rarest bucket that has a piece for this peer: ties
            // go at random, so peers downloading at once spread over different rare pieces.
            var start = _random.Next(n);
            for (var i = 0; i < n; i++)
            {
                var p = bucket[(start + i) % n];
                if (peerHas[p] && (skip is null || !skip(p)))
                {
                    return p;
                }
            }
        }

        return -1;
    }

    /// <summary>
    /// Endgame (§6): an in-flight piece the peer has and is not already sending us
    /// (<paramref name="requestedHere"/>), with fewer than <paramref name="maxCopies"/> copies in
    /// flight, fewest first. -1 when none.
    /// </summary>
    public int PickEndgame(PieceBitfield peerHas, Func<int, bool> requestedHere, int maxCopies)
    {
        var n = _inFlight.Count;
        if (n == 0)
        {
            return -1;
        }

        var best = -1;
        var start = _random.Next(n);
        for (var i = 0; i < n; i++)
        {
            var p = _inFlight[(start + i) % n];
            if (_copies[p] < maxCopies && peerHas[p] && !requestedHere(p) && (best < 0 || _copies[p] < _copies[best]))
            {
                best = p;
            }
        }

        return best;
    }

    /// <summary>A request for <paramref name="piece"/> went out (the first, or an endgame copy).</summary>
    public void AddRequest(int piece)
    {
        switch (_state[piece])
        {
            case PieceState.Wanted:
                RemoveFromBucket(piece);
                WantedCount--;
                _state[piece] = PieceState.InFlight;
                _position[piece] = _inFlight.Count;
                _inFlight.Add(piece);
                _copies[piece] = 1;
                break;
            case PieceState.InFlight:
                _copies[piece]++;
                break;
            default:
                throw new InvalidOperationException($"Piece {piece} is {_state[piece]}; it cannot be requested.");
        }
    }

    /// <summary>A request for <paramref name="piece"/> ended without it (reject, choke, cancel, stall, peer gone).</summary>
    public void RemoveRequest(int piece)
    {
        if (_state[piece] != PieceState.InFlight)
        {
            return;
        }

        if (--_copies[piece] == 0)
        {
            RemoveFromInFlight(piece);
            MakeWanted(piece);
        }
    }

    /// <summary>The first copy of <paramref name="piece"/> verified: it is being stored; other copies are to be cancelled.</summary>
    public void MarkVerified(int piece)
    {
        if (_state[piece] == PieceState.InFlight)
        {
            RemoveFromInFlight(piece);
        }
        else if (_state[piece] == PieceState.Wanted)
        {
            RemoveFromBucket(piece);
            WantedCount--;
        }
        else
        {
            throw new InvalidOperationException($"Piece {piece} is {_state[piece]}; it cannot be verified again.");
        }

        _copies[piece] = 0;
        _state[piece] = PieceState.Storing;
    }

    /// <summary>The piece is stored (or was on disk from the start).</summary>
    public void MarkHave(int piece)
    {
        switch (_state[piece])
        {
            case PieceState.Have:
                return;
            case PieceState.Wanted:
            case PieceState.InFlight:
                MarkVerified(piece);
                break;
        }

        _state[piece] = PieceState.Have;
        MissingCount--;
    }

    /// <summary>Storing a verified piece failed: it is wanted again.</summary>
    public void MarkStoreFailed(int piece)
    {
        if (_state[piece] == PieceState.Storing)
        {
            MakeWanted(piece);
        }
    }

    private void MakeWanted(int piece)
    {
        _state[piece] = PieceState.Wanted;
        AddToBucket(piece, _availability[piece]);
        WantedCount++;
        WantedVersion++;
    }

    private void RemoveFromInFlight(int piece)
    {
        var i = _position[piece];
        var last = _inFlight[^1];
        _inFlight[i] = last;
        _position[last] = i;
        _inFlight.RemoveAt(_inFlight.Count - 1);
        _copies[piece] = 0;
    }

    private void MoveBucket(int piece, int from, int to)
    {
        RemoveFromBucket(piece, from);
        AddToBucket(piece, to);
    }

    private void RemoveFromBucket(int piece) => RemoveFromBucket(piece, _availability[piece]);

    private void RemoveFromBucket(int piece, int availability)
    {
        var bucket = _buckets[availability];
        var i = _position[piece];
        var last = bucket[^1];
        bucket[i] = last;
        _position[last] = i;
        bucket.RemoveAt(bucket.Count - 1);
    }

    private void AddToBucket(int piece, int availability)
    {
        while (_buckets.Count <= availability)
        {
            _buckets.Add([]);
        }

        var bucket = _buckets[availability];
        _position[piece] = bucket.Count;
        bucket.Add(piece);
    }
}
