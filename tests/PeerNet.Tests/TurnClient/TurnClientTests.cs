using System.Text;
using PeerNet.Stun;
using PeerNet.Tests.Turn;
using PeerNet.Turn;

namespace PeerNet.Tests.TurnClient;

public class TurnClientTests
{
    private static readonly StunAddress Peer = TurnTestHarness.Peer("8.8.8.8:6000");

    [Fact]
    public void Allocates_with_long_term_credentials_after_the_401_challenge()
    {
        var sim = new TurnClientSimulation(new TurnTestHarness());
        sim.Allocate();

        Assert.Equal(TurnClientState.Allocated, sim.Client.State);
        Assert.Equal(2, sim.Transmitted); // unsigned Allocate, then signed
        Assert.Equal("example.org", sim.Client.Realm);
        Assert.Equal(FakeRelayBinder.RelayIPv4.WithPort(50000), sim.Client.RelayedAddress);
        Assert.Equal(sim.Endpoint.Remote, sim.Client.MappedAddress);
        Assert.Equal(600u, sim.Client.LifetimeSeconds);
        var allocated = Assert.Single(sim.Events);
        Assert.Equal(TurnClientEventKind.Allocated, allocated.Kind);
        Assert.Equal(sim.Client.RelayedAddress, allocated.Address);
        Assert.True(sim.Harness.Server.HasAllocation(sim.Endpoint));
    }

    [Fact]
    public void Allocates_with_REST_credentials()
    {
        var harness = new TurnTestHarness();
        var credential = TurnRestCredentials.Create(TurnTestHarness.Secret, "carol", TimeSpan.FromHours(1), DateTimeOffset.FromUnixTimeMilliseconds(harness.Now));
        var sim = new TurnClientSimulation(harness, credential.Username, credential.Password);
        sim.Allocate();
        Assert.Equal(TurnClientState.Allocated, sim.Client.State);
    }

    [Fact]
    public void Asks_for_an_IPv6_relay_with_REQUESTED_ADDRESS_FAMILY()
    {
        var harness = new TurnTestHarness(binder: new FakeRelayBinder { IPv6 = true });
        var sim = new TurnClientSimulation(harness, configure: o => o.RequestedAddressFamily = StunAddressFamily.IPv6);
        sim.Allocate();
        Assert.Equal(StunAddressFamily.IPv6, sim.Client.RelayedAddress.Family);
    }

    [Fact]
    public void A_wrong_password_is_a_typed_401_failure()
    {
        var sim = new TurnClientSimulation(new TurnTestHarness(), password: "not-it");
        sim.Allocate();
        Assert.Equal(TurnClientState.Failed, sim.Client.State);
        Assert.Equal(401, sim.Client.Failure!.Code);
        Assert.Equal(TurnClientOperation.Allocate, sim.Client.Failure.Operation);
        Assert.False(string.IsNullOrEmpty(sim.Client.Failure.Reason));
        Assert.Contains(sim.Events, e => e.Kind == TurnClientEventKind.Failed && e.Failure!.Code == 401);
        Assert.Equal(2, sim.Transmitted); // no endless retry
    }

    [Fact]
    public void Quota_and_mismatch_errors_carry_the_servers_reason()
    {
        var harness = new TurnTestHarness(o => o.MaxAllocationsPerUser = 1);
        var first = new TurnClientSimulation(harness);
        first.Allocate();
        var second = new TurnClientSimulation(harness, remote: "198.51.100.8:40000");
        second.Allocate();
        Assert.Equal(486, second.Client.Failure!.Code);
        Assert.Equal("Allocation Quota Reached", second.Client.Failure.Reason, ignoreCase: true);

        // A second allocation on the same 5-tuple: 437 Allocation Mismatch.
        var same = new TurnClientSimulation(harness, user: "bob", password: "builder");
        same.Allocate();
        Assert.Equal(437, same.Client.Failure!.Code);
        Assert.IsType<TurnClientException>(new TurnClientException(same.Client.Failure));
    }

