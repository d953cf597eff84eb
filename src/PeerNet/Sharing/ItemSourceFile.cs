namespace PeerNet.Sharing;

/// <summary>A file on disk and the manifest entry it becomes.</summary>
/// <param name="FullPath">Where the file is.</param>
/// <param name="Entry">Its manifest entry (path, size when listed, type and mtime hints).</param>
public sealed record ItemSourceFile(string FullPath, ManifestFile Entry);
