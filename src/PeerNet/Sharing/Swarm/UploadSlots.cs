namespace PeerNet.Sharing.Swarm;

/// <summary>
/// Which interested peers we unchoke (docs/sharing.md §5 "Upload slots"): at most
/// <c>slots</c> at a time; the regular slots go to the peers that uploaded most to us in the last
/// round (ties: those already unchoked, then at random), one slot is the optimistic unchoke, which
/// moves to a random choked peer every round of <see cref="Rechoke"/> asked to rotate it. A free
/// slot is filled as soon as a peer becomes interested, so newcomers start at once. Decides only;
/// the caller applies the result with choke/unchoke. Deterministic for a seeded Random.
/// </summary>
public sealed class UploadSlots
{
    private readonly Random _random;
    private readonly Dictionary<string, Entry> _entries = [];
    private readonly List<Entry> _order = [];
    private readonly List<Entry> _scratch = [];
    private Entry? _optimistic;

    /// <summary>Upload slots for <paramref name="slots"/> peers at a time.</summary>
    public UploadSlots(int slots, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentNullException.ThrowIfNull(random);
        Slots = slots;
        _random = random;
    }

    /// <summary>How many peers may be unchoked at once.</summary>
    public int Slots { get; }

    /// <summary>Peers unchoked now.</summary>
    public int UnchokedCount { get; private set; }

    /// <summary>Grows whenever a peer is choked or unchoked: the caller re-applies when it changed.</summary>
    public long Version { get; private set; }

    /// <summary>Whether <paramref name="peer"/> should be unchoked.</summary>
    public bool IsUnchoked(string peer) => _entries.TryGetValue(peer, out var e) && e.Unchoked;

    /// <summary>Whether <paramref name="peer"/> holds the optimistic slot.</summary>
    public bool IsOptimistic(string peer) => _optimistic is not null && _optimistic.Id == peer;

    /// <summary>A new connection (choked, not interested).</summary>
    public void Add(string peer)
    {
        if (_entries.ContainsKey(peer))
        {
            return;
        }

        var e = new Entry(peer);
        _entries.Add(peer, e);
        _order.Add(e);
    }

    /// <summary>A connection ended: its slot is given to another interested peer.</summary>
    public void Remove(string peer)
    {
        if (!_entries.Remove(peer, out var e))
        {
            return;
        }

        _order.Remove(e);
        if (_optimistic == e)
        {
            _optimistic = null;
        }

        if (e.Unchoked)
        {
            UnchokedCount--;
            Version++;
            FillFreeSlots();
        }
    }

    /// <summary>The peer said interested / not-interested.</summary>
    public void SetInterested(string peer, bool interested)
    {
        if (!_entries.TryGetValue(peer, out var e) || e.Interested == interested)
        {
            return;
        }

        e.Interested = interested;
        if (!interested && e.Unchoked)
        {
            SetUnchoked(e, false);
            if (_optimistic == e)
            {
                _optimistic = null;
            }
        }

        FillFreeSlots();
    }

    /// <summary>The peer sent us <paramref name="bytes"/> of verified pieces (its score this round).</summary>
    public void AddReceived(string peer, long bytes)
    {
        if (_entries.TryGetValue(peer, out var e))
        {
            e.Received += bytes;
        }
    }

    /// <summary>
    /// A new round: regular slots to the interested peers that sent us most since the last round;
    /// with <paramref name="rotateOptimistic"/>, the optimistic slot moves to a random choked
    /// interested peer.
    /// </summary>
    public void Rechoke(bool rotateOptimistic)
    {
        _scratch.Clear();
        foreach (var e in _order)
        {
            e.Tiebreak = _random.Next();
            if (e.Interested)
            {
                _scratch.Add(e);
            }
        }

        if (rotateOptimistic || _optimistic is { Interested: false })
        {
            _optimistic = null;
        }

        _scratch.Sort(static (a, b) =>
            b.Received.CompareTo(a.Received) is var c and not 0 ? c
            : b.Unchoked.CompareTo(a.Unchoked) is var d and not 0 ? d
            : a.Tiebreak.CompareTo(b.Tiebreak));

        var regular = Slots > 1 ? Slots - 1 : Slots;
        var keep = new HashSet<Entry>();
        foreach (var e in _scratch)
        {
            if (keep.Count >= regular)
            {
                break;
            }

            if (e != _optimistic)
            {
                keep.Add(e);
            }
        }

        if (Slots > 1)
        {
            if (_optimistic is null || !_optimistic.Interested)
            {
                _optimistic = PickRandom(e => !keep.Contains(e));
            }

            if (_optimistic is not null)
            {
                keep.Add(_optimistic);
            }
        }

        foreach (var e in _order)
        {
            SetUnchoked(e, keep.Contains(e));
            e.Received = 0;
        }

        FillFreeSlots();
    }

    private void FillFreeSlots()
    {
        while (UnchokedCount < Slots && PickRandom(e => !e.Unchoked) is { } next)
        {
            SetUnchoked(next, true);
        }
    }

    private Entry? PickRandom(Func<Entry, bool> eligible)
    {
        var n = 0;
        Entry? chosen = null;
        foreach (var e in _order)
        {
            // Reservoir sampling: each eligible interested peer equally likely, one pass.
            if (e.Interested && eligible(e) && _random.Next(++n) == 0)
            {
                chosen = e;
            }
        }

        return chosen;
    }

    private void SetUnchoked(Entry e, bool unchoked)
    {
        if (e.Unchoked == unchoked)
        {
            return;
        }

        e.Unchoked = unchoked;
        UnchokedCount += unchoked ? 1 : -1;
        Version++;
    }

    private sealed class Entry(string id)
    {
        public string Id { get; } = id;

        public bool Interested { get; set; }

        public bool Unchoked { get; set; }

        public long Received { get; set; }

        public int Tiebreak { get; set; }
    }
}
