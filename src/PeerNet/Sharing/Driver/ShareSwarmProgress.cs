namespace PeerNet.Sharing.Driver;

/// <summary>A snapshot of a <see cref="ShareSwarm"/>: what is stored, who is connected, how fast it goes.</summary>
public sealed record ShareSwarmProgress
{
    /// <summary>The item's info block, once known.</summary>
    public ContentInfo? Info { get; init; }

    /// <summary>Pieces of the item, or -1 before the info block is known.</summary>
    public int PieceCount { get; init; } = -1;

    /// <summary>Pieces verified and stored (or, for a sharer, every piece).</summary>
    public int PiecesStored { get; init; }

    /// <summary>Payload bytes of the stored pieces.</summary>
    public long BytesStored { get; init; }

    /// <summary>The payload length, or -1 before the info block is known.</summary>
    public long TotalBytes { get; init; } = -1;

    /// <summary>The stored pieces as a wire bitfield (bit 7 of byte 0 is piece 0), or empty before the info block is known.</summary>
    public ReadOnlyMemory<byte> Have { get; init; }

    /// <summary>Open connections.</summary>
    public int Peers { get; init; }

    /// <summary>Verified payload bytes per second over the last seconds.</summary>
    public double DownloadRate { get; init; }

    /// <summary>Sealed bytes sent per second over the last seconds.</summary>
    public double UploadRate { get; init; }

    /// <summary>Sealed bytes of pieces sent to peers.</summary>
    public long BytesUploaded { get; init; }

    /// <summary>Payload bytes verified from peers in this run.</summary>
    public long BytesDownloaded { get; init; }

    /// <summary>Time left at the current rate, or null when unknown (nothing arriving, or no info yet).</summary>
    public TimeSpan? Eta { get; init; }

    /// <summary>Peers reported as corrupt (a bad piece or info block) or breaking the protocol.</summary>
    public int PeersReported { get; init; }

    /// <summary>Every piece is stored.</summary>
    public bool IsComplete { get; init; }

    /// <summary>For each file of <paramref name="manifest"/> (the item's, from a <see cref="DownloadStore"/>), the bytes of it stored; all zeros before the info block is known.</summary>
    public long[] GetFileBytes(Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return Info is null ? new long[manifest.Files.Count] : ItemProgress.FileBytes(manifest, Info.Layout, Have.Span);
    }
}
