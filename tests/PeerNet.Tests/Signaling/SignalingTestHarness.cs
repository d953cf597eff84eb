using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Hub.Signaling;
using PeerNet.Rtc;

namespace PeerNet.Tests.Signaling;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _ticks = 1_000_000;
    public override long TimestampFrequency => 1_000_000;
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, (long)(by.TotalSeconds * TimestampFrequency));
}

/// <summary>The I/O side of a connection, as the sans-I/O core sees it: it records close requests.</summary>
internal sealed class RecordingTransport : ISignalingTransport
{
    public List<(int Code, string Reason)> Closes { get; } = [];
    public void Close(int closeCode, string reason)
    {
        lock (Closes) Closes.Add((closeCode, reason));
    }
}

/// <summary>One simulated client: its session, its transport, and what it has been sent.</summary>
internal sealed class SimPeer(SignalingHarness harness, PeerSession session, RecordingTransport transport, JsonElement welcome)
{
    public PeerSession Session { get; private set; } = session;
    public RecordingTransport Transport { get; private set; } = transport;
    public JsonElement Welcome { get; private set; } = welcome;
    public string Id => Session.Id;
    public string ResumeToken => Welcome.GetProperty("resume").GetString()!;

    public void Send(string json) => harness.Server.Receive(Session, Transport, Encoding.UTF8.GetBytes(json));

    public void SendBytes(byte[] utf8) => harness.Server.Receive(Session, Transport, utf8);

    /// <summary>Everything queued for this peer since the last call, parsed.</summary>
    public List<JsonElement> Drain()
    {
        var list = new List<JsonElement>();
        while (Session.Outbox.Reader.TryRead(out var frame))
        {
            if (frame.Buffer is null) continue; // a close request for the I/O side
            list.Add(JsonDocument.Parse(frame.Memory).RootElement.Clone());
            frame.Release();
        }
        return list;
    }

    public JsonElement Single(string type)
    {
        var messages = Drain();
        Assert.True(messages.Count == 1, $"expected one '{type}', got {messages.Count}: {string.Join(" | ", messages)}");
        Assert.Equal(type, messages[0].GetProperty("type").GetString());
        return messages[0];
    }

    public void ExpectError(string code, string? reference = null)
    {
        var error = Single("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (reference is not null) Assert.Equal(reference, error.GetProperty("ref").ToString());
    }

    public void Disconnect() => harness.Server.Detach(Session, Transport);

    public void Reattach(PeerSession session, RecordingTransport transport, JsonElement welcome)
    {
        Session = session;
        Transport = transport;
        Welcome = welcome;
    }
}

internal sealed class SignalingHarness
{
    public SignalingHarness(SignalingOptions? options = null, IReadOnlyList<RtcIceServer>? ice = null)
    {
        Options = options ?? new SignalingOptions();
        var servers = ice ?? [];
        Server = new SignalingServer(Options, Time, (_, _) => servers, NullLogger<SignalingServer>.Instance);
    }

    public ManualTime Time { get; } = new();
    public SignalingOptions Options { get; }
    public SignalingServer Server { get; }

    public SimPeer Connect(string? resume = null)
    {
        var transport = new RecordingTransport();
        var session = Server.Attach(resume, transport, out var welcomeFrame);
        var welcome = JsonDocument.Parse(welcomeFrame.Memory).RootElement.Clone();
        welcomeFrame.Release();
        return new SimPeer(this, session, transport, welcome);
    }

    public SimPeer Resume(SimPeer peer)
    {
        var transport = new RecordingTransport();
        var session = Server.Attach(peer.ResumeToken, transport, out var welcomeFrame);
        var welcome = JsonDocument.Parse(welcomeFrame.Memory).RootElement.Clone();
        welcomeFrame.Release();
        peer.Reattach(session, transport, welcome);
        return peer;
    }
}
