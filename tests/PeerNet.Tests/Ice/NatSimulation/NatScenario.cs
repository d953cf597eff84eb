using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>What a <see cref="NatScenario"/> builds.</summary>
internal sealed class NatScenarioOptions
{
    public NatKind NatA { get; set; } = NatKind.PortRestrictedCone;

    public NatKind NatB { get; set; } = NatKind.PortRestrictedCone;

    /// <summary>Changes to a NAT's behaviour (mapping timeout, inbound refresh).</summary>
    public Func<NatBehavior, NatBehavior>? AdjustNatA { get; set; }

    public Func<NatBehavior, NatBehavior>? AdjustNatB { get; set; }

    /// <summary>Each peer's access link (its NAT's uplink): one-way delay, jitter, loss.</summary>
    public LinkProfile Link { get; set; } = new();

    /// <summary>Give the peers the server as a stun: server.</summary>
    public bool Stun { get; set; } = true;

    /// <summary>Give the peers the server as a turn: server (u:p over UDP).</summary>
    public bool Turn { get; set; } = true;

    public IceTransportPolicy PolicyA { get; set; } = IceTransportPolicy.All;

    public IceTransportPolicy PolicyB { get; set; } = IceTransportPolicy.All;

    public IceRole RoleA { get; set; } = IceRole.Controlling;

    public IceRole RoleB { get; set; } = IceRole.Controlled;

    public ulong TieBreakerA { get; set; } = 0x1111_0000_0000_0000;

    public ulong TieBreakerB { get; set; } = 0x2222_0000_0000_0000;

    /// <summary>Changes to both agents' options (timers).</summary>
    public Action<IceAgentOptions>? Agent { get; set; }

    public int SignalingDelay { get; set; } = 50;

    /// <summary>The password the peers use with the TURN server (the server knows u:p).</summary>
    public string TurnPassword { get; set; } = VirtualTurnServer.Password;

    /// <summary>Put host B on NAT A's private network (10.0.1.3) instead of behind its own NAT.</summary>
    public bool SameNat { get; set; }
}

/// <summary>
/// The NAT lab's topology on the virtual internet: host A (10.0.1.2) behind NAT A (203.0.113.10), host B
/// (10.0.2.2) behind NAT B (203.0.113.20), a STUN/TURN server at 203.0.113.1:3478, and a signaling
/// channel each way. <see cref="Start"/> runs the offer/answer: A gathers and sends its credentials and
/// candidates as they come (trickle), B answers with its own.
/// </summary>
internal sealed class NatScenario
{
    public const string ServerIp = "203.0.113.1";

    private NatScenario(int seed, NatScenarioOptions options)
    {
        Options = options;
        Net = new VirtualInternet(seed);
        Server = new VirtualTurnServer(Net, ServerIp);
        NatA = Net.AddNat("NAT A", "203.0.113.10", Adjust(NatBehavior.Of(options.NatA), options.AdjustNatA), options.Link);
        NatB = Net.AddNat("NAT B", "203.0.113.20", Adjust(NatBehavior.Of(options.NatB), options.AdjustNatB), options.Link);
        HostA = Net.AddHost("host A", "10.0.1.2", NatA);
        HostB = options.SameNat ? Net.AddHost("host B", "10.0.1.3", NatA) : Net.AddHost("host B", "10.0.2.2", NatB);
        ToB = new SignalingChannel(Net, options.SignalingDelay);
        ToA = new SignalingChannel(Net, options.SignalingDelay);
        A = new SimulatedIcePeer(Net, HostA, "A", PeerOptions(options.RoleA, options.TieBreakerA, options.PolicyA));
        B = new SimulatedIcePeer(Net, HostB, "B", PeerOptions(options.RoleB, options.TieBreakerB, options.PolicyB));
    }

    public NatScenarioOptions Options { get; }

    public VirtualInternet Net { get; }

    public VirtualTurnServer Server { get; }

    public VirtualNat NatA { get; }

    public VirtualNat NatB { get; }

    public VirtualHost HostA { get; }

    public VirtualHost HostB { get; }

    public SignalingChannel ToA { get; }

    public SignalingChannel ToB { get; }

    public SimulatedIcePeer A { get; }

    public SimulatedIcePeer B { get; }

    public long StartedAt { get; private set; }

    public bool BothConnected => A.IsConnected && B.IsConnected;

    public static NatScenario Create(int seed, Action<NatScenarioOptions>? configure = null)
    {
        var options = new NatScenarioOptions();
        configure?.Invoke(options);
        return new NatScenario(seed, options);
    }

    /// <summary>Offer/answer with trickle over the signaling channels.</summary>
    public void Start()
    {
        StartedAt = Net.Now;
        Wire(A, B, ToB);
        Wire(B, A, ToA);

        // The offer carries A's credentials; B answers with its own once it has the offer.
        var (ufragA, pwdA) = (A.Agent.LocalUfrag, A.Agent.LocalPassword);
        A.Gather();
        ToB.Post(() =>
        {
            B.SetRemoteCredentials(ufragA, pwdA);
            B.Gather();
            var (ufragB, pwdB) = (B.Agent.LocalUfrag, B.Agent.LocalPassword);
            ToA.Post(() => A.SetRemoteCredentials(ufragB, pwdB));
        });
    }

