namespace PeerNet.Sharing.Wire;

/// <summary>Settings of one <see cref="ShareWireSession"/>.</summary>
public sealed class ShareWireSessionOptions
{
    /// <summary>How many of the peer's requests we accept outstanding (our hello's maxRequests, 1 … 1,024).</summary>
    public int MaxRequests { get; init; } = 64;

    /// <summary>Bytes of sealed piece per <c>piece</c> message we send (1 … 65,000; 32 KiB is typical, §5).</summary>
    public int BlockLength { get; init; } = ShareWireLimits.DefaultBlockLength;

    /// <summary>
    /// How many of the peer's accepted requests may be waiting for their bytes at once
    /// (<see cref="ShareWireEventKind.PieceNeeded"/> asked, not yet sent): bounds the memory an
    /// upload holds to this many sealed pieces per connection.
    /// </summary>
    public int ReadAhead { get; init; } = 2;

    internal void Validate()
    {
        if (MaxRequests is < ShareWireLimits.MinMaxRequests or > ShareWireLimits.MaxMaxRequests)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRequests), "MaxRequests is 1 … 1,024.");
        }

        if (BlockLength is < 1 or > ShareWireLimits.MaxBlockLength)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockLength), "BlockLength is 1 … 65,000.");
        }

        if (ReadAhead < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ReadAhead), "ReadAhead is at least 1.");
        }
    }
}
