namespace PeerNet.Sharing;

/// <summary>One entry of a manifest's <c>files</c>, docs/sharing.md §2.</summary>
/// <param name="Path">Relative, <c>/</c>-separated path, validated by <see cref="ManifestPath"/>.</param>
/// <param name="Size">Bytes, 0 … 2^53−1.</param>
/// <param name="Type">Optional MIME type hint (at most 255 characters).</param>
/// <param name="Mtime">Optional modification time hint, milliseconds since the Unix epoch.</param>
public sealed record ManifestFile(string Path, long Size, string? Type = null, long? Mtime = null);
