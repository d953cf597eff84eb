namespace PeerNet.Sharing;

/// <summary>
/// The rules of a manifest <c>path</c>, docs/sharing.md §2: relative, <c>/</c>-separated, 1–1,024
/// UTF-8 bytes, segments of 1–255 bytes, no empty, <c>.</c> or <c>..</c> segment, no leading
/// <c>/</c>, no <c>\</c>, no NUL or other control character (Unicode category Cc), valid UTF-16.
/// </summary>
public static class ManifestPath
{
    /// <summary>Most UTF-8 bytes in a path.</summary>
    public const int MaxBytes = 1024;

    /// <summary>Most UTF-8 bytes in a segment.</summary>
    public const int MaxSegmentBytes = 255;

    /// <summary>True when <paramref name="path"/> follows every rule.</summary>
    public static bool IsValid(string? path) => Check(path) is null;

    /// <summary>Why <paramref name="path"/> is not valid, or null when it is.</summary>
    public static string? Check(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "an empty path";
        }

        var total = 0;
        var segmentBytes = 0;
        var segmentStart = 0;
        for (var i = 0; i <= path.Length; i++)
        {
            if (i == path.Length || path[i] == '/')
            {
                var segment = path.AsSpan(segmentStart, i - segmentStart);
                if (segment.IsEmpty)
                {
                    return i == 0 ? "a path starting with /" : "an empty path segment";
                }

                if (segment is "." or "..")
                {
                    return "a . or .. path segment";
                }

                if (segmentBytes > MaxSegmentBytes)
                {
                    return "a path segment longer than 255 bytes";
                }

                segmentStart = i + 1;
                segmentBytes = 0;
                total++;
                continue;
            }

            var c = path[i];
            if (c == '\\')
            {
                return "a \\ in a path";
            }

            if (char.IsControl(c))
            {
                return "a control character in a path";
            }

            int bytes;
            if (char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]))
            {
                bytes = 4;
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return "a lone surrogate in a path";
            }
            else
            {
                bytes = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
            }

            segmentBytes += bytes;
            total += bytes;
        }

        // total counted each '/' as one byte (at the segment ends, minus the last one).
        total--;
        return total > MaxBytes ? "a path longer than 1,024 bytes" : null;
    }
}
