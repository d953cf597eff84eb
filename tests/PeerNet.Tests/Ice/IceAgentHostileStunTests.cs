using System.Buffers.Binary;
using System.Net;
using System.Text;
using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice;

/// <summary>Hand-made and mutated STUN packets against one agent: answered or dropped as RFC 8445 §7.3 says, and no state is corrupted.</summary>
public class IceAgentHostileStunTests
{
    private const string Ufrag = "locL";
    private const string Password = "localpasswordlocalpass";
    private const string RemoteUfrag = "remR";
    private const string RemotePassword = "remotepasswordremotepw";

    private static readonly StunAddress Peer = StunAddress.FromIPAddress(IPAddress.Parse("10.0.0.2"), 50001);

    private static IceAgent NewAgent(IceRole role = IceRole.Controlled, ulong tieBreaker = 100)
    {
        var agent = new IceAgent(new IceAgentOptions { Role = role, TieBreaker = tieBreaker, LocalUfrag = Ufrag, LocalPassword = Password });
        agent.AddLocalCandidate(IceCandidate.Parse("candidate:1 1 udp 2130706431 10.0.0.1 40001 typ host"), 1);
        return agent;
    }

    private static byte[] Request(
        string username = Ufrag + ":" + RemoteUfrag,
        string key = Password,
        bool priority = true,
        bool controlling = true,
        bool controlled = false,
        ulong tieBreaker = 50,
        bool useCandidate = false,
        bool integrity = true,
        bool fingerprint = true,
        ushort extraAttribute = 0,
        StunTransactionId? id = null)
    {
        var buffer = new byte[600];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, id ?? StunTransactionId.NewRandom());
        writer.AddUsername(username);
        if (priority)
        {
            writer.AddPriority(IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, 65535));
        }

        if (controlling)
        {
            writer.AddIceControlling(tieBreaker);
        }

        if (controlled)
        {
            writer.AddIceControlled(tieBreaker);
        }

        if (useCandidate)
        {
            writer.AddUseCandidate();
        }

        if (extraAttribute != 0)
        {
            writer.AddAttribute((StunAttributeType)extraAttribute, [1, 2, 3, 4]);
        }

        if (integrity)
        {
            writer.AddMessageIntegrity(Encoding.ASCII.GetBytes(key));
        }

        if (fingerprint)
        {
            writer.AddFingerprint();
        }

        return writer.Message.ToArray();
    }

    private static List<byte[]> Drain(IceAgent agent)
    {
        var output = new List<byte[]>();
        var buffer = new byte[1500];
        int length;
        while ((length = agent.PollTransmit(buffer, out _)) > 0)
        {
            output.Add(buffer.AsSpan(0, length).ToArray());
        }

        return output;
    }

    private static int ErrorCodeOf(byte[] response)
    {
        Assert.True(StunMessageReader.TryParse(response, out var reader, out _));
        if (reader.Class == StunClass.SuccessResponse)
        {
            return 0;
        }

        Assert.True(reader.TryGetErrorCode(out var code, out _));
        return code;
    }

    [Fact]
    public void A_valid_check_before_the_credentials_is_answered_with_the_mapped_address()
    {
        var agent = NewAgent();
        agent.HandleStunPacket(1, Peer, Request(), 1000);
        var response = Assert.Single(Drain(agent));
        Assert.True(StunMessageReader.TryParse(response, out var reader, out _));
        Assert.Equal(StunClass.SuccessResponse, reader.Class);
        Assert.True(reader.TryGetXorMappedAddress(out var mapped));
        Assert.Equal(Peer, mapped);
        Assert.True(reader.VerifyMessageIntegrity(Encoding.ASCII.GetBytes(Password)));
        Assert.True(reader.HasFingerprint);
        Assert.Equal(IceConnectionState.New, agent.ConnectionState);
        Assert.Empty(agent.RemoteCandidates); // remembered, not yet learned
    }

    [Fact]
    public void The_remembered_check_becomes_a_peer_reflexive_candidate_and_a_triggered_check()
    {
        var agent = NewAgent();
        agent.HandleStunPacket(1, Peer, Request(), 1000);
        Drain(agent);
        agent.SetRemoteCredentials(RemoteUfrag, RemotePassword);
        var learned = Assert.Single(agent.RemoteCandidates);
        Assert.Equal(IceCandidateType.PeerReflexive, learned.Type);
        Assert.True(agent.IsKnownRemote(1, Peer));
        Assert.False(agent.IsKnownRemote(2, Peer));
        agent.HandleTimeout(1000);
        var check = Assert.Single(Drain(agent));
        Assert.True(StunMessageReader.TryParse(check, out var reader, out _));
        Assert.Equal(StunClass.Request, reader.Class);
        Assert.True(reader.TryGetUsername(out var username));
        Assert.Equal(RemoteUfrag + ":" + Ufrag, Encoding.ASCII.GetString(username));
        Assert.True(reader.VerifyMessageIntegrity(Encoding.ASCII.GetBytes(RemotePassword)));
        Assert.True(reader.TryGetIceControlled(out var tieBreaker));
        Assert.Equal(100ul, tieBreaker);
        Assert.True(reader.TryGetPriority(out var priority));
        Assert.Equal(110u, priority >> 24);
        Assert.False(reader.HasUseCandidate);
    }

    [Theory]
    [InlineData("wrong key", 401)]
    [InlineData("wrong local ufrag", 401)]
    [InlineData("no colon", 401)]
    [InlineData("no fingerprint", 400)]
    [InlineData("no integrity", 400)]
    [InlineData("no priority", 400)]
    [InlineData("no role", 400)]
    [InlineData("both roles", 400)]
    [InlineData("unknown attribute", 420)]
    public void Bad_requests_get_the_right_error_and_change_nothing(string flaw, int expected)
    {
        var agent = NewAgent();
        var packet = flaw switch
        {
            "wrong key" => Request(key: "notthepasswordnotthepa"),
            "wrong local ufrag" => Request(username: "othr:" + RemoteUfrag),
            "no colon" => Request(username: Ufrag),
            "no fingerprint" => Request(fingerprint: false),
            "no integrity" => Request(integrity: false),
            "no priority" => Request(priority: false),
            "no role" => Request(controlling: false),
            "both roles" => Request(controlled: true),
            _ => Request(extraAttribute: 0x7F01),
        };
        agent.HandleStunPacket(1, Peer, packet, 1000);
        var response = Assert.Single(Drain(agent));
        Assert.Equal(expected, ErrorCodeOf(response));
        Assert.True(StunMessageReader.TryParse(response, out var reader, out _));
        Assert.False(reader.HasMessageIntegrity); // 400/401/420 cannot be authenticated
        if (expected == 420)
        {
            Span<ushort> unknown = stackalloc ushort[4];
            Assert.True(reader.TryGetUnknownAttributes(unknown, out var count));
            Assert.Equal(0x7F01, unknown[..count][0]);
        }

        agent.SetRemoteCredentials(RemoteUfrag, RemotePassword);
        Assert.Empty(agent.RemoteCandidates);
        Assert.False(agent.IsKnownRemote(1, Peer));
        Assert.Equal(1, agent.Statistics.RequestsRejected);
    }

    [Fact]
    public void After_the_credentials_the_remote_half_of_the_username_must_match()
    {
        var agent = NewAgent();
        agent.SetRemoteCredentials(RemoteUfrag, RemotePassword);
        agent.HandleStunPacket(1, Peer, Request(username: Ufrag + ":someoneelse"), 1000);
        Assert.Equal(401, ErrorCodeOf(Assert.Single(Drain(agent))));
        agent.HandleStunPacket(1, Peer, Request(), 1000);
        Assert.Equal(0, ErrorCodeOf(Drain(agent)[0]));
    }

    [Fact]
    public void Bad_fingerprint_garbage_and_stray_responses_are_dropped_silently()
    {
        var agent = NewAgent();
        var packet = Request();
        packet[^1] ^= 1;
        agent.HandleStunPacket(1, Peer, packet, 1000);
        agent.HandleStunPacket(1, Peer, [0, 1, 2], 1000);
        agent.HandleStunPacket(1, Peer, new byte[20], 1000);
        agent.HandleStunPacket(7, Peer, Request(), 1000); // unknown socket

        var response = new byte[200];
        var writer = new StunMessageWriter(response, StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.NewRandom());
        writer.AddXorMappedAddress(Peer);
        writer.AddMessageIntegrity(Encoding.ASCII.GetBytes(RemotePassword));
        writer.AddFingerprint();
        agent.HandleStunPacket(1, Peer, writer.Message, 1000);

        Assert.Empty(Drain(agent));
        Assert.Equal(5, agent.Statistics.PacketsDropped);
        Assert.Equal(3, agent.Statistics.GetDropped(IceDropReason.Malformed));
        Assert.Equal(1, agent.Statistics.GetDropped(IceDropReason.UnknownSocket));
        Assert.Equal(1, agent.Statistics.GetDropped(IceDropReason.UnknownTransaction));
    }

    [Fact]
    public void A_forged_response_without_the_remote_password_neither_succeeds_nor_fails_the_check()
    {
        var agent = NewAgent(IceRole.Controlling, 100);
        agent.SetRemoteCredentials(RemoteUfrag, RemotePassword);
        agent.AddRemoteCandidate(IceCandidate.Parse("candidate:9 1 udp 2130706431 10.0.0.2 50001 typ host"));
        agent.HandleTimeout(1000);
        var check = Assert.Single(Drain(agent));
        var id = StunTransactionId.FromBytes(check.AsSpan(8));

        foreach (var key in new[] { "forgedforgedforgedforg", Password })
        {
            var buffer = new byte[200];
            var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
            writer.AddXorMappedAddress(StunAddress.FromIPAddress(IPAddress.Parse("10.0.0.1"), 40001));
            writer.AddMessageIntegrity(Encoding.ASCII.GetBytes(key));
            writer.AddFingerprint();
            agent.HandleStunPacket(1, Peer, writer.Message, 1010);
        }

        Assert.Equal(2, agent.Statistics.GetDropped(IceDropReason.BadResponseIntegrity));
        Assert.Equal(1, agent.CountPairs(CandidatePairState.InProgress));

        // The genuine one still counts.
        var good = new byte[200];
        var genuine = new StunMessageWriter(good, StunMethod.Binding, StunClass.SuccessResponse, id);
        genuine.AddXorMappedAddress(StunAddress.FromIPAddress(IPAddress.Parse("10.0.0.1"), 40001));
        genuine.AddMessageIntegrity(Encoding.ASCII.GetBytes(RemotePassword));
        genuine.AddFingerprint();
        agent.HandleStunPacket(1, Peer, genuine.Message, 1020);
        Assert.Equal(1, agent.CountPairs(CandidatePairState.Succeeded));
    }

    [Fact]
    public void A_487_response_switches_the_role_and_checks_again()
    {
        var agent = NewAgent(IceRole.Controlling, 100);
        agent.SetRemoteCredentials(RemoteUfrag, RemotePassword);
        agent.AddRemoteCandidate(IceCandidate.Parse("candidate:9 1 udp 2130706431 10.0.0.2 50001 typ host"));
        agent.HandleTimeout(1000);
        var check = Assert.Single(Drain(agent));
        var buffer = new byte[200];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.ErrorResponse, StunTransactionId.FromBytes(check.AsSpan(8)));
        writer.AddErrorCode(StunErrorCode.RoleConflict);
        writer.AddMessageIntegrity(Encoding.ASCII.GetBytes(RemotePassword));
        writer.AddFingerprint();
        agent.HandleStunPacket(1, Peer, writer.Message, 1010);
        Assert.Equal(IceRole.Controlled, agent.Role);

        agent.HandleTimeout(1100);
        var retry = Assert.Single(Drain(agent));
        Assert.True(StunMessageReader.TryParse(retry, out var reader, out _));
        Assert.True(reader.TryGetIceControlled(out _));
    }

    [Theory]
    [InlineData(IceRole.Controlling, 100ul, 50ul, true)]   // ours larger: 487, keep controlling
    [InlineData(IceRole.Controlling, 100ul, 500ul, false)] // theirs larger: become controlled, answer
    [InlineData(IceRole.Controlled, 100ul, 50ul, false)]   // ours larger: become controlling, answer
    [InlineData(IceRole.Controlled, 100ul, 500ul, true)]   // theirs larger: 487, stay controlled
    public void Role_conflict_on_an_incoming_request(IceRole role, ulong ours, ulong theirs, bool expect487)
    {
        var agent = NewAgent(role, ours);
        agent.HandleStunPacket(1, Peer, Request(controlling: role == IceRole.Controlling, controlled: role == IceRole.Controlled, tieBreaker: theirs), 1000);
        var response = Assert.Single(Drain(agent));
        if (expect487)
        {
            Assert.Equal(487, ErrorCodeOf(response));
            Assert.True(StunMessageReader.TryParse(response, out var reader, out _));
            Assert.True(reader.VerifyMessageIntegrity(Encoding.ASCII.GetBytes(Password)));
            Assert.Equal(role, agent.Role);
        }
        else
        {
            Assert.Equal(0, ErrorCodeOf(response));
            Assert.NotEqual(role, agent.Role);
        }
    }

    [Fact]
    public void Thousands_of_mutated_packets_leave_a_connected_agent_connected()
    {
        var sim = new IceSimulation(42);
        var a = sim.AddPeer("A", IceRole.Controlling, 1);
        var b = sim.AddPeer("B", IceRole.Controlled, 2);
        a.AddHost("10.0.0.1", 40001);
        b.AddHost("10.0.0.2", 50001);
        IceSimulation.ExchangeCredentials(a, b);
        IceSimulation.Trickle(a, b, true);
        IceSimulation.Trickle(b, a, true);

        // Phase 1: connect while a third of the packets are mutated in flight.
        var random = new Random(7983);
        sim.Tamper = packet => random.NextDouble() < 0.33 ? Mutate(packet, random, fixFingerprint: random.Next(2) == 0) : packet;
        Assert.True(sim.RunUntil(() => a.Agent.ConnectionState == IceConnectionState.Completed && b.Agent.ConnectionState == IceConnectionState.Completed, 30_000), $"{a} / {b}");
        var selected = a.Selected;

        // Phase 2: feed both agents thousands of mutants of real traffic directly.
        var seeds = new List<byte[]>();
        sim.Tamper = packet =>
        {
            if (seeds.Count < 50)
            {
                seeds.Add(packet);
            }

            return packet;
        };
        sim.Run(20_000);
        Assert.NotEmpty(seeds);
        var now = sim.Now;
        for (var i = 0; i < 20_000; i++)
        {
            var mutant = Mutate(seeds[random.Next(seeds.Count)], random, fixFingerprint: i % 2 == 0);
            var target = i % 2 == 0 ? a : b;
            var from = i % 2 == 0 ? b.Sockets[1] : a.Sockets[1];
            target.Agent.HandleStunPacket(1, from, mutant, now);
            target.Agent.PollTransmit(new byte[1500], out _);
        }

        // Everything still works afterwards.
        sim.Tamper = null;
        sim.Run(60_000);
        Assert.Equal(IceConnectionState.Completed, a.Agent.ConnectionState);
        Assert.Equal(IceConnectionState.Completed, b.Agent.ConnectionState);
        Assert.Equal(selected, a.Selected);
        Assert.True(a.Agent.Statistics.PacketsDropped + b.Agent.Statistics.PacketsDropped > 1000);
    }

    // Flips bits, truncates, extends or rewrites the length; optionally recomputes FINGERPRINT so the
    // mutant gets past the first check and exercises the attribute and integrity checks behind it.
    private static byte[] Mutate(byte[] packet, Random random, bool fixFingerprint)
    {
        var copy = packet.ToArray();
        switch (random.Next(5))
        {
            case 0:
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                }

                break;
            case 1:
                copy = copy[..random.Next(copy.Length)];
                break;
            case 2:
                copy = [.. copy, .. Enumerable.Range(0, random.Next(1, 40)).Select(_ => (byte)random.Next(256))];
                break;
            case 3 when copy.Length >= 4:
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(2), (ushort)random.Next(65536));
                break;
            default:
                if (copy.Length > 24)
                {
                    // Rewrite an attribute length inside the message.
                    copy[22 + (random.Next((copy.Length - 24) / 4) * 4)] = (byte)random.Next(256);
                }

                break;
        }

        if (fixFingerprint && copy.Length >= 28 && BinaryPrimitives.ReadUInt16BigEndian(copy.AsSpan(copy.Length - 8)) == 0x8028)
        {
            var crc = Fingerprint.Compute(copy.AsSpan(0, copy.Length - 8));
            BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(copy.Length - 4), crc);
        }

        return copy;
    }
}
