using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PeerNet.Sharing;

/// <summary>
/// An item's manifest, docs/sharing.md §2: UTF-8 JSON <c>{"v":1,"name":...,"files":[{"path","size","type"?,"mtime"?}]}</c>,
/// at most 4 MiB. <see cref="Parse"/> enforces every rule of the spec (unknown fields are ignored);
/// constructing one validates the same rules, so a manifest object is always valid.
/// <para>
/// Beyond the spec's letter, for an item that can be written on any file system: a path may not also
/// be a folder of another path (<c>a</c> and <c>a/b</c>), compared case-insensitively like duplicates
/// (<see cref="StringComparer.OrdinalIgnoreCase"/>); <c>name</c> is required, at most 1,024 UTF-8
/// bytes and free of control characters. A field given twice in one object counts with its last
/// value, as JavaScript's <c>JSON.parse</c> reads it, so every implementation sees the same manifest.
/// </para>
/// </summary>
public sealed class Manifest
{
    /// <summary>The format version, <c>v</c>.</summary>
    public const int Version = 1;

    /// <summary>Most bytes of manifest JSON (4 MiB).</summary>
    public const int MaxJsonLength = 4 * 1024 * 1024;

    /// <summary>Most entries in <c>files</c>.</summary>
    public const int MaxFiles = 100_000;

    /// <summary>Largest file size, 2^53−1 (exact in a JavaScript number).</summary>
    public const long MaxFileSize = (1L << 53) - 1;

    /// <summary>Most characters of a <c>type</c>.</summary>
    public const int MaxTypeLength = 255;

