using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using PeerNet.Turn;

namespace PeerNet.Integration.Tests.Turn;

/// <summary>Helpers for TURN tests on loopback: our server, coturn's tools, free ports.</summary>
internal static class TurnLoopback
{
    public const string User = "user";
    public const string Password = "pass";
    public const string Secret = "rest-secret";

    /// <summary>Starts a host on 127.0.0.1 (UDP and TCP, port 0) that may relay to loopback peers.</summary>
    public static async Task<TurnServerHost> StartHostAsync(Action<TurnServerOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new TurnServerOptions
        {
            Realm = "peernet.test",
            AuthSecret = Secret,
            UdpEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            TcpEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            RelayAddresses = [IPAddress.Loopback],
            AllowedPeerRanges = [IPNetwork.Parse("127.0.0.0/8")],
        };
        options.Users[User] = Password;
        configure?.Invoke(options);
        var host = new TurnServerHost(options, time);
        await host.StartAsync();
        return host;
    }

    /// <summary>A self-signed ECDSA certificate for 127.0.0.1, with its private key usable by SslStream.</summary>
    public static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A UDP port that was free a moment ago (for tools that need one on the command line).</summary>
    public static int FreeUdpPort(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The path of a coturn tool; fails with the package to install when it is missing.</summary>
    public static string Tool(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/bin"))
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        Assert.Fail($"'{name}' is missing: install the Debian package coturn (apt-get install coturn).");
        return name;
    }

    /// <summary>Debian's python3 with aioice; fails with the package to install when it is missing.</summary>
    public static string PythonWithAioice()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python) || !Directory.Exists("/usr/lib/python3/dist-packages/aioice"))
        {
            Assert.Fail("aioice is missing: install the Debian package python3-aioice (apt-get install python3-aioice).");
        }

        return python;
    }

    /// <summary>Runs a program to completion under a time limit (then it is killed); returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? standardInput = null)
    {
        using var process = new Process { StartInfo = Info(fileName, arguments) };
        process.StartInfo.RedirectStandardInput = standardInput is not null;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Append(output, $"[killed after {timeout.TotalSeconds} s]");
            return (-1, Snapshot(output));
        }

        process.WaitForExit(); // flushes the asynchronous output readers
        return (process.ExitCode, Snapshot(output));
    }

    /// <summary>Starts a program that runs until disposed (killed), e.g. turnutils_peer.</summary>
    public static BackgroundProcess Start(string fileName, IEnumerable<string> arguments) => new(Info(fileName, arguments));

    private static ProcessStartInfo Info(string fileName, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>A process killed on dispose, its output kept for diagnostics.</summary>
    internal sealed class BackgroundProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        public BackgroundProcess(ProcessStartInfo info)
        {
            _process = new Process { StartInfo = info };
            _process.OutputDataReceived += (_, e) => Append(_output, e.Data);
            _process.ErrorDataReceived += (_, e) => Append(_output, e.Data);
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output => Snapshot(_output);

        public bool HasExited => _process.HasExited;

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
            }

            _process.Dispose();
        }
    }
}
