using PeerNet.Sharing;

namespace PeerNet.Cli;

/// <summary>
/// <c>.peernet/CID.info</c> beside a download's state file: the info block, kept so that `get` run
/// again resumes at once (hellos carry the piece count, pieces on disk are announced) without
/// fetching it first. Written atomically (temporary file, then rename); a block that does not parse
/// or commits to another CID is ignored.
/// </summary>
internal static class DownloadInfoFile
{
    public static string PathOf(string directory, ContentId id) => Path.Combine(directory, DownloadStore.StateFolder, id + ".info");

    public static async Task<ContentInfo?> TryReadAsync(string directory, ContentId id, CancellationToken cancellationToken)
    {
        var path = PathOf(directory, id);
        try
        {
            if (!File.Exists(path) || new FileInfo(path).Length > ContentInfo.MaxLength) return null;
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            return ContentInfo.TryParse(bytes, out var info, out _) && info.Id == id ? info : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static async Task WriteAsync(string directory, ContentInfo info, CancellationToken cancellationToken)
    {
        var path = PathOf(directory, info.Id);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        await File.WriteAllBytesAsync(temporary, info.Memory, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }
}
