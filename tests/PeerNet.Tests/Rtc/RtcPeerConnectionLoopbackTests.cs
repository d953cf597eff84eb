using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using PeerNet.Rtc;

namespace PeerNet.Tests.Rtc;

/// <summary>Two of our own peer connections on 127.0.0.1, signaling passed by hand: the whole stack end to end.</summary>
public sealed class RtcPeerConnectionLoopbackTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly RtcConfiguration Loopback = new() { AllowedLocalAddresses = [IPAddress.Loopback], IncludeLoopbackCandidates = true };

    private readonly RtcPeerConnection _offerer = new(Loopback);
    private readonly RtcPeerConnection _answerer = new(Loopback);

    private RtcCandidateRelay _toAnswerer = null!;
    private RtcCandidateRelay _toOfferer = null!;

    public Task InitializeAsync()
    {
        // Trickle: each side's candidates go to the other once it has the remote description.
        _toAnswerer = new RtcCandidateRelay(_offerer, _answerer);
        _toOfferer = new RtcCandidateRelay(_answerer, _offerer);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _offerer.DisposeAsync();
        await _answerer.DisposeAsync();
    }

    private async Task NegotiateAsync()
    {
        var offer = await _offerer.CreateOfferAsync();
        await _offerer.SetLocalDescriptionAsync(offer);
        await _answerer.SetRemoteDescriptionAsync(offer);
        _toAnswerer.RemoteDescriptionSet();
        var answer = await _answerer.CreateAnswerAsync();
        await _answerer.SetLocalDescriptionAsync(answer);
        await _offerer.SetRemoteDescriptionAsync(answer);
        _toOfferer.RemoteDescriptionSet();
    }

    [Fact]
    public async Task DataChannelOpensAndCarriesMessagesBothWays()
    {
        var channel = _offerer.CreateDataChannel("chat", new RtcDataChannelInit { Protocol = "p1" });
        var remoteChannel = new TaskCompletionSource<RtcDataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new ConcurrentQueue<string>();
        var echoed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _answerer.DataChannel += (_, c) =>
        {
            c.Message += (_, e) =>
            {
                received.Enqueue(e.Text);
                c.Send("echo:" + e.Text);
            };
            remoteChannel.TrySetResult(c);
        };
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.Open += (_, _) => opened.TrySetResult();
        channel.Message += (_, e) => echoed.TrySetResult(e.Text);

        await NegotiateAsync();
        await opened.Task.WaitAsync(Timeout);
        channel.Send("hello");
        Assert.Equal("echo:hello", await echoed.Task.WaitAsync(Timeout));
        var remote = await remoteChannel.Task.WaitAsync(Timeout);
        Assert.Equal("chat", remote.Label);
        Assert.Equal("p1", remote.Protocol);
        Assert.Equal(channel.Id, remote.Id);
        Assert.Equal(1, channel.Id!.Value % 2); // our answer is a=setup:active, so the offerer is the DTLS server: odd ids (RFC 8832 §6)
        Assert.NotNull(_offerer.GetSelectedCandidatePair());
        Assert.Equal(RtcPeerConnectionState.Connected, _offerer.ConnectionState);
    }

    [Fact]
    public async Task BufferedAmountLowFiresWhenTheQueueDrains()
    {
        var channel = _offerer.CreateDataChannel("flow");
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var low = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.Open += (_, _) => opened.TrySetResult();
        channel.BufferedAmountLow += (_, _) => low.TrySetResult();
        await NegotiateAsync();
        await opened.Task.WaitAsync(Timeout);
        channel.BufferedAmountLowThreshold = 64 * 1024;
        // The network thread drains concurrently (a fast loopback may empty the queue before the loop ends),
        // so the queue is judged at its peak, just after a send.
        long peak = 0;
        for (var i = 0; i < 64; i++)
        {
            channel.Send(new byte[16 * 1024]);
            peak = Math.Max(peak, channel.BufferedAmount);
        }

        Assert.True(peak > channel.BufferedAmountLowThreshold, $"buffered at most {peak}");
        await low.Task.WaitAsync(Timeout);
        Assert.True(channel.BufferedAmount <= channel.BufferedAmountLowThreshold);
    }

    [Fact]
    public async Task NegotiatedChannelsAndEmptyMessages()
    {
        var ours = _offerer.CreateDataChannel("agreed", new RtcDataChannelInit { Negotiated = true, Id = 7, Ordered = false });
        var theirs = _answerer.CreateDataChannel("agreed", new RtcDataChannelInit { Negotiated = true, Id = 7, Ordered = false });
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ours.Open += (_, _) => opened.TrySetResult();
        var received = new ConcurrentQueue<RtcDataChannelMessageEventArgs>();
        var two = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        theirs.Message += (_, e) => { received.Enqueue(e); if (received.Count == 2) two.TrySetResult(); };
        await NegotiateAsync();
        await opened.Task.WaitAsync(Timeout);
        ours.Send("");
        ours.Send(Array.Empty<byte>());
        await two.Task.WaitAsync(Timeout);
        Assert.Contains(received, m => m.IsText && m.Data.Length == 0);
        Assert.Contains(received, m => !m.IsText && m.Data.Length == 0);
        Assert.Equal((ushort)7, theirs.Id);
    }

    [Fact]
    public async Task BulkTransferArrivesByteForByte()
    {
        var channel = _offerer.CreateDataChannel("bulk");
        var data = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        var sink = new MemoryStream();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _answerer.DataChannel += (_, c) => c.Message += (_, e) =>
        {
            sink.Write(e.Data);
            if (sink.Length >= data.Length) done.TrySetResult();
        };
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.Open += (_, _) => opened.TrySetResult();
        await NegotiateAsync();
        await opened.Task.WaitAsync(Timeout);
        for (var offset = 0; offset < data.Length; offset += 64 * 1024)
            await channel.SendAsync(data.AsMemory(offset, 64 * 1024));
        await done.Task.WaitAsync(Timeout);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(sink.ToArray()));
    }
}

