using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PeerNet.Bench.Connections;

/// <summary>
/// How the benchmark's client talks to a server process: one loopback TCP connection per request, one
/// JSON line each way ({"type":"offer","sdp":...} → {"sdp":...}; "stats"; "closeAll"; "quit"). No hub in
/// between, so nothing but the servers under test paces the handshakes. The aiortc reference speaks the same.
/// </summary>
internal static class SignalWire
{
    public static async Task<JsonElement> RequestAsync(IPEndPoint server, JsonObject request, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var client = new TcpClient(server.AddressFamily) { NoDelay = true };
        await client.ConnectAsync(server, cts.Token);
        await using var stream = client.GetStream();
        var line = Encoding.UTF8.GetBytes(request.ToJsonString() + "\n");
        await stream.WriteAsync(line, cts.Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadLineAsync(cts.Token) ?? throw new IOException("the server closed without answering");
        return JsonDocument.Parse(answer).RootElement.Clone();
    }

    /// <summary>Answers requests until <paramref name="cancellationToken"/> fires; each connection gets one answer.</summary>
    public static async Task ServeAsync(TcpListener listener, Func<JsonElement, Task<JsonObject>> handle, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        client.NoDelay = true;
                        await using var stream = client.GetStream();
                        using var reader = new StreamReader(stream, Encoding.UTF8);
                        var line = await reader.ReadLineAsync(cancellationToken);
                        if (line is null) return;
                        JsonObject reply;
                        try
                        {
                            reply = await handle(JsonDocument.Parse(line).RootElement);
                        }
                        catch (Exception e)
                        {
                            reply = new JsonObject { ["error"] = e.Message };
                        }
                        await stream.WriteAsync(Encoding.UTF8.GetBytes(reply.ToJsonString() + "\n"), cancellationToken);
                    }
                    catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or JsonException)
                    {
                    }
                }
            });
        }
    }

    /// <summary>An SDP with the candidates written into its (only) media section and end-of-candidates (RFC 8840): no trickle needed.</summary>
    public static string WithCandidates(string sdp, IEnumerable<string> candidates)
    {
        var text = new StringBuilder(sdp.TrimEnd('\r', '\n')).Append("\r\n");
        foreach (var candidate in candidates)
        {
            text.Append("a=").Append(candidate.StartsWith("candidate:", StringComparison.Ordinal) ? candidate : "candidate:" + candidate).Append("\r\n");
        }
        return text.Append("a=end-of-candidates\r\n").ToString();
    }

    /// <summary>VmRSS and Threads of a process, from /proc (Linux).</summary>
    public static (long RssBytes, int Threads) ProcStatus(int pid = 0)
    {
        long rss = 0;
        var threads = 0;
        foreach (var line in File.ReadLines(pid == 0 ? "/proc/self/status" : $"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                threads = int.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        return (rss, threads);
    }

    /// <summary>UDP sockets this process holds: its socket descriptors whose inode is in /proc/self/net/udp or udp6.</summary>
    public static int UdpSockets()
    {
        var inodes = new HashSet<string>();
        foreach (var table in new[] { "/proc/self/net/udp", "/proc/self/net/udp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9) inodes.Add(fields[9]);
            }
        }
        var count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            var target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal) && inodes.Contains(target[8..^1])) count++;
        }
        return count;
    }
}
