using System.Net;
using PeerNet.Rtc;

namespace PeerNet.Tests.Rtc;

/// <summary>Signals out of order and garbage among them: the peers still connect, as simple-peer's do.</summary>
public sealed class PeerSignalOrderTests
{
    private static readonly RtcConfiguration Loopback = new() { AllowedLocalAddresses = [IPAddress.Loopback], IncludeLoopbackCandidates = true };

    [Fact]
    public async Task CandidatesBeforeTheOfferAreHeldAndGarbageIsIgnored()
    {
        await using var a = new Peer(new PeerOptions { Initiator = true, Configuration = Loopback });
        await using var b = new Peer(new PeerOptions { Configuration = Loopback });
        var fromA = new List<PeerSignal>();
        var forward = false;
        a.Signal += (_, s) =>
        {
            lock (fromA)
            {
                if (!forward)
                {
                    fromA.Add(s);
                    return;
                }
            }
            _ = b.SignalAsync(s);
        };
        b.Signal += (_, s) => _ = a.SignalAsync(s);
        Exception? failure = null;
        b.Error += (_, e) => failure = e;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            lock (fromA)
            {
                if (fromA.OfType<PeerSignal.Candidate>().Any()) break;
            }
            await Task.Delay(10);
        }
        PeerSignal[] early;
        lock (fromA)
        {
            early = [.. fromA];
            forward = true;
        }
        // Garbage first, then the candidates, then the offer last.
        await b.SignalAsync(new PeerSignal.Candidate(new RtcIceCandidateInit("candidate:not a candidate at all")));
        foreach (var candidate in early.OfType<PeerSignal.Candidate>()) await b.SignalAsync(candidate);
        foreach (var description in early.OfType<PeerSignal.Description>()) await b.SignalAsync(description);

        await a.WaitConnectedAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await b.WaitConnectedAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Null(failure);
        var echoed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.Data += (_, e) => b.Send(e.Text + "!");
        a.Data += (_, e) => echoed.TrySetResult(e.Text);
        a.Send("hi");
        Assert.Equal("hi!", await echoed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