    /// <summary>Most UTF-8 bytes of a <c>name</c>.</summary>
    public const int MaxNameBytes = 1024;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Never embedded in HTML; non-ASCII stays readable and short. Control characters are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = false,
    };

    private readonly ManifestFile[] _files;
    private readonly long[] _fileOffsets;

    /// <summary>A manifest for <paramref name="files"/> (in payload order).</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadManifest"/>: a rule is broken.</exception>
    public Manifest(string name, IEnumerable<ManifestFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        Name = name;
        _files = [.. files];
        _fileOffsets = Validate(name, _files);
    }

    /// <summary><c>name</c>: what the item is called.</summary>
    public string Name { get; }

    /// <summary><c>files</c>, in payload order.</summary>
    public IReadOnlyList<ManifestFile> Files => _files;

    /// <summary>The sum of the sizes.</summary>
    public long PayloadLength => _fileOffsets[^1];

    /// <summary>Each file's start in the payload, then the payload length (files + 1 values).</summary>
    public ReadOnlySpan<long> FileOffsets => _fileOffsets;

    /// <summary>Parses and validates manifest JSON.</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadManifest"/>: not JSON, or a rule is broken.</exception>
    public static Manifest Parse(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxJsonLength)
        {
            throw Bad("longer than 4 MiB");
        }

        try
        {
            return ParseJson(json);
        }
        catch (JsonException e)
        {
            throw new SharingException(SharingErrorCode.BadManifest, "The manifest is not valid JSON.", e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader: a value of another token type than read, or invalid UTF-16 in a string.
            throw new SharingException(SharingErrorCode.BadManifest, "The manifest has a value of the wrong type or text.", e);
        }
        catch (FormatException e)
        {
            throw new SharingException(SharingErrorCode.BadManifest, "The manifest has a malformed value.", e);
        }
    }

    /// <summary>The manifest as compact UTF-8 JSON (fields in the order <c>v, name, files</c>; <c>path, size, type, mtime</c>).</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.TooLarge"/>: over 4 MiB.</exception>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256 + _files.Length * 64);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v"u8, Version);
            writer.WriteString("name"u8, Name);
            writer.WriteStartArray("files"u8);
            foreach (var file in _files)
            {
                writer.WriteStartObject();
                writer.WriteString("path"u8, file.Path);
                writer.WriteNumber("size"u8, file.Size);
                if (file.Type is not null)
                {
                    writer.WriteString("type"u8, file.Type);
                }

                if (file.Mtime is { } mtime)
                {
                    writer.WriteNumber("mtime"u8, mtime);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        if (buffer.WrittenCount > MaxJsonLength)
        {
            throw new SharingException(SharingErrorCode.TooLarge, "The manifest is larger than 4 MiB: too many files or too long paths.");
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static Manifest ParseJson(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
            MaxDepth = 64,
        });

        Expect(ref reader, JsonTokenType.StartObject, "not a JSON object");
        long? version = null;
        string? name = null;
        List<ManifestFile>? files = null;
        while (true)
        {
            Read(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            if (reader.ValueTextEquals("v"u8))
            {
                Read(ref reader);
                version = Integer(ref reader, "v");
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                Expect(ref reader, JsonTokenType.String, "name is not a string");
                name = reader.GetString()!;
            }
            else if (reader.ValueTextEquals("files"u8))
            {
                files = ReadFiles(ref reader);
            }
            else
            {
                // Unknown fields are ignored (§2, forward compatibility).
                reader.Skip();
            }
        }

        if (reader.Read())
        {
            throw Bad("text after the JSON object");
        }

        if (version != Version)
        {
            throw Bad(version is null ? "no v" : $"v is {version}, not 1");
        }

        if (name is null)
        {
            throw Bad("no name");
        }

        if (files is null)
        {
            throw Bad("no files");
        }

        return new Manifest(name, files);
    }

    private static List<ManifestFile> ReadFiles(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartArray, "files is not an array");
        var files = new List<ManifestFile>();
        while (true)
        {
            Read(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return files;
            }

            if (files.Count == MaxFiles)
            {
                throw Bad("more than 100,000 files");
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Bad("a file entry is not an object");
            }

            string? path = null, type = null;
            long? size = null, mtime = null;
            while (true)
            {
                Read(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                if (reader.ValueTextEquals("path"u8))
                {
                    Expect(ref reader, JsonTokenType.String, "path is not a string");
                    path = reader.GetString()!;
                }
                else if (reader.ValueTextEquals("size"u8))
                {
                    Read(ref reader);
                    size = Integer(ref reader, "size");
                }
                else if (reader.ValueTextEquals("type"u8))
                {
                    Expect(ref reader, JsonTokenType.String, "type is not a string");
                    type = reader.GetString()!;
                }
                else if (reader.ValueTextEquals("mtime"u8))
                {
                    Read(ref reader);
                    mtime = Integer(ref reader, "mtime");
                }
                else
                {
                    reader.Skip();
                }
            }

            if (path is null)
            {
                throw Bad("a file without path");
            }

            if (size is null)
            {
                throw Bad("a file without size");
            }

            files.Add(new ManifestFile(path, size.Value, type, mtime));
        }
    }

    private static long[] Validate(string name, ManifestFile[] files)
    {
        if (name is null)
        {
            throw Bad("no name");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(name) > MaxNameBytes || name.Any(char.IsControl) || HasLoneSurrogate(name))
        {
            throw Bad("the name is longer than 1,024 bytes or has control characters");
        }

        if (files.Length is 0 or > MaxFiles)
        {
            throw Bad("files must have 1 to 100,000 entries");
        }

        var offsets = new long[files.Length + 1];
        var paths = new HashSet<string>(files.Length, StringComparer.OrdinalIgnoreCase);
        long total = 0;
        for (var i = 0; i < files.Length; i++)
        {
            var file = files[i] ?? throw Bad("a null file");
            if (ManifestPath.Check(file.Path) is { } why)
            {
                throw Bad(why);
            }

            if (!paths.Add(file.Path))
            {
                throw Bad($"two files named {file.Path} (compared case-insensitively)");
            }

            if (file.Size is < 0 or > MaxFileSize)
            {
                throw Bad("a size outside 0 … 2^53-1");
            }

            if (file.Type is { } type && (type.Length > MaxTypeLength || HasLoneSurrogate(type)))
            {
                throw Bad("a type longer than 255 characters");
            }

            if (file.Mtime is { } mtime && (mtime > MaxFileSize || mtime < -MaxFileSize))
            {
                throw Bad("an mtime outside ±2^53-1");
            }

            offsets[i] = total;
            total += file.Size;
            if (total > MaxFileSize)
            {
                // Checked per file, so the sum never overflows; the 1 TiB limit is the piece layout's.
                throw Bad("the sizes add up to more than 2^53-1");
            }
        }

        offsets[^1] = total;

        // A path that is also another path's folder cannot be written on any file system.
        var lookup = paths.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var file in files)
        {
            var path = file.Path.AsSpan();
            var start = 0;
            int next;
            while ((next = path[start..].IndexOf('/')) >= 0)
            {
                var folder = path[..(start + next)];
                if (lookup.Contains(folder))
                {
                    throw Bad($"{folder} is both a file and a folder");
                }

                start += next + 1;
            }
        }

        return offsets;
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static long Integer(ref Utf8JsonReader reader, string field)
    {
        // An integer literal only: no fraction, no exponent (TryGetInt64 refuses both).
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
        {
            throw Bad($"{field} is not an integer");
        }

        return value;
    }

    private static void Read(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw Bad("the JSON ends early");
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string why)
    {
        Read(ref reader);
        if (reader.TokenType != type)
        {
            throw Bad(why);
        }
    }

    private static SharingException Bad(string why) =>
        new(SharingErrorCode.BadManifest, $"The manifest is invalid: {why}.");
}
