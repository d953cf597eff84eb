using System.Diagnostics;
using System.Text;

namespace PeerNet.Integration.Tests.Dtls;

/// <summary>An <c>openssl</c> child process with its output collected and its stdin kept open.</summary>
internal sealed class OpenSslProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private OpenSslProcess(Process process) => _process = process;

    public static string Executable
    {
        get
        {
            foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin"))
            {
                string path = Path.Combine(directory, "openssl");
                if (File.Exists(path))
                    return path;
            }
            Assert.Fail("'openssl' is missing: install the Debian package openssl (apt-get install openssl).");
            return "openssl";
        }
    }

    public static OpenSslProcess Start(string workingDirectory, params string[] arguments)
    {
        var info = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            info.ArgumentList.Add(argument);
        var process = new Process { StartInfo = info };
        var result = new OpenSslProcess(process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Runs openssl to completion (for key and certificate generation).</summary>
    public static string Run(string workingDirectory, params string[] arguments)
    {
        using var process = Start(workingDirectory, arguments);
        process._process.StandardInput.Close();
        Assert.True(process._process.WaitForExit(30_000), "openssl did not finish: " + process.Output);
        process._process.WaitForExit(); // flush the asynchronous readers
        Assert.True(process._process.ExitCode == 0, $"openssl {string.Join(' ', arguments)} failed: {process.Output}");
        return process.Output;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    public void WriteLine(string line)
    {
        _process.StandardInput.Write(line + "\n");
        _process.StandardInput.Flush();
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; false after <paramref name="timeoutMillis"/>.</summary>
    public bool WaitForOutput(string text, int timeoutMillis = 10_000)
    {
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < timeoutMillis)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
                return true;
            Thread.Sleep(10);
        }
        return false;
    }

    public void Dispose()
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
            // Already gone.
        }
        _process.Dispose();
    }
}
