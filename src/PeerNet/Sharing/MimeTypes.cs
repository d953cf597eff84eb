namespace PeerNet.Sharing;

/// <summary>The optional <c>type</c> hint of a manifest file, guessed from common file name extensions.</summary>
internal static class MimeTypes
{
    private static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".txt"] = "text/plain", [".md"] = "text/markdown", [".csv"] = "text/csv", [".html"] = "text/html",
        [".htm"] = "text/html", [".css"] = "text/css", [".js"] = "text/javascript", [".json"] = "application/json",
        [".xml"] = "application/xml", [".pdf"] = "application/pdf", [".zip"] = "application/zip",
        [".gz"] = "application/gzip", [".tar"] = "application/x-tar", [".7z"] = "application/x-7z-compressed",
        [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".png"] = "image/png", [".gif"] = "image/gif",
        [".webp"] = "image/webp", [".svg"] = "image/svg+xml", [".avif"] = "image/avif", [".heic"] = "image/heic",
        [".mp3"] = "audio/mpeg", [".ogg"] = "audio/ogg", [".wav"] = "audio/wav", [".flac"] = "audio/flac",
        [".m4a"] = "audio/mp4", [".mp4"] = "video/mp4", [".webm"] = "video/webm", [".mkv"] = "video/x-matroska",
        [".mov"] = "video/quicktime",
    };

    public static string? FromPath(string path) =>
        ByExtension.TryGetValue(Path.GetExtension(path), out var type) ? type : null;
}
