using System.Buffers.Binary;
using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>
/// Sans-I/O STUN Binding client for server-reflexive candidates (RFC 8445 §5.1.1.2, RFC 8489 §6.2.1):
/// one Binding request per (socket, server), retransmitted with a doubling timeout within a bounded
/// total time, answered by XOR-MAPPED-ADDRESS. It shares the host sockets with connectivity checks,
/// so <see cref="TryHandleResponse"/> claims only responses whose transaction id is one of its own.
/// </summary>
public sealed class ServerReflexiveGatherer
{
    private readonly Dictionary<StunTransactionId, Request> _requests = [];
    private readonly Queue<Request> _toSend = new();
    private readonly Queue<ServerReflexiveResult> _results = new();
    private readonly long _initialRto;
    private readonly long _timeout;

    /// <summary>Creates a gatherer.</summary>
    /// <param name="initialRto">The first retransmission timeout in ms (RFC 8489 recommends 500).</param>
    /// <param name="timeout">How long a server may take in all, in ms, before it counts as failed.</param>
    public ServerReflexiveGatherer(long initialRto = 500, long timeout = 5000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initialRto, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, 1);
        _initialRto = initialRto;
        _timeout = timeout;
    }

    /// <summary>Bindings not yet answered or timed out.</summary>
    public int Pending => _requests.Count;

    /// <summary>Requests sent, retransmissions included.</summary>
    public long RequestsSent { get; private set; }

    /// <summary>Responses claimed (matched one of our transactions).</summary>
    public long ResponsesReceived { get; private set; }

    /// <summary>Sends a Binding request from <paramref name="socketId"/> to <paramref name="server"/>.</summary>
    public void Start(int socketId, StunAddress server, long now)
    {
        var request = new Request(StunTransactionId.NewRandom(), socketId, server)
        {
            Rto = _initialRto,
            Deadline = now + Math.Min(_initialRto, _timeout),
            GiveUpAt = now + _timeout,
        };
        _requests.Add(request.Id, request);
        _toSend.Enqueue(request);
    }

    /// <summary>
    /// Takes <paramref name="packet"/> when it is a Binding response to one of our requests, received on
    /// the socket it was sent from; anything else is left for the ICE agent (false). Does not allocate
    /// when nothing is pending.
    /// </summary>
    public bool TryHandleResponse(int socketId, StunAddress from, ReadOnlySpan<byte> packet)
    {
        if (_requests.Count == 0 || packet.Length < StunMessage.HeaderLength)
        {
            return false;
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(packet);
        if (StunMessageType.GetMethod(type) != StunMethod.Binding || StunMessageType.GetClass(type) is not (StunClass.SuccessResponse or StunClass.ErrorResponse))
        {
            return false;
        }

        var id = StunTransactionId.FromBytes(packet.Slice(8, StunTransactionId.Length));
        if (!_requests.TryGetValue(id, out var request) || request.SocketId != socketId)
        {
            return false;
        }

        // Ours: from here on the agent must not see it. A malformed or misdirected answer is ignored
        // and the request keeps retransmitting.
        if (from != request.Server || !StunMessageReader.TryParse(packet, out var reader, out _))
        {
            return true;
        }

        ResponsesReceived++;
        _requests.Remove(id);
        if (reader.Class == StunClass.SuccessResponse
            && (reader.TryGetXorMappedAddress(out var mapped) || reader.TryGetMappedAddress(out mapped)))
        {
            _results.Enqueue(new ServerReflexiveResult(socketId, request.Server, mapped));
        }
        else
        {
            _results.Enqueue(new ServerReflexiveResult(socketId, request.Server, default));
        }

        return true;
    }

    /// <summary>Writes the next request into <paramref name="destination"/>; 0 when none.</summary>
    public int PollTransmit(Span<byte> destination, out IceTransmit transmit)
    {
        while (_toSend.TryDequeue(out var request))
        {
            if (!_requests.ContainsKey(request.Id))
            {
                continue;
            }

            var w = new StunMessageWriter(destination, StunMethod.Binding, StunClass.Request, request.Id);
            w.AddFingerprint();
            if (!w.TryGetMessage(out var message))
            {
                continue;
            }

            RequestsSent++;
            transmit = new IceTransmit(request.SocketId, request.Server);
            return message.Length;
        }

        transmit = default;
        return 0;
    }

    /// <summary>The next retransmission or give-up time, or null.</summary>
    public long? PollTimeout()
    {
        var deadline = long.MaxValue;
        foreach (var request in _requests.Values)
        {
            deadline = Math.Min(deadline, request.Deadline);
        }

        return deadline == long.MaxValue ? null : deadline;
    }

    /// <summary>Retransmits (RFC 8489 §6.2.1: doubling RTO) and fails requests past the total time.</summary>
    public void HandleTimeout(long now)
    {
        List<Request>? expired = null;
        foreach (var request in _requests.Values)
        {
            if (now < request.Deadline)
            {
                continue;
            }

            if (now >= request.GiveUpAt)
            {
                (expired ??= []).Add(request);
                continue;
            }

            request.Rto *= 2;
            request.Deadline = Math.Min(now + request.Rto, request.GiveUpAt);
            _toSend.Enqueue(request);
        }

        if (expired is not null)
        {
            foreach (var request in expired)
            {
                _requests.Remove(request.Id);
                _results.Enqueue(new ServerReflexiveResult(request.SocketId, request.Server, default));
            }
        }
    }

    /// <summary>The next finished Binding (answered or timed out).</summary>
    public bool TryPollResult(out ServerReflexiveResult result) => _results.TryDequeue(out result);

    /// <summary>Abandons every pending request (no results are produced).</summary>
    public void Clear()
    {
        _requests.Clear();
        _toSend.Clear();
    }

    private sealed class Request(StunTransactionId id, int socketId, StunAddress server)
    {
        public StunTransactionId Id { get; } = id;

        public int SocketId { get; } = socketId;

        public StunAddress Server { get; } = server;

        public long Rto { get; set; }

        public long Deadline { get; set; }

        public long GiveUpAt { get; set; }
    }
}
