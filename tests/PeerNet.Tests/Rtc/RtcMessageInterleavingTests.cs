using System.Collections.Concurrent;
using System.Net;
using PeerNet.Rtc;

namespace PeerNet.Tests.Rtc;

/// <summary>I-DATA (RFC 8260) through the peer connection: negotiated only when both ask, and a large message no longer holds up a small one.</summary>
public sealed class RtcMessageInterleavingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static RtcConfiguration Loopback(bool interleaving) => new()
    {
        AllowedLocalAddresses = [IPAddress.Loopback],
        IncludeLoopbackCandidates = true,
        SctpMessageInterleaving = interleaving,
    };

    [Theory]
    [InlineData(true, true, true)]
    [InlineData(true, false, false)]
    [InlineData(false, false, false)]
    public async Task A_small_message_overtakes_a_large_one_only_with_interleaving(bool offerer, bool answerer, bool negotiated)
    {
        await using var a = new RtcPeerConnection(Loopback(offerer));
        await using var b = new RtcPeerConnection(Loopback(answerer));
        var toB = new RtcCandidateRelay(a, b);
        var toA = new RtcCandidateRelay(b, a);
        var arrivals = new ConcurrentQueue<string>();
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var opened = new ConcurrentDictionary<string, bool>();
        b.DataChannel += (_, channel) => channel.Message += (_, e) =>
        {
            arrivals.Enqueue(channel.Label);
            if (arrivals.Count == 2) both.TrySetResult();
        };
        var large = a.CreateDataChannel("large");
        var small = a.CreateDataChannel("small");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var channel in new[] { large, small })
        {
            channel.Open += (_, _) =>
            {
                opened[channel.Label] = true;
                if (opened.Count == 2) ready.TrySetResult();
            };
        }

        var offer = await a.CreateOfferAsync();
        await a.SetLocalDescriptionAsync(offer);
        await b.SetRemoteDescriptionAsync(offer);
        toB.RemoteDescriptionSet();
        var answer = await b.CreateAnswerAsync();
        await b.SetLocalDescriptionAsync(answer);
        await a.SetRemoteDescriptionAsync(answer);
        toA.RemoteDescriptionSet();
        await ready.Task.WaitAsync(Timeout);
        Assert.Equal(negotiated, a.SctpMessageInterleaving);
        Assert.Equal(negotiated, b.SctpMessageInterleaving);

        large.Send(new byte[256 * 1024]);
        small.Send("overtake?");
        await both.Task.WaitAsync(Timeout);
        Assert.Equal(negotiated ? ["small", "large"] : ["large", "small"], arrivals);
    }
}