/// <summary>What a peer connection does with descriptions and candidates it cannot use.</summary>
public sealed class RtcPeerConnectionBadInputTests
{
    [Fact]
    public async Task MalformedSdpIsAnExceptionNamingTheLine()
    {
        await using var pc = new RtcPeerConnection();
        var error = await Assert.ThrowsAsync<PeerNet.Sdp.SdpParseException>(() => pc.SetRemoteDescriptionAsync(
            new RtcSessionDescriptionInit(RtcSdpType.Offer, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application x UDP/DTLS/SCTP webrtc-datachannel\r\n")));
        Assert.Equal(5, error.LineNumber);
        Assert.Contains("m=application x", error.Message);
        Assert.Equal(RtcSignalingState.Stable, pc.SignalingState);
    }

    [Fact]
    public async Task AnOfferWithoutDataIsANegotiationError()
    {
        await using var pc = new RtcPeerConnection();
        var sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n";
        await Assert.ThrowsAsync<PeerNet.Sdp.SdpNegotiationException>(() => pc.SetRemoteDescriptionAsync(new RtcSessionDescriptionInit(RtcSdpType.Offer, sdp)));
    }

    [Fact]
    public async Task AnAnswerWithoutAnOfferIsRefused()
    {
        await using var pc = new RtcPeerConnection();
        await using var other = new RtcPeerConnection();
        var offer = await other.CreateOfferAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => pc.SetRemoteDescriptionAsync(offer with { Type = RtcSdpType.Answer }));
    }

    [Fact]
    public async Task AGarbledCandidateIsAFormatExceptionAndTheConnectionLivesOn()
    {
        await using var pc = new RtcPeerConnection(new RtcConfiguration { AllowedLocalAddresses = [System.Net.IPAddress.Loopback] });
        await using var other = new RtcPeerConnection();
        pc.CreateDataChannel("x");
        var offer = await pc.CreateOfferAsync();
        await pc.SetLocalDescriptionAsync(offer);
        await other.SetRemoteDescriptionAsync(offer);
        var answer = await other.CreateAnswerAsync();
        await pc.SetRemoteDescriptionAsync(answer);
        await Assert.ThrowsAnyAsync<FormatException>(() => pc.AddIceCandidateAsync(new RtcIceCandidateInit("candidate:1 1 udp notanumber 127.0.0.1 5000 typ host")));
        await pc.AddIceCandidateAsync(new RtcIceCandidateInit("candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host"));
        Assert.Equal(RtcSignalingState.Stable, pc.SignalingState);
    }

    [Fact]
    public async Task ChannelSettingsThatContradictEachOtherAreRefused()
    {
        await using var pc = new RtcPeerConnection();
        Assert.Throws<ArgumentException>(() => pc.CreateDataChannel("x", new RtcDataChannelInit { MaxRetransmits = 1, MaxPacketLifeTime = 1 }));
        Assert.Throws<ArgumentException>(() => pc.CreateDataChannel("x", new RtcDataChannelInit { Negotiated = true }));
        var channel = pc.CreateDataChannel("x");
        Assert.Throws<InvalidOperationException>(() => channel.Send("not open yet"));
    }
}

public sealed class RtcCertificateUseTests
{
    [Fact]
    public void AnExpiredCertificateIsRefused()
    {
        var expired = PeerNet.Dtls.RtcCertificate.Generate(TimeSpan.FromMilliseconds(1));
        Thread.Sleep(20);
        var error = Assert.Throws<ArgumentException>(() => new RtcPeerConnection(new RtcConfiguration { Certificates = [expired] }));
        Assert.Contains("expired", error.Message);
    }

    [Fact]
    public async Task OneCertificateServesManyConnections()
    {
        var certificate = PeerNet.Dtls.RtcCertificate.Generate();
        await using var a = new RtcPeerConnection(new RtcConfiguration { Certificates = [certificate] });
        await using var b = new RtcPeerConnection(new RtcConfiguration { Certificates = [certificate] });
        var offerA = await a.CreateOfferAsync();
        var offerB = await b.CreateOfferAsync();
        var fingerprint = certificate.GetFingerprints()[0].ToString();
        Assert.Contains("a=fingerprint:" + fingerprint, offerA.Sdp);
        Assert.Contains("a=fingerprint:" + fingerprint, offerB.Sdp);
    }
}
