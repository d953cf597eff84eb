using PeerNet.Stun;
using PeerNet.Tests.Turn;
using PeerNet.Turn;

namespace PeerNet.Tests.TurnClient;

/// <summary>A <see cref="Turn.TurnClient"/> wired to the real sans-I/O <see cref="TurnServer"/> on one virtual clock.</summary>
internal sealed class TurnClientSimulation
{
    private readonly byte[] _buffer = new byte[4096];

    public TurnClientSimulation(TurnTestHarness harness, string user = TurnTestHarness.User, string password = TurnTestHarness.Password,
        TurnTransport transport = TurnTransport.Udp, string remote = "198.51.100.7:40000", Action<TurnClientOptions>? configure = null)
    {
        Harness = harness;
        Endpoint = harness.Endpoint(remote, transport);
        var options = new TurnClientOptions
        {
            Server = TurnTestHarness.ServerAddress,
            Transport = transport,
            Username = user,
            Password = password,
        };
        configure?.Invoke(options);
        Client = new PeerNet.Turn.TurnClient(options);
    }

    public TurnTestHarness Harness { get; }

    public TurnClientEndpoint Endpoint { get; }

    public PeerNet.Turn.TurnClient Client { get; }

    public List<TurnClientEvent> Events { get; } = [];

    public List<(StunAddress Peer, byte[] Data)> Received { get; } = [];

    public List<(StunAddress Peer, byte[] Data)> Relayed { get; } = [];

    /// <summary>Client → server messages to lose (by index of transmission); null: lose none.</summary>
    public Func<int, bool>? Lose { get; set; }

    /// <summary>Lets the server stay silent.</summary>
    public bool ServerDown { get; set; }

    public int Transmitted { get; private set; }

    public long Now => Harness.Now;

    public void Allocate()
    {
        Client.Allocate(Now);
        Pump();
    }

    /// <summary>Delivers everything the client wants to send, and the answers back, until quiet.</summary>
    public void Pump()
    {
        for (var guard = 0; guard < 1000; guard++)
        {
            var length = Client.PollTransmit(_buffer);
            if (length == 0)
            {
                break;
            }

            var index = Transmitted++;
            if (ServerDown || (Lose?.Invoke(index) ?? false))
            {
                continue;
            }

            ToServer(_buffer.AsSpan(0, length));
        }

        while (Client.TryPollEvent(out var e))
        {
            Events.Add(e);
        }
    }

    /// <summary>Moves both clocks, firing the client's timers on the way.</summary>
    public void Advance(TimeSpan time, TimeSpan? step = null)
    {
        var end = Harness.Now + (long)time.TotalMilliseconds;
        var stride = (long)(step ?? TimeSpan.FromMilliseconds(100)).TotalMilliseconds;
        while (Harness.Now < end)
        {
            var next = Math.Min(end, Harness.Now + stride);
            if (Client.PollTimeout() is { } deadline && deadline < next)
            {
                next = Math.Max(deadline, Harness.Now);
            }

            Harness.Advance(TimeSpan.FromMilliseconds(next - Harness.Now));
            Client.HandleTimeout(Harness.Now);
            Pump();
            if (next == Harness.Now && next < end && Client.PollTimeout() is { } again && again <= Harness.Now)
            {
                Harness.Advance(TimeSpan.FromMilliseconds(1));
            }
        }
    }

    /// <summary>Sends application data to <paramref name="peer"/> through the relay; returns what the server did.</summary>
    public TurnOutput SendData(StunAddress peer, byte[] data)
    {
        var length = Client.WrapData(peer, data, _buffer);
        Assert.True(length > 0);
        var message = _buffer.AsSpan(0, length).ToArray();
        Harness.Send(Endpoint, message, out var output);
        if (output.Kind == TurnOutputKind.ToPeer)
        {
            Relayed.Add((output.Peer, message.AsSpan(output.Offset, output.Length).ToArray()));
        }

        return output;
    }

    /// <summary>A peer sends to our relayed address; returns what the client delivered (null: nothing).</summary>
    public byte[]? FromPeer(StunAddress peer, byte[] payload)
    {
        var toClient = Harness.FromPeer(Client.RelayedAddress, peer, payload, out _);
        if (toClient is null)
        {
            return null;
        }

        if (Client.HandleReceived(toClient, Now, out var from, out var data) != TurnReceiveResult.Data)
        {
            return null;
        }

        Assert.Equal(peer, from);
        Received.Add((from, data.ToArray()));
        return data.ToArray();
    }

    private void ToServer(ReadOnlySpan<byte> message)
    {
        var reply = Harness.Send(Endpoint, message, out var output);
        if (output.Kind == TurnOutputKind.ToPeer)
        {
            Relayed.Add((output.Peer, message.Slice(output.Offset, output.Length).ToArray()));
        }

        if (reply is not null)
        {
            Client.HandleReceived(reply.Bytes, Now, out _, out _);
        }
    }
}
