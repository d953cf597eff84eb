using System.Diagnostics;
using System.Net;
using PeerNet.Rtc;

namespace PeerNet.Cli;

/// <summary>
/// Runs the whole stack once inside this process — two peer connections over 127.0.0.1 opening a
/// channel — so that the setup time `ping` prints is the protocols' time, not the JIT compiling
/// DTLS and SCTP on first use (≈0.5 s cold against ≈10–20 ms warm on loopback).
/// </summary>
internal static class StackWarmUp
{
    public static async Task<TimeSpan> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var configuration = new RtcConfiguration { AllowedLocalAddresses = [IPAddress.Loopback], IncludeLoopbackCandidates = true };
        await using var offerer = new RtcPeerConnection(configuration);
        await using var answerer = new RtcPeerConnection(configuration);
        var toAnswerer = new RtcCandidateRelay(offerer, answerer);
        var toOfferer = new RtcCandidateRelay(answerer, offerer);
        var channel = offerer.CreateDataChannel("warm-up");
        var echoed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        answerer.DataChannel += (_, remote) => remote.Message += (_, e) => remote.Send(e.Data);
        channel.Open += (_, _) => channel.Send(new byte[64]);
        channel.Message += (_, _) => echoed.TrySetResult();
        var offer = await offerer.CreateOfferAsync(cancellationToken).ConfigureAwait(false);
        await offerer.SetLocalDescriptionAsync(offer, cancellationToken).ConfigureAwait(false);
        await answerer.SetRemoteDescriptionAsync(offer, cancellationToken).ConfigureAwait(false);
        toAnswerer.RemoteDescriptionSet();
        var answer = await answerer.CreateAnswerAsync(cancellationToken).ConfigureAwait(false);
        await answerer.SetLocalDescriptionAsync(answer, cancellationToken).ConfigureAwait(false);
        await offerer.SetRemoteDescriptionAsync(answer, cancellationToken).ConfigureAwait(false);
        toOfferer.RemoteDescriptionSet();
        await echoed.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        return clock.Elapsed;
    }
}
