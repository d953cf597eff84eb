using System.Diagnostics;
using System.Text;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>The outcome of a command run to completion in a lab namespace.</summary>
public sealed record LabCommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public string Output => StandardError.Length == 0 ? StandardOutput : $"{StandardOutput}\n[stderr]\n{StandardError}";
}

/// <summary>
/// A process running in a lab namespace (<c>ip netns exec NAME ...</c>, which execs the command,
/// so this process is the command itself). Its output is collected as it comes; disposing kills
/// it and everything it started.
/// </summary>
public sealed class LabProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();
    private int _disposed;

    private LabProcess(Process process, string description)
    {
        _process = process;
        Description = description;
    }

    /// <summary>The command line, for messages.</summary>
    public string Description { get; }

    /// <summary>The process id (the command's own: <c>ip netns exec</c> replaced itself with it).</summary>
    public int Id => _process.Id;

    public bool HasExited => Volatile.Read(ref _disposed) != 0 || _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Standard output so far.</summary>
    public string StandardOutput
    {
        get { lock (_lock) return _stdout.ToString(); }
    }

    /// <summary>Standard error so far.</summary>
    public string StandardError
    {
        get { lock (_lock) return _stderr.ToString(); }
    }

    /// <summary>Both streams so far, for assertion messages.</summary>
    public string Output
    {
        get { lock (_lock) return _stderr.Length == 0 ? _stdout.ToString() : $"{_stdout}\n[stderr]\n{_stderr}"; }
    }

    /// <summary>Starts <paramref name="fileName"/> in namespace <paramref name="netns"/> (null: this process's own).</summary>
    public static LabProcess Start(string? netns, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? standardInput = null)
    {
        var info = new ProcessStartInfo
        {
            FileName = netns is null ? fileName : "ip",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            foreach (var a in (string[])["netns", "exec", netns, fileName]) info.ArgumentList.Add(a);
        }

        foreach (var a in arguments) info.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (key, value) in environment) info.Environment[key] = value;
        }

        var description = string.Join(' ', [info.FileName, .. info.ArgumentList]);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var lab = new LabProcess(process, description);
        process.OutputDataReceived += (_, e) => lab.Append(lab._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => lab.Append(lab._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
            process.StandardInput.Close();
        }

        return lab;
    }

    /// <summary>Runs a command to its end; on timeout it is killed and <see cref="TimeoutException"/> says what it printed.</summary>
    public static async Task<LabCommandResult> RunAsync(string? netns, string fileName, IEnumerable<string> arguments, TimeSpan timeout,
        CancellationToken cancellationToken = default, string? standardInput = null)
    {
        await using var process = Start(netns, fileName, arguments, standardInput: standardInput);
        if (!await process.WaitForExitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"'{process.Description}' did not finish within {timeout.TotalSeconds:0.#} s:\n{process.Output}");
        }

        return new LabCommandResult(process.ExitCode, process.StandardOutput, process.StandardError);
    }

    /// <summary>Waits for the process to end; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Waits until a line of standard output or error satisfies <paramref name="match"/>; throws with the output on timeout or exit.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var line in Output.Split('\n'))
            {
                if (match(line)) return line;
            }

            if (_process.HasExited)
            {
                // Output events may trail the exit by a moment.
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                foreach (var line in Output.Split('\n'))
                {
                    if (match(line)) return line;
                }

                throw new InvalidOperationException($"'{Description}' exited ({_process.ExitCode}) before printing the awaited line:\n{Output}");
            }

            if (clock.Elapsed > timeout) throw new TimeoutException($"'{Description}' did not print the awaited line within {timeout.TotalSeconds:0.#} s:\n{Output}");
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or unkillable: teardown of the namespace goes on regardless.
        }

        _process.Dispose();
    }

    private void Append(StringBuilder builder, string? line)
    {
        if (line is null) return;
        lock (_lock) builder.Append(line).Append('\n');
    }
}