    [Fact]
    public void Stale_nonce_is_retried_with_the_new_nonce()
    {
        var harness = new TurnTestHarness(o => o.NonceLifetime = TimeSpan.FromMinutes(1));
        var sim = new TurnClientSimulation(harness);
        sim.Allocate();
        harness.Now += (long)TimeSpan.FromMinutes(2).TotalMilliseconds; // the nonce expires meanwhile
        var before = sim.Transmitted;
        sim.Client.CreatePermission(Peer, sim.Now);
        sim.Pump();
        Assert.Equal(before + 2, sim.Transmitted); // 438, then resent with the fresh nonce
        Assert.True(sim.Client.HasPermission(Peer));
        Assert.Equal(TurnClientState.Allocated, sim.Client.State);
    }

    [Fact]
    public void Refreshes_a_minute_before_expiry_and_keeps_the_allocation_for_hours()
    {
        var harness = new TurnTestHarness();
        var sim = new TurnClientSimulation(harness);
        sim.Allocate();
        var start = sim.Now;
        Assert.Equal(start + 540_000, sim.Client.PollTimeout());
        sim.Advance(TimeSpan.FromSeconds(539));
        Assert.Equal(2, sim.Transmitted);
        sim.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(3, sim.Transmitted); // one Refresh
        sim.Advance(TimeSpan.FromHours(3), TimeSpan.FromSeconds(30));
        Assert.True(harness.Server.HasAllocation(sim.Endpoint));
        Assert.Equal(TurnClientState.Allocated, sim.Client.State);
        Assert.InRange(sim.Transmitted, 3 + 19, 3 + 19 + 20); // 20 refreshes, some resent after 438 (nonces live 10 minutes)
    }

    [Fact]
    public void Close_sends_lifetime_zero_and_the_server_frees_the_relay()
    {
        var harness = new TurnTestHarness();
        var sim = new TurnClientSimulation(harness);
        sim.Allocate();
        sim.Client.Close(sim.Now);
        Assert.Equal(TurnClientState.Closing, sim.Client.State);
        sim.Pump();
        Assert.Equal(TurnClientState.Closed, sim.Client.State);
        Assert.False(harness.Server.HasAllocation(sim.Endpoint));
        Assert.Equal(TurnClientEventKind.Closed, sim.Events[^1].Kind);
    }

    [Fact]
    public void Data_both_ways_through_Send_and_Data_indications()
    {
        var sim = new TurnClientSimulation(new TurnTestHarness());
        sim.Allocate();
        sim.Client.CreatePermission(Peer, sim.Now);
        sim.Pump();
        Assert.Contains(sim.Events, e => e.Kind == TurnClientEventKind.PermissionCreated);

        var payload = Encoding.UTF8.GetBytes("hello peer");
        var output = sim.SendData(Peer, payload);
        Assert.Equal(TurnOutputKind.ToPeer, output.Kind);
        Assert.Equal(Peer, sim.Relayed[^1].Peer);
        Assert.Equal(payload, sim.Relayed[^1].Data);

        var back = sim.FromPeer(Peer.WithPort(6001), Encoding.UTF8.GetBytes("hello client")); // any port of a permitted IP
        Assert.Equal("hello client", Encoding.UTF8.GetString(back!));
    }

    [Fact]
    public void Data_both_ways_through_ChannelData_once_bound()
    {
        var sim = new TurnClientSimulation(new TurnTestHarness());
        sim.Allocate();
        Assert.True(sim.Client.BindChannel(Peer, sim.Now));
        sim.Pump();
        Assert.True(sim.Client.TryGetChannel(Peer, out var number));
        Assert.Equal(ChannelData.MinChannelNumber, number);

        var buffer = new byte[100];
        var length = sim.Client.WrapData(Peer, [1, 2, 3], buffer);
        Assert.Equal(7, length);
        Assert.Equal(0x40, buffer[0]);
        sim.SendData(Peer, [9, 8, 7, 6, 5]);
        Assert.Equal(new byte[] { 9, 8, 7, 6, 5 }, sim.Relayed[^1].Data);

        var toClient = sim.Harness.FromPeer(sim.Client.RelayedAddress, Peer, [4, 4, 4], out _)!;
        Assert.Equal(0x40, toClient[0]); // the server uses the channel too
        Assert.Equal(TurnReceiveResult.Data, sim.Client.HandleReceived(toClient, sim.Now, out var from, out var data));
        Assert.Equal(Peer, from);
        Assert.Equal(new byte[] { 4, 4, 4 }, data.ToArray());
    }

