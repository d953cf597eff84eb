using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PeerNet.Rtc;
using PeerNet.Signaling;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>
/// <c>peernet ping</c>: the ping of PeerNet. Offers to the peer in a room (an echo peer), then
/// prints how long the connection took, the candidate pair ICE chose, round-trip times, and the
/// throughput of a bulk transfer echoed back.
/// </summary>
internal static class PingCommand
{
    public static Command Create()
    {
        var options = new PeerCommandOptions();
        var count = new Option<int>("--count", "-c") { Description = "Round trips to time", DefaultValueFactory = _ => 10 };
        var size = new Option<string>("--size", "-s") { Description = "Bytes per ping message", DefaultValueFactory = _ => "64" };
        var total = new Option<string>("--bytes", "-b") { Description = "Bytes to send for the throughput test (echoed back; 0 = skip), e.g. 64M", DefaultValueFactory = _ => "0" };
        var chunk = new Option<string>("--chunk") { Description = "Message size for the throughput test", DefaultValueFactory = _ => "16K" };
        var noWarmUp = new Option<bool>("--no-warm-up") { Description = "Do not run the stack once in-process first (the setup time then includes the JIT's first compile)" };
        var command = new Command("ping", "Connect to the echo peer in a room and measure setup time, round trips and throughput.");
        options.AddTo(command);
        command.Options.Add(count);
        command.Options.Add(size);
        command.Options.Add(total);
        command.Options.Add(chunk);
        command.Options.Add(noWarmUp);
        command.SetAction(async (result, cancellationToken) =>
        {
            long pingSize, totalBytes, chunkSize;
            RtcConfiguration configuration;
            try
            {
                configuration = options.Configuration(result);
                pingSize = Math.Max(8, PeerCommandOptions.ParseSize(result.GetValue(size)!));
                totalBytes = PeerCommandOptions.ParseSize(result.GetValue(total)!);
                chunkSize = Math.Max(1, PeerCommandOptions.ParseSize(result.GetValue(chunk)!));
            }
            catch (ArgumentException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                return 2;
            }
            var timeout = TimeSpan.FromSeconds(result.GetValue(options.Timeout));
            if (!result.GetValue(noWarmUp))
            {
                try
                {
                    var warm = await StackWarmUp.RunAsync(cancellationToken).ConfigureAwait(false);
                    AnsiConsole.MarkupLineInterpolated($"[grey]warmed up the stack in-process in {warm.TotalMilliseconds:F0} ms (--no-warm-up to skip)[/]");
                }
                catch (Exception e) when (e is TimeoutException or InvalidOperationException or RtcConnectionException)
                {
                    AnsiConsole.MarkupLineInterpolated($"[grey]warm-up skipped: {e.Message}[/]");
                }
            }
            using var loggers = options.CreateLoggerFactory(result);
            await using var signaling = new SignalingClient(options.SignalingOptions(result), loggers.CreateLogger<SignalingClient>());
            var clock = Stopwatch.StartNew();
            try
            {
                await signaling.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SignalingException or OperationCanceledException or IOException)
            {
                return PeerCommandFailure.Report(RtcFailureLayer.Signaling, e.Message);
            }
            var room = result.GetValue(options.Room)!;
            await using var peers = new PeerRoom(signaling, room, initiator => new PeerOptions { Initiator = initiator, ChannelLabel = "ping", Configuration = configuration }, loggers)
            {
                UseHubIceServers = options.UseHubIceServers(result),
            };
            var present = await peers.JoinAsync(cancellationToken).ConfigureAwait(false);
            if (present.Count == 0)
                return PeerCommandFailure.Report(RtcFailureLayer.Signaling, $"nobody is in room '{room}' to ping (start `peernet echo` there first)");
            var remoteId = present[0];
            var setupClock = Stopwatch.StartNew();
            var peer = peers.Connect(remoteId);
            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutSource.CancelAfter(timeout);
            try
            {
                await peer.WaitConnectedAsync(timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var layer = peer.Connection.IceConnectionState is RtcIceConnectionState.Connected or RtcIceConnectionState.Completed
                    ? peer.Connection.ConnectionState == RtcPeerConnectionState.Connected ? RtcFailureLayer.Sctp : RtcFailureLayer.Dtls
                    : RtcFailureLayer.Ice;
                return PeerCommandFailure.Report(layer, $"not connected after {timeout.TotalSeconds:F0} s (ICE {peer.Connection.IceConnectionState}, connection {peer.Connection.ConnectionState})");
            }
            catch (Exception e)
            {
                return PeerCommandFailure.Report(e);
            }
            var setup = setupClock.Elapsed;
            var pair = peer.Connection.GetSelectedCandidatePair();
            AnsiConsole.MarkupLineInterpolated($"connected to [bold]{remoteId}[/] in [bold]{setup.TotalMilliseconds:F1} ms[/] (signaling + ICE + DTLS + SCTP; {clock.Elapsed.TotalMilliseconds:F0} ms since start)");
            AnsiConsole.MarkupLineInterpolated($"selected pair: local {pair?.Local.ToString() ?? "?"}, remote {pair?.Remote.ToString() ?? "?"}; DTLS {peer.Connection.DtlsCipherSuite ?? "?"}");

            try
            {
                await PingAsync(peer, result.GetValue(count), (int)pingSize, timeoutSource, timeout, cancellationToken).ConfigureAwait(false);
                if (totalBytes > 0) await ThroughputAsync(peer, totalBytes, (int)chunkSize, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return PeerCommandFailure.Report(RtcFailureLayer.Sctp, "the echo stopped answering");
            }
            catch (InvalidDataException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] not byte-exact: {e.Message}");
                return PeerCommandFailure.ExitCode;
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or RtcConnectionException)
            {
                return PeerCommandFailure.Report(e is RtcConnectionException ? e : new RtcConnectionException(RtcFailureLayer.Sctp, e.Message, e));
            }
            return 0;
        });
        return command;
    }

    private static async Task PingAsync(Peer peer, int count, int size, CancellationTokenSource timeoutSource, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (count <= 0) return;
        var channel = peer.Channel!;
        var rtts = new List<double>(count);
        var payload = new byte[size];
        TaskCompletionSource<long>? pending = null;
        void OnMessage(object? sender, RtcDataChannelMessageEventArgs e)
        {
            if (!e.IsText && e.Data.Length >= 8) pending?.TrySetResult(BinaryPrimitives.ReadInt64BigEndian(e.Data));
        }
        channel.Message += OnMessage;
        try
        {
            for (var i = 0; i < count; i++)
            {
                timeoutSource.CancelAfter(timeout);
                pending = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                BinaryPrimitives.WriteInt64BigEndian(payload, i);
                var started = Stopwatch.GetTimestamp();
                channel.Send(payload);
                var echoed = await pending.Task.WaitAsync(timeoutSource.Token).ConfigureAwait(false);
                var rtt = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (echoed != i) throw new InvalidOperationException($"echo {echoed} came back for ping {i}");
                rtts.Add(rtt);
                AnsiConsole.MarkupLineInterpolated($"{size} bytes: seq={i} time={rtt:F3} ms");
            }
        }
        finally
        {
            channel.Message -= OnMessage;
        }
        rtts.Sort();
        AnsiConsole.MarkupLineInterpolated($"[bold]{count} round trips[/]: min {rtts[0]:F3} / avg {rtts.Average():F3} / p50 {rtts[rtts.Count / 2]:F3} / max {rtts[^1]:F3} ms");
    }

    /// <summary>
    /// The most bytes the throughput test has out unechoed. Without a bound, a return path slower
    /// than the way out (loss or a smaller window that way) lets the echo's send buffer fill, and
    /// the echo must then drop messages; 8 MiB stays under our 16 MiB send buffer and Chromium's.
    /// </summary>
    private const long UnechoedWindow = 8 * 1024 * 1024;

    private static async Task ThroughputAsync(Peer peer, long total, int chunk, CancellationToken cancellationToken)
    {
        var channel = peer.Channel!;
        var remoteMax = peer.Connection.RemoteMaxMessageSize ?? 65536;
        var limit = remoteMax > 0 ? remoteMax : long.MaxValue;
        if (chunk > limit) throw new ArgumentException($"--chunk {chunk} is larger than the remote's max-message-size of {limit}");
        // Every echoed byte is checked against what was sent at its offset (see PingPayload).
        var stream = new PingPayload((ulong)Random.Shared.NextInt64());
        long received = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new Lock();
        TaskCompletionSource? echoed = null; // the sender waits on it while UnechoedWindow bytes are out
        void OnMessage(object? sender, RtcDataChannelMessageEventArgs e)
        {
            var intact = stream.Verify(e.Data);
            var sum = Interlocked.Add(ref received, e.Data.Length);
            if (!intact || sum >= total) done.TrySetResult();
            TaskCompletionSource? waiter;
            lock (gate) (waiter, echoed) = (echoed, null);
            waiter?.TrySetResult();
        }
        var payload = new byte[chunk];
        channel.Message += OnMessage;
        var clock = Stopwatch.StartNew();
        try
        {
            await AnsiConsole.Progress().AutoClear(true).StartAsync(async progress =>
            {
                var task = progress.AddTask("echoing", maxValue: total);
                long sent = 0;
                while (sent < total && !done.Task.IsCompleted)
                {
                    Task? echoedMore = null;
                    lock (gate)
                    {
                        if (sent - Interlocked.Read(ref received) > UnechoedWindow) echoedMore = (echoed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                    }
                    if (echoedMore is not null)
                    {
                        await Task.WhenAny(echoedMore, done.Task, Task.Delay(100, cancellationToken)).ConfigureAwait(false);
                        if (!channel.ReadyState.Equals(RtcDataChannelState.Open)) throw new InvalidOperationException("the channel closed during the transfer");
                        task.Value = Interlocked.Read(ref received);
                        continue;
                    }
                    var length = (int)Math.Min(chunk, total - sent);
                    stream.Fill(payload.AsSpan(0, length), sent);
                    await channel.SendAsync(payload.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    sent += length;
                    task.Value = Interlocked.Read(ref received);
                }
                while (!done.Task.IsCompleted)
                {
                    task.Value = Interlocked.Read(ref received);
                    await Task.WhenAny(done.Task, Task.Delay(100, cancellationToken)).ConfigureAwait(false);
                    if (!channel.ReadyState.Equals(RtcDataChannelState.Open)) throw new InvalidOperationException("the channel closed during the transfer");
                }
                task.Value = total;
            }).ConfigureAwait(false);
        }
        finally
        {
            channel.Message -= OnMessage;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        if (stream.FirstMismatch is { } offset)
            throw new InvalidDataException($"the echo is not what was sent: byte {offset} of {total} differs (pseudo-random stream, seed {stream.Seed})");
        var back = Interlocked.Read(ref received);
        if (back != total) throw new InvalidDataException($"{back} bytes came back for {total} sent");
        var mib = total / (1024.0 * 1024.0);
        AnsiConsole.MarkupLineInterpolated($"[bold]throughput[/]: {mib:F1} MiB sent and echoed back in {seconds:F2} s = [bold]{mib / seconds:F1} MiB/s[/] each way ({mib * 8 * 1.048576 / seconds:F0} Mbit/s), {chunk}-byte messages");
        AnsiConsole.MarkupLineInterpolated($"verified: {total} bytes byte-exact (pseudo-random stream, seed {stream.Seed})");
    }
}
