namespace PeerNet.Sharing;

/// <summary>
/// The files on disk that make an item, each with its manifest entry, sorted by ordinal manifest
/// path so the same tree always gives the same manifest. A folder contributes every regular file
/// under it as <c>folder/relative/path</c>; a loose file contributes its name. Symbolic links and
/// other reparse points are skipped (a link could lead out of the folder or into a loop).
/// </summary>
public sealed class ItemSource
{
    private ItemSource(string name, ItemSourceFile[] files)
    {
        Name = name;
        Files = files;
        Manifest = new Manifest(name, files.Select(f => f.Entry));
    }

    /// <summary>The item's <c>name</c>.</summary>
    public string Name { get; }

    /// <summary>The files in payload order.</summary>
    public IReadOnlyList<ItemSourceFile> Files { get; }

    /// <summary>The manifest these files make (sizes as listed).</summary>
    public Manifest Manifest { get; }

    /// <summary>Every file under <paramref name="folder"/>; the item is named after the folder.</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadManifest"/>: no files, or a name the manifest cannot carry.</exception>
    public static ItemSource FromFolder(string folder) => FromPaths([folder], name: null);

    /// <summary>One file; the item is named after it.</summary>
    public static ItemSource FromFile(string file) => FromPaths([file], name: null);

    /// <summary>
    /// Files and folders side by side: each file is its name, each folder <c>folder/...</c>. The item
    /// is named <paramref name="name"/>, else after the only path given, else "N files".
    /// </summary>
    /// <exception cref="FileNotFoundException">A path that does not exist.</exception>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadManifest"/>: no files, two with the same name, or a name the manifest cannot carry.</exception>
    public static ItemSource FromPaths(IEnumerable<string> paths, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var list = paths.ToList();
        var files = new List<ItemSourceFile>();
        foreach (var given in list)
        {
            var full = Path.GetFullPath(given);
            if (Directory.Exists(full))
            {
                var root = Path.TrimEndingDirectorySeparator(full);
                var folderName = Path.GetFileName(root);
                if (folderName.Length == 0)
                {
                    throw new SharingException(SharingErrorCode.BadManifest, $"{given} has no name to share it under.");
                }

                Walk(new DirectoryInfo(root), folderName, files);
            }
            else if (File.Exists(full))
            {
                files.Add(Describe(new FileInfo(full), Path.GetFileName(full)));
            }
            else
            {
                throw new FileNotFoundException($"{given} does not exist.", given);
            }
        }

        if (files.Count == 0)
        {
            throw new SharingException(SharingErrorCode.BadManifest, "There are no files to share.");
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Entry.Path, b.Entry.Path));
        name ??= list.Count == 1 ? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(list[0]))) : $"{files.Count} files";
        return new ItemSource(name, [.. files]);
    }

    private static void Walk(DirectoryInfo directory, string prefix, List<ItemSourceFile> files)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
            {
                continue;
            }

            var path = prefix + "/" + entry.Name;
            if (entry is DirectoryInfo sub)
            {
                Walk(sub, path, files);
            }
            else if (entry is FileInfo file)
            {
                files.Add(Describe(file, path));
            }
        }
    }

    private static ItemSourceFile Describe(FileInfo file, string manifestPath)
    {
        var mtime = new DateTimeOffset(file.LastWriteTimeUtc).ToUnixTimeMilliseconds();
        return new ItemSourceFile(file.FullName, new ManifestFile(manifestPath, file.Length, MimeTypes.FromPath(file.Name), mtime));
    }
}