    [Fact]
    public void Permissions_and_channels_are_renewed_before_they_expire()
    {
        var harness = new TurnTestHarness();
        var sim = new TurnClientSimulation(harness);
        sim.Allocate();
        var other = TurnTestHarness.Peer("9.9.9.9:7000");
        sim.Client.CreatePermission(other, sim.Now);
        sim.Client.BindChannel(Peer, sim.Now);
        sim.Pump();

        sim.Advance(TimeSpan.FromMinutes(25), TimeSpan.FromSeconds(20));
        Assert.NotNull(sim.FromPeer(other, [1])); // the permission outlived 5 minutes
        Assert.NotNull(sim.FromPeer(Peer, [2])); // and the channel 10
        Assert.True(sim.Client.TryGetChannel(Peer, out _));
        Assert.Equal(TurnOutputKind.ToPeer, sim.SendData(Peer, [3]).Kind);
        Assert.True(sim.Events.Count(e => e.Kind == TurnClientEventKind.PermissionCreated) >= 7);
        Assert.True(sim.Events.Count(e => e.Kind == TurnClientEventKind.ChannelBound) >= 3);
    }

    [Fact]
    public void Without_renewal_the_server_would_drop_the_permission()
    {
        // The control: the server really does expire a permission after 5 minutes.
        var harness = new TurnTestHarness();
        var sim = new TurnClientSimulation(harness, configure: o => o.PermissionRefreshInterval = TimeSpan.FromHours(1));
        sim.Allocate();
        sim.Client.CreatePermission(Peer, sim.Now);
        sim.Pump();
        sim.Advance(TimeSpan.FromMinutes(6), TimeSpan.FromSeconds(20));
        Assert.Null(sim.FromPeer(Peer, [1]));
    }

    [Fact]
    public void Retransmits_over_UDP_through_loss_and_gives_up_on_a_silent_server()
    {
        var lossy = new TurnClientSimulation(new TurnTestHarness()) { Lose = i => i is 0 or 1 or 3 };
        lossy.Allocate();
        lossy.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TurnClientState.Allocated, lossy.Client.State);