    /// <summary>
    /// An ICE restart as JSEP runs it (RFC 8445 §9, RFC 8839 §4.4.1.1.1): <paramref name="offerer"/> restarts and
    /// sends an offer with its new credentials and every candidate; the other side restarts too and answers
    /// with its own.
    /// </summary>
    public void Restart(SimulatedIcePeer offerer)
    {
        var (answerer, toAnswerer, toOfferer) = offerer == A ? (B, ToB, ToA) : (A, ToA, ToB);
        offerer.Restart(IceChars(8), IceChars(24));
        var offer = Description.Of(offerer);
        toAnswerer.Post(() =>
        {
            answerer.Restart(IceChars(8), IceChars(24));
            offer.ApplyTo(answerer);
            var answer = Description.Of(answerer);
            toOfferer.Post(() => answer.ApplyTo(offerer));
        });
    }

    /// <summary>Whether both are connected on a pair of the current generation (no restart under way).</summary>
    public bool BothConnectedAfterRestart => BothConnected && !A.Agent.IsRestarting && !B.Agent.IsRestarting;

    public bool RunUntilConnected(long maxMilliseconds = 10_000) => Net.RunUntil(() => BothConnected, maxMilliseconds);

    /// <summary>
    /// Data both ways over the selected pairs: each side sends a datagram every 200 ms until it has received
    /// one from the other (a lossy path may eat a few); false if that does not happen within the time.
    /// </summary>
    public bool ExchangeData(byte tag, long maxMilliseconds = 3_000)
    {
        var (startA, startB) = (A.Received.Count, B.Received.Count);
        byte[] payload = [23, 0xFE, 0xFD, tag]; // a DTLS application_data-looking datagram (RFC 7983: 20–63)
        bool Got(SimulatedIcePeer peer, int start) => peer.Received.Skip(start).Any(r => r.Data.Length == 4 && r.Data[^1] == tag);
        var end = Net.Now + maxMilliseconds;
        while (Net.Now < end)
        {
            if (!A.SendData(payload) || !B.SendData(payload))
            {
                return false;
            }

            if (Net.RunUntil(() => Got(A, startA) && Got(B, startB), Math.Min(200, end - Net.Now)))
            {
                return true;
            }
        }

        return false;
    }

    public string Describe() =>
        $"seed {Net.Seed}, {Options.NatA}↔{Options.NatB}, t+{Net.Now - StartedAt} ms: {A} [{string.Join(",", A.States)}]; {B} [{string.Join(",", B.States)}]; "
        + $"A local {string.Join(" ", A.LocalCandidates.Select(c => c.Type.ToToken()))}, B local {string.Join(" ", B.LocalCandidates.Select(c => c.Type.ToToken()))}; "
        + $"packets sent {Net.PacketsSent}, lost {Net.PacketsLost}, unroutable {Net.PacketsUnroutable}; NAT A drops {NatA.UnsolicitedDrops}, NAT B drops {NatB.UnsolicitedDrops}";

    /// <summary>What an offer or answer carries for ICE: credentials, the candidates gathered so far, end-of-candidates.</summary>
    private sealed record Description(string Ufrag, string Password, string[] Candidates, bool Complete)
    {
        public static Description Of(SimulatedIcePeer peer) =>
            new(peer.Agent.LocalUfrag, peer.Agent.LocalPassword, [.. peer.CurrentCandidates.Select(c => c.ToString())], peer.GatheringDone);

        public void ApplyTo(SimulatedIcePeer peer)
        {
            peer.SetRemoteCredentials(Ufrag, Password);
            foreach (var line in Candidates)
            {
                peer.AddRemoteCandidate(IceCandidate.Parse(line));
            }

            if (Complete)
            {
                peer.AddRemoteEndOfCandidates();
            }
        }
    }

    private static NatBehavior Adjust(NatBehavior behavior, Func<NatBehavior, NatBehavior>? adjust) => adjust is null ? behavior : adjust(behavior);

    private static void Wire(SimulatedIcePeer from, SimulatedIcePeer to, SignalingChannel channel)
    {
        // Candidates travel as text (a=candidate lines), as through the hub.
        from.CandidateGathered += candidate =>
        {
            var line = candidate.ToString();
            channel.Post(() => to.AddRemoteCandidate(IceCandidate.Parse(line)));
        };
        from.GatheringComplete += () => channel.Post(to.AddRemoteEndOfCandidates);
    }

    private SimulatedIcePeerOptions PeerOptions(IceRole role, ulong tieBreaker, IceTransportPolicy policy)
    {
        var agent = new IceAgentOptions
        {
            Role = role,
            TieBreaker = tieBreaker,
            LocalUfrag = IceChars(8),
            LocalPassword = IceChars(24),
        };
        Options.Agent?.Invoke(agent);
        var server = VirtualInternet.Parse(ServerIp, Server.Address.Port);
        return new SimulatedIcePeerOptions
        {
            Agent = agent,
            StunServer = Options.Stun ? server : null,
            TurnServer = Options.Turn ? server : (StunAddress?)null,
            TransportPolicy = policy,
            TurnPassword = Options.TurnPassword,
        };
    }

    private string IceChars(int length)
    {
        const string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        return string.Create(length, Net.Random, static (span, random) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = chars[random.Next(chars.Length)];
            }
        });
    }
}
