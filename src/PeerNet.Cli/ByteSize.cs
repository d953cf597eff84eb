using System.Globalization;

namespace PeerNet.Cli;

/// <summary>Sizes and rates in binary units for people ("12.3 MiB", "850 KiB/s").</summary>
internal static class ByteSize
{
    public static string Format(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var unit = 0;
        while (Math.Abs(bytes) >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {units[unit]}");
    }

    public static string Rate(double bytesPerSecond) => Format(bytesPerSecond) + "/s";

    public static string Duration(TimeSpan? time) => time switch
    {
        null => "?",
        { TotalSeconds: < 1 } => "0 s",
        { TotalSeconds: < 60 } t => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0} s"),
        { TotalHours: < 1 } t => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes} min {t.Seconds} s"),
        { } t => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours} h {t.Minutes} min"),
    };
}
