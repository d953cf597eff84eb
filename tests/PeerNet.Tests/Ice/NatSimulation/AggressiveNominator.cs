using System.Text;
using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice.NatSimulation;

/// <summary>
/// A controlling ICE peer written by hand with <see cref="StunMessageWriter"/>, so a test chooses exactly
/// which pairs it nominates and in what order: every check it sends carries USE-CANDIDATE (the aggressive
/// nomination of RFC 5245 §8.1.1.2, which RFC 8445 deprecates but peers still send). It answers the
/// controlled agent's checks like any agent (RFC 8445 §7.3) and retransmits its own until answered.
/// It lives on public hosts (one per candidate), so only the controlled side's NAT is in the way.
/// </summary>
internal sealed class AggressiveNominator : ISimActor
{
    private const int RetransmitInterval = 100;
    private const int MaxTransmissions = 20;

    private readonly VirtualInternet _net;
    private readonly byte[] _localKey;
    private readonly byte[] _buffer = new byte[1500];
    private readonly List<(VirtualHost Host, ushort Port, IceCandidate Candidate)> _candidates = [];
    private readonly List<Check> _checks = [];
    private string? _remoteUfrag;
    private byte[]? _remoteKey;

    public AggressiveNominator(VirtualInternet net, ulong tieBreaker, string ufrag, string password)
    {
        _net = net;
        TieBreaker = tieBreaker;
        Ufrag = ufrag;
        Password = password;
        _localKey = Encoding.ASCII.GetBytes(password);
        net.AddActor(this);
    }

    public ulong TieBreaker { get; }

    public string Ufrag { get; }

    public string Password { get; }

    public int ChecksAnswered { get; private set; }

    public int RequestsAnswered { get; private set; }

    /// <summary>A host candidate on a new public host at <paramref name="ip"/>.</summary>
    public IceCandidate AddHostCandidate(string ip, ushort port, int localPreference)
    {
        var host = _net.AddHost("nominator " + ip, ip);
        host.Bind(port, (from, datagram) => OnDatagram(host, port, from, datagram));
        var candidate = new IceCandidate
        {
            Foundation = IceCandidate.ComputeFoundation(IceCandidateType.Host, System.Net.IPAddress.Parse(ip)),
            Component = 1,
            Priority = IceCandidate.ComputePriority(IceCandidateType.Host, localPreference),
            Address = ip,
            Port = port,
            Type = IceCandidateType.Host,
            Extensions = [new("ufrag", Ufrag)],
        };
        _candidates.Add((host, port, candidate));
        return candidate;
    }

    public void SetRemoteCredentials(string ufrag, string password)
    {
        _remoteUfrag = ufrag;
        _remoteKey = Encoding.ASCII.GetBytes(password);
    }

    /// <summary>Sends a check with USE-CANDIDATE from <paramref name="local"/> to <paramref name="remote"/> (retransmitted until answered).</summary>
    public void Nominate(IceCandidate local, StunAddress remote)
    {
        var (host, port, candidate) = _candidates.Single(c => c.Candidate == local);
        var check = new Check(host, port, candidate, remote, StunTransactionId.NewRandom());
        _checks.Add(check);
        Send(check);
    }

    /// <summary>Whether the check of that pair got a success response.</summary>
    public bool Answered(IceCandidate local, StunAddress remote) => _checks.Any(c => c.Local == local && c.Remote == remote && c.Answered);

    public long? PollTimeout()
    {
        long? next = null;
        foreach (var check in _checks)
        {
            if (!check.Answered && check.Transmissions < MaxTransmissions)
            {
                next = next is null ? check.LastSent + RetransmitInterval : Math.Min(next.Value, check.LastSent + RetransmitInterval);
            }
        }

        return next;
    }

    public void HandleTimeout(long now)
    {
        foreach (var check in _checks)
        {
            if (!check.Answered && check.Transmissions < MaxTransmissions && now >= check.LastSent + RetransmitInterval)
            {
                Send(check);
            }
        }
    }

    private void Send(Check check)
    {
        var w = new StunMessageWriter(_buffer, StunMethod.Binding, StunClass.Request, check.TransactionId);
        w.AddUsername($"{_remoteUfrag}:{Ufrag}");
        w.AddPriority(((uint)IceCandidateType.PeerReflexive.TypePreference() << 24) | (check.Local.Priority & 0x00FFFFFF));
        w.AddIceControlling(TieBreaker);
        w.AddUseCandidate();
        w.AddMessageIntegrity(_remoteKey ?? throw new InvalidOperationException("SetRemoteCredentials first."));
        w.AddFingerprint();
        check.Transmissions++;
        check.LastSent = _net.Now;
        check.Host.Send(check.Port, check.Remote, w.Message);
    }

    private void OnDatagram(VirtualHost host, ushort port, StunAddress from, ReadOnlySpan<byte> datagram)
    {
        if (!StunMessageReader.TryParse(datagram, out var message, out _) || message.Method != StunMethod.Binding)
        {
            return;
        }

        switch (message.Class)
        {
            case StunClass.Request when message.VerifyMessageIntegrity(_localKey):
                // RFC 8445 §7.3.1.4: success with the source as XOR-MAPPED-ADDRESS, signed with our password.
                var w = new StunMessageWriter(_buffer, StunMethod.Binding, StunClass.SuccessResponse, message.TransactionId);
                w.AddXorMappedAddress(from);
                w.AddMessageIntegrity(_localKey);
                w.AddFingerprint();
                RequestsAnswered++;
                host.Send(port, from, w.Message);
                break;
            case StunClass.SuccessResponse when _remoteKey is not null && message.VerifyMessageIntegrity(_remoteKey):
                foreach (var check in _checks)
                {
                    if (check.TransactionId == message.TransactionId && !check.Answered)
                    {
                        check.Answered = true;
                        ChecksAnswered++;
                    }
                }

                break;
        }
    }

    private sealed class Check(VirtualHost host, ushort port, IceCandidate local, StunAddress remote, StunTransactionId transactionId)
    {
        public VirtualHost Host { get; } = host;

        public ushort Port { get; } = port;

        public IceCandidate Local { get; } = local;

        public StunAddress Remote { get; } = remote;

        public StunTransactionId TransactionId { get; } = transactionId;

        public int Transmissions { get; set; }

        public long LastSent { get; set; }

        public bool Answered { get; set; }
    }
}
