using System.Collections.Concurrent;
using PeerNet.Rtc;

namespace PeerNet.Integration.Tests.Rtc;

/// <summary>Our end of a data channel in an interop test: what arrived on it, taken in order, with timeouts.</summary>
internal sealed class ChannelProbe
{
    private readonly ConcurrentQueue<RtcDataChannelMessageEventArgs> _messages = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ChannelProbe(RtcDataChannel channel)
    {
        Channel = channel;
        channel.Open += (_, _) => Opened.TrySetResult();
        if (channel.ReadyState == RtcDataChannelState.Open) Opened.TrySetResult();
        channel.Message += (_, e) =>
        {
            _messages.Enqueue(e);
            _arrived.Release();
        };
        channel.Closed += (_, _) => _closed.TrySetResult();
    }

    public RtcDataChannel Channel { get; }

    /// <summary>Completes when the channel is open.</summary>
    public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task<List<RtcDataChannelMessageEventArgs>> TakeAsync(int count, TimeSpan timeout)
    {
        var taken = new List<RtcDataChannelMessageEventArgs>();
        using var cts = new CancellationTokenSource(timeout);
        while (taken.Count < count)
        {
            try
            {
                await _arrived.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"'{Channel.Label}': {taken.Count} of {count} echoes arrived in {timeout.TotalSeconds} s");
            }
            _messages.TryDequeue(out var message);
            taken.Add(message!);
        }
        return taken;
    }

    /// <summary>Whatever arrives within <paramref name="wait"/>, up to <paramref name="count"/> messages.</summary>
    public async Task<List<RtcDataChannelMessageEventArgs>> TakeUpToAsync(int count, TimeSpan wait)
    {
        var taken = new List<RtcDataChannelMessageEventArgs>();
        using var cts = new CancellationTokenSource(wait);
        try
        {
            while (taken.Count < count)
            {
                await _arrived.WaitAsync(cts.Token);
                _messages.TryDequeue(out var message);
                taken.Add(message!);
            }
        }
        catch (OperationCanceledException)
        {
        }
        return taken;
    }

    /// <summary>Sends small text messages until one comes back (an unreliable channel may drop some).</summary>
    public async Task AssertStillEchoesAsync(TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; clock.Elapsed < timeout; i++)
        {
            Channel.Send($"alive {i}");
            var arrived = await TakeUpToAsync(1, TimeSpan.FromMilliseconds(200));
            if (arrived.Count == 1 && arrived[0].IsText && arrived[0].Text.StartsWith("alive ", StringComparison.Ordinal)) return;
        }
        Assert.Fail($"'{Channel.Label}' stopped carrying messages");
    }

    public async Task<byte[]> TakeBytesAsync(int total, TimeSpan timeout)
    {
        var buffer = new MemoryStream(total);
        using var cts = new CancellationTokenSource(timeout);
        while (buffer.Length < total)
        {
            try
            {
                await _arrived.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"'{Channel.Label}': {buffer.Length} of {total} bytes echoed in {timeout.TotalSeconds} s");
            }
            _messages.TryDequeue(out var message);
            buffer.Write(message!.Data);
        }
        return buffer.ToArray();
    }

    public Task WaitClosedAsync(TimeSpan timeout) => _closed.Task.WaitAsync(timeout);
}
