using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// A `peernet` command run as a real process for the sharing tests: its output (stdout and stderr)
/// collected line by line, waits for a line, a graceful stop (SIGTERM, as Ctrl+C) or a kill -9.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<string> _lines = [];
    private readonly string _name;

    private CliProcess(string name, IEnumerable<string> arguments, string? workingDirectory)
    {
        _name = name;
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        info.ArgumentList.Add(PeerNetCli.DllPath());
        foreach (var a in arguments) info.ArgumentList.Add(a);
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static CliProcess Start(string name, params string[] arguments) => new(name, arguments, null);

    /// <summary>Runs a command to its end (killed after <paramref name="timeout"/>); returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        using var process = Start(arguments.FirstOrDefault() ?? "peernet", arguments);
        var exit = await process.WaitForExitAsync(timeout);
        return (exit ?? -1, process.Output + (exit is null ? $"\n[killed after {timeout.TotalSeconds} s]" : ""));
    }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The process id (the `dotnet` host running the CLI), e.g. to read /proc/PID/status.</summary>
    public int Id => _process.Id;

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.AppendLine(line);
            _lines.Add(line);
        }
    }

    /// <summary>The first line matching <paramref name="pattern"/> (waits for it); fails with the output if the process exits or time runs out first.</summary>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern);
        var clock = Stopwatch.StartNew();
        var seen = 0;
        while (true)
        {
            lock (_output)
            {
                for (; seen < _lines.Count; seen++)
                {
                    var match = regex.Match(_lines[seen]);
                    if (match.Success) return match;
                }
            }
            if (_process.HasExited)
            {
                _process.WaitForExit();
                lock (_output)
                {
                    if (seen < _lines.Count) continue;
                }
                Assert.Fail($"{_name} exited ({_process.ExitCode}) before printing /{pattern}/:\n{Output}");
            }
            if (clock.Elapsed > timeout) Assert.Fail($"{_name} did not print /{pattern}/ within {timeout.TotalSeconds} s:\n{Output}");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits for the exit; null when it did not exit in time (it is then killed).</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            _process.WaitForExit(); // flushes the output readers
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Kill();
            return null;
        }
    }

    /// <summary>SIGTERM, which the command takes as Ctrl+C: it says goodbye to its peers and leaves.</summary>
    public async Task<int?> StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited) return _process.ExitCode;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        return await WaitForExitAsync(timeout);
    }

    /// <summary>kill -9: no goodbye, no cleanup.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
