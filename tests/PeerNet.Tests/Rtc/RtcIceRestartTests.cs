using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using PeerNet.Rtc;
using PeerNet.Sdp;

namespace PeerNet.Tests.Rtc;

/// <summary>ICE restart through renegotiation (W3C restartIce, RFC 8445 §9) between two of our connections on 127.0.0.1.</summary>
public sealed partial class RtcIceRestartTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly RtcConfiguration Loopback = new() { AllowedLocalAddresses = [IPAddress.Loopback], IncludeLoopbackCandidates = true };

    private readonly RtcPeerConnection _a = new(Loopback);
    private readonly RtcPeerConnection _b = new(Loopback);
    private readonly ConcurrentQueue<RtcPeerConnectionState> _statesA = new();
    private readonly ConcurrentQueue<RtcPeerConnectionState> _statesB = new();

    private RtcCandidateRelay _toB = null!;
    private RtcCandidateRelay _toA = null!;

    public Task InitializeAsync()
    {
        _toB = new RtcCandidateRelay(_a, _b);
        _toA = new RtcCandidateRelay(_b, _a);
        _a.ConnectionStateChange += (_, s) => _statesA.Enqueue(s);
        _b.ConnectionStateChange += (_, s) => _statesB.Enqueue(s);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    [GeneratedRegex(@"a=ice-ufrag:(\S+)")]
    private static partial Regex UfragLine();

    private static string Ufrag(RtcSessionDescriptionInit? description) => UfragLine().Match(description!.Sdp).Groups[1].Value;

    private static async Task NegotiateAsync(RtcPeerConnection offerer, RtcPeerConnection answerer, RtcOfferOptions? options = null)
    {
        var offer = await offerer.CreateOfferAsync(options);
        await offerer.SetLocalDescriptionAsync(offer);
        await answerer.SetRemoteDescriptionAsync(offer);
        var answer = await answerer.CreateAnswerAsync();
        await answerer.SetLocalDescriptionAsync(answer);
        await offerer.SetRemoteDescriptionAsync(answer);
    }

    private async Task<(RtcDataChannel Ours, RtcDataChannel Theirs)> ConnectAsync()
    {
        var theirs = new TaskCompletionSource<RtcDataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        _b.DataChannel += (_, c) => theirs.TrySetResult(c);
        var ours = _a.CreateDataChannel("restart");
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ours.Open += (_, _) => opened.TrySetResult();
        await NegotiateAsync(_a, _b);
        _toB.RemoteDescriptionSet();
        _toA.RemoteDescriptionSet();
        await opened.Task.WaitAsync(Timeout);
        return (ours, await theirs.Task.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Restarts_from_either_side_change_the_credentials_and_lose_no_message()
    {
        var (ours, theirs) = await ConnectAsync();
        var received = new ConcurrentQueue<int>();
        theirs.Message += (_, e) => received.Enqueue(BitConverter.ToInt32(e.Data));
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var sender = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                ours.Send(BitConverter.GetBytes(sent++));
                await Task.Delay(2);
            }
        });

        var ufrags = new[] { Ufrag(_a.LocalDescription), Ufrag(_b.LocalDescription) };

        // The offerer restarts (W3C restartIce + negotiationneeded).
        var needed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _a.NegotiationNeeded += (_, _) => needed.TrySetResult();
        _a.RestartIce();
        await needed.Task.WaitAsync(Timeout);
        await NegotiateAsync(_a, _b);
        Assert.NotEqual(ufrags[0], Ufrag(_a.LocalDescription));
        Assert.NotEqual(ufrags[1], Ufrag(_b.LocalDescription)); // the answerer restarted too
        Assert.Equal(Ufrag(_a.LocalDescription), Ufrag(_b.RemoteDescription));
        Assert.Contains($"ufrag {Ufrag(_a.LocalDescription)}", _a.LocalDescription!.Sdp); // candidates re-advertised with the new ufrag
        await Task.Delay(500);

        // Then the answerer restarts, as the offerer of a renegotiation, with the createOffer option.
        var second = Ufrag(_b.LocalDescription);
        await NegotiateAsync(_b, _a, new RtcOfferOptions { IceRestart = true });
        Assert.NotEqual(second, Ufrag(_b.LocalDescription));
        await Task.Delay(500);

        // A renegotiation without restart keeps the credentials.
        var third = Ufrag(_a.LocalDescription);
        await NegotiateAsync(_a, _b);
        Assert.Equal(third, Ufrag(_a.LocalDescription));

        await stop.CancelAsync();
        await sender;
        var deadline = DateTime.UtcNow + Timeout;
        while (received.Count < sent && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(Enumerable.Range(0, sent), received); // every message, in order
        Assert.Equal(RtcDataChannelState.Open, ours.ReadyState);
        Assert.Equal(RtcPeerConnectionState.Connected, _a.ConnectionState);
        Assert.DoesNotContain(RtcPeerConnectionState.Failed, _statesA);
        Assert.DoesNotContain(RtcPeerConnectionState.Failed, _statesB);
        Assert.DoesNotContain(RtcPeerConnectionState.Disconnected, _statesA);

        // The channel still works both ways on the new path.
        var back = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        ours.Message += (_, e) => back.TrySetResult(e.Text);
        theirs.Send("after");
        Assert.Equal("after", await back.Task.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Restart_on_a_shared_udp_port_routes_the_new_ufrag_and_retires_the_old()
    {
        await using var mux = PeerNet.Ice.IceUdpMux.Bind(new PeerNet.Ice.IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) });
        await using var server = new RtcPeerConnection(new RtcConfiguration { IceUdpMux = mux });
        await using var client = new RtcPeerConnection(Loopback);
        var toServer = new RtcCandidateRelay(client, server);
        var toClient = new RtcCandidateRelay(server, client);
        var theirs = new TaskCompletionSource<RtcDataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.DataChannel += (_, c) => theirs.TrySetResult(c);
        var ours = client.CreateDataChannel("mux");
        await NegotiateAsync(client, server);
        toServer.RemoteDescriptionSet();
        toClient.RemoteDescriptionSet();
        var channel = await theirs.Task.WaitAsync(Timeout);
        var received = new ConcurrentQueue<string>();
        channel.Message += (_, e) => received.Enqueue(e.Text);
        var before = Ufrag(server.LocalDescription);

        for (var round = 0; round < 3; round++)
        {
            client.RestartIce();
            await NegotiateAsync(client, server);
            ours.Send($"after restart {round}");
        }

        var after = Ufrag(server.LocalDescription);
        Assert.NotEqual(before, after);
        var deadline = DateTime.UtcNow + Timeout;
        while ((received.Count < 3 || mux.UfragCount != 1) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(["after restart 0", "after restart 1", "after restart 2"], received);
        Assert.Equal(1, mux.UfragCount); // the old generations' ufrags no longer route here
        Assert.Equal(RtcPeerConnectionState.Connected, server.ConnectionState);
    }

    [Fact]
    public async Task Repeated_offers_before_apply_carry_the_same_new_credentials()
    {
        await ConnectAsync();
        var before = Ufrag(_a.LocalDescription);
        _a.RestartIce();
        var first = await _a.CreateOfferAsync();
        var again = await _a.CreateOfferAsync();
        Assert.NotEqual(before, Ufrag(first));
        Assert.Equal(Ufrag(first), Ufrag(again));
    }

    [Fact]
    public async Task An_answer_that_changes_credentials_without_a_restart_is_refused()
    {
        await ConnectAsync();
        var offer = await _a.CreateOfferAsync();
        await _a.SetLocalDescriptionAsync(offer);
        await _b.SetRemoteDescriptionAsync(offer);
        var answer = await _b.CreateAnswerAsync();
        var forged = answer with { Sdp = UfragLine().Replace(answer.Sdp, "a=ice-ufrag:Zz9Zz9Zz") };
        var error = await Assert.ThrowsAsync<SdpNegotiationException>(() => _a.SetRemoteDescriptionAsync(forged));
        Assert.Contains("did not restart ICE", error.Message);
    }

    [Fact]
    public async Task A_changed_remote_fingerprint_is_refused()
    {
        await ConnectAsync();
        await using var stranger = new RtcPeerConnection(Loopback);
        stranger.CreateDataChannel("x");
        var strangerOffer = await stranger.CreateOfferAsync();
        var error = await Assert.ThrowsAsync<SdpNegotiationException>(() => _b.SetRemoteDescriptionAsync(strangerOffer));
        Assert.Contains("fingerprint changed", error.Message);
        Assert.Equal(RtcPeerConnectionState.Connected, _b.ConnectionState);
    }
}