        var silent = new TurnClientSimulation(new TurnTestHarness(), configure: o => o.TransactionTimeout = TimeSpan.FromSeconds(5)) { ServerDown = true };
        silent.Allocate();
        silent.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(TurnClientState.Failed, silent.Client.State);
        Assert.Equal(0, silent.Client.Failure!.Code);
        Assert.InRange(silent.Transmitted, 3, 5); // 0, 0.5, 1.5, 3.5 s
    }

    [Fact]
    public void Over_TCP_ChannelData_is_padded_and_the_stream_reader_reassembles_frames()
    {
        var harness = new TurnTestHarness();
        var sim = new TurnClientSimulation(harness, transport: TurnTransport.Tcp);
        sim.Allocate();
        Assert.Equal(TurnClientState.Allocated, sim.Client.State);
        sim.Client.BindChannel(Peer, sim.Now);
        sim.Pump();
        var buffer = new byte[64];
        Assert.Equal(8, sim.Client.WrapData(Peer, [1, 2, 3], buffer)); // 4 + 3, padded to 8

        // Two frames (ChannelData from the peer, then a Data indication-free STUN response) dribbled byte by byte.
        var channelFrame = harness.FromPeer(sim.Client.RelayedAddress, Peer, [7, 7, 7, 7, 7], out _)!;
        var reader = new TurnStreamReader();
        var frames = new List<byte[]>();
        foreach (var b in channelFrame.Concat(channelFrame))
        {
            Assert.True(reader.Append([b]));
            while (reader.TryReadFrame(out var frame))
            {
                frames.Add(frame.ToArray());
            }
        }

        Assert.Equal(2, frames.Count);
        Assert.Equal(TurnReceiveResult.Data, sim.Client.HandleReceived(frames[1], sim.Now, out _, out var data));
        Assert.Equal(5, data.Length);

        var broken = new TurnStreamReader();
        broken.Append([0xC0, 0, 0, 4, 1, 2, 3, 4]);
        Assert.False(broken.TryReadFrame(out _));
        Assert.True(broken.IsBroken);
    }

    [Fact]
    public void ChannelData_wrap_and_unwrap_do_not_allocate()
    {
        var sim = new TurnClientSimulation(new TurnTestHarness());
        sim.Allocate();
        sim.Client.BindChannel(Peer, sim.Now);
        sim.Pump();
        var payload = new byte[1200];
        var buffer = new byte[1300];
        var incoming = sim.Harness.FromPeer(sim.Client.RelayedAddress, Peer, payload, out _)!;
        var client = sim.Client;
        var now = sim.Now;
        for (var i = 0; i < 100; i++)
        {
            client.WrapData(Peer, payload, buffer);
            client.HandleReceived(incoming, now, out _, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            client.WrapData(Peer, payload, buffer);
            client.HandleReceived(incoming, now, out _, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Hostile_responses_never_crash_and_good_ones_still_work_afterwards()
    {
        var random = new Random(8656);
        for (var round = 0; round < 60; round++)
        {
            var harness = new TurnTestHarness();
            var sim = new TurnClientSimulation(harness);
            sim.Client.Allocate(sim.Now);
            var buffer = new byte[2048];
            var first = sim.Client.PollTransmit(buffer);
            var challenge = harness.Send(sim.Endpoint, buffer.AsSpan(0, first))!.Bytes;

            for (var i = 0; i < 200; i++)
            {
                var mutated = Mutate(challenge, random);
                sim.Client.HandleReceived(mutated, sim.Now, out _, out _);
                sim.Client.HandleTimeout(sim.Now + random.Next(0, 100));
                sim.Client.PollTimeout();
                while (sim.Client.TryPollEvent(out _))
                {
                }
            }

            // Random garbage and ChannelData for unknown channels.
            for (var i = 0; i < 200; i++)
            {
                var junk = new byte[random.Next(0, 80)];
                random.NextBytes(junk);
                if (junk.Length > 0 && i % 2 == 0)
                {
                    junk[0] = (byte)(0x40 | (junk[0] & 0x0F));
                }

                Assert.NotEqual(TurnReceiveResult.Data, sim.Client.HandleReceived(junk, sim.Now, out _, out _));
            }

            if (sim.Client.State is TurnClientState.Failed)
            {
                continue; // a mutated 401 that still parsed as an error may end it: that is a typed outcome
            }

            sim.Client.HandleReceived(challenge, sim.Now, out _, out _);
            sim.Pump();
            sim.Advance(TimeSpan.FromSeconds(60));
            Assert.True(sim.Client.State is TurnClientState.Allocated or TurnClientState.Failed, sim.Client.State.ToString());
        }

        // Mutated success responses and Data indications while allocated.
        var live = new TurnClientSimulation(new TurnTestHarness());
        live.Allocate();
        live.Client.CreatePermission(Peer, live.Now);
        live.Pump();
        var indication = live.Harness.FromPeer(live.Client.RelayedAddress, Peer, [1, 2, 3], out _)!;
        for (var i = 0; i < 5000; i++)
        {
            live.Client.HandleReceived(Mutate(indication, random), live.Now, out _, out _);
        }

        Assert.Equal(TurnClientState.Allocated, live.Client.State);
        Assert.NotNull(live.FromPeer(Peer, [5]));
        Assert.True(live.Client.DroppedCount > 0);
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = (byte[])original.Clone();
        if (bytes.Length < 8)
        {
            return bytes;
        }

        switch (random.Next(4))
        {
            case 0:
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                break;
            case 1:
                Array.Resize(ref bytes, random.Next(1, bytes.Length));
                break;
            case 2:
                bytes[random.Next(2, 4)] = (byte)random.Next(256); // lying length
                break;
            default:
                for (var i = 0; i < 4; i++)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                break;
        }

        return bytes;
    }
}
