using System.Diagnostics;

namespace PeerNet.Bench;

/// <summary>Process and repository helpers shared by the benchmarks.</summary>
internal static class BenchTools
{
    /// <summary>Reads a size option: "1048576", "64K", "10M", "1G" (binary multiples).</summary>
    public static long ParseSize(string text)
    {
        long multiplier = 1;
        var last = char.ToUpperInvariant(text[^1]);
        if (last is 'K' or 'M' or 'G')
        {
            multiplier = last switch { 'K' => 1L << 10, 'M' => 1L << 20, _ => 1L << 30 };
            text = text[..^1];
        }
        return long.Parse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture) * multiplier;
    }

    /// <summary>Runs a tool to completion in <paramref name="dir"/>; a non-zero exit or a timeout is an exception.</summary>
    public static async Task RunToolAsync(string file, string[] args, string dir, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{file} {string.Join(' ', args)} timed out"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed with exit code {p.ExitCode}");
    }

    /// <summary>A tool's standard output (e.g. its version), or "not found".</summary>
    public static async Task<string> CaptureAsync(string file, string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string s = await p.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            return s;
        }
        catch (System.ComponentModel.Win32Exception) { return "not found"; }
    }

    /// <summary>The repository root: the folder holding PeerNet.slnx, above the working or the program's directory.</summary>
    public static string FindRepoRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "PeerNet.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("cannot find the repository root (PeerNet.slnx)");
    }
}
