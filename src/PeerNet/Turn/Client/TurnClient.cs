using System.Text;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// A sans-I/O TURN client (RFC 8656) for one allocation on one server over one transport: Allocate
/// with long-term credentials (401 challenge, 438 stale nonce), Refresh before expiry and with
/// lifetime 0 on close, a permission per peer IP (CreatePermission, renewed every 4 minutes) and a
/// channel per peer (ChannelBind, renewed before 10 minutes). Data goes out as Send indications
/// until the peer's channel is bound, then as ChannelData; Data indications and ChannelData come in
/// as (peer, payload). Bytes and time in, bytes, a deadline and events out; no sockets or clocks.
/// </summary>
/// <remarks>
/// Feed it only messages that came from the server (over a stream, one frame at a time: see
/// <see cref="TurnStreamReader"/>). <see cref="WrapData"/> and <see cref="HandleReceived"/> do not allocate.
/// Not thread-safe: the driver serializes calls.
/// </remarks>
public sealed class TurnClient
{
    /// <summary>The most a Send indication adds to the payload (header, XOR-PEER-ADDRESS for IPv6, DATA header, padding).</summary>
    public const int MaxSendOverhead = StunMessage.HeaderLength + StunMessage.AttributeHeaderLength + 20 + StunMessage.AttributeHeaderLength + 3;

    /// <summary>A buffer this long holds any request the client sends.</summary>
    public const int MaxRequestLength = 1400;

    private const int MaxAuthRetries = 3;

    private readonly TurnClientOptions _options;
    private readonly Dictionary<StunTransactionId, Transaction> _transactions = [];
    private readonly List<Transaction> _transactionList = [];
    private readonly Queue<Transaction> _toSend = new();
    private readonly Queue<TurnClientEvent> _events = new();
    private readonly Dictionary<StunAddress, Permission> _permissions = [];
    private readonly Dictionary<StunAddress, Channel> _channelsByPeer = [];
    private readonly Dictionary<ushort, Channel> _channelsByNumber = [];
    private readonly bool _stream;

    private byte[]? _key;
    private string? _realm;
    private byte[]? _nonce;
    private int _authRetries;
    private long _now;
    private long _refreshAt = long.MaxValue;
    private bool _refreshInFlight;
    private ushort _nextChannel = ChannelData.MinChannelNumber;

    /// <summary>Creates a client; nothing is sent until <see cref="Allocate"/>.</summary>
    public TurnClient(TurnClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Server.Family == StunAddressFamily.None)
        {
            throw new ArgumentException("The server address is required.", nameof(options));
        }

        _options = options;
        _stream = options.Transport != TurnTransport.Udp;
    }

    /// <summary>Where the allocation is.</summary>
    public TurnClientState State { get; private set; }

    /// <summary>Why it failed, once <see cref="State"/> is <see cref="TurnClientState.Failed"/>.</summary>
    public TurnClientFailure? Failure { get; private set; }

    /// <summary>The relayed transport address (XOR-RELAYED-ADDRESS), once allocated.</summary>
    public StunAddress RelayedAddress { get; private set; }

    /// <summary>Our address as the server saw it (XOR-MAPPED-ADDRESS of the Allocate response).</summary>
    public StunAddress MappedAddress { get; private set; }

    /// <summary>The lifetime the server granted, in seconds.</summary>
    public uint LifetimeSeconds { get; private set; }

    /// <summary>The realm learned from the server's challenge.</summary>
    public string? Realm => _realm;

    /// <summary>The server's address.</summary>
    public StunAddress Server => _options.Server;

    /// <summary>Messages from the server that were ignored (malformed, unknown transaction or channel, bad integrity).</summary>
    public long DroppedCount { get; private set; }

    /// <summary>Requests sent, retransmissions included.</summary>
    public long RequestsSent { get; private set; }

    /// <summary>Sends the first Allocate (without credentials: the server answers 401 with its realm and nonce).</summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public void Allocate(long now)
    {
        if (State != TurnClientState.New)
        {
            throw new InvalidOperationException("Allocate was already sent.");
        }

        _now = now;
        State = TurnClientState.Allocating;
        Start(new Transaction(TurnClientOperation.Allocate));
    }

    /// <summary>
    /// Asks for a permission for <paramref name="peer"/>'s IP (the port is ignored, RFC 8656 §9) and keeps
    /// it renewed. Before the allocation exists the request waits for it. Idempotent.
    /// </summary>
    public void CreatePermission(StunAddress peer, long now)
    {
        _now = now;
        var key = peer.WithPort(0);
        if (peer.Family == StunAddressFamily.None || _permissions.ContainsKey(key) || IsOver)
        {
            return;
        }

        var permission = new Permission(key);
        _permissions.Add(key, permission);
        if (State == TurnClientState.Allocated)
        {
            SendPermission(permission);
        }
    }

    /// <summary>Whether a permission for <paramref name="peer"/>'s IP is installed.</summary>
    public bool HasPermission(StunAddress peer) => _permissions.TryGetValue(peer.WithPort(0), out var p) && p.Installed;

    /// <summary>
    /// Binds a channel to <paramref name="peer"/> (which also installs its permission) and keeps it renewed;
    /// data to it goes as ChannelData once bound. Idempotent; false when all 4096 numbers are used.
    /// </summary>
    public bool BindChannel(StunAddress peer, long now)
    {
        _now = now;
        if (peer.Family == StunAddressFamily.None || IsOver)
        {
            return false;
        }

        if (_channelsByPeer.ContainsKey(peer))
        {
            return true;
        }

        if (_nextChannel > ChannelData.MaxChannelNumber)
        {
            return false;
        }

        var channel = new Channel(_nextChannel++, peer);
        _channelsByPeer.Add(peer, channel);
        _channelsByNumber.Add(channel.Number, channel);
        CreatePermission(peer, now);
        if (State == TurnClientState.Allocated)
        {
            SendChannelBind(channel);
        }

        return true;
    }

    /// <summary>The channel number bound to <paramref name="peer"/>, when the server confirmed it.</summary>
    public bool TryGetChannel(StunAddress peer, out ushort channelNumber)
    {
        if (_channelsByPeer.TryGetValue(peer, out var channel) && channel.Bound)
        {
            channelNumber = channel.Number;
            return true;
        }

        channelNumber = 0;
        return false;
    }

    /// <summary>
    /// Writes what carries <paramref name="data"/> to <paramref name="peer"/> through the relay into
    /// <paramref name="destination"/>: ChannelData when the peer's channel is bound, else a Send indication.
    /// Returns its length; 0 when there is no allocation or the destination is too small. Does not allocate.
    /// </summary>
    public int WrapData(StunAddress peer, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (State != TurnClientState.Allocated || data.Length > ChannelData.MaxDataLength)
        {
            return 0;
        }

        if (_channelsByPeer.TryGetValue(peer, out var channel) && channel.Bound)
        {
            return ChannelData.TryWrite(destination, channel.Number, data, _stream, out var written) ? written : 0;
        }

        var w = new StunMessageWriter(destination, StunMethod.Send, StunClass.Indication, StunTransactionId.NewRandom());
        if (!w.AddXorPeerAddress(peer) || !w.AddData(data) || !w.TryGetMessage(out var message))
        {
            return 0;
        }

        return message.Length;
    }

    /// <summary>
    /// Handles one message from the server (a UDP datagram, or one frame of the stream). Peer data
    /// (Data indication, ChannelData) comes back as <see cref="TurnReceiveResult.Data"/> with the peer and
    /// the payload (a slice of <paramref name="message"/>); responses advance the state. Does not allocate
    /// for data.
    /// </summary>
    public TurnReceiveResult HandleReceived(ReadOnlySpan<byte> message, long now, out StunAddress peer, out ReadOnlySpan<byte> data)
    {
        _now = now;
        peer = default;
        data = default;
        if (message.Length < 4)
        {
            return Drop();
        }

        if ((message[0] & 0xC0) == 0x40)
        {
            // ChannelData (RFC 8656 §12.4); over a stream the frame carries its padding.
            if (!ChannelData.TryParse(message, out var number, out var payload, out _)
                || !_channelsByNumber.TryGetValue(number, out var channel) || State != TurnClientState.Allocated)
            {
                return Drop();
            }

            peer = channel.Peer;
            data = payload;
            return TurnReceiveResult.Data;
        }

        if (!StunMessageReader.TryParse(message, out var reader, out _))
        {
            return Drop();
        }

        switch (reader.Class)
        {
            case StunClass.Indication when reader.Method == StunMethod.Data:
                // RFC 8656 §11.6: both attributes are required; data only while allocated.
                if (State != TurnClientState.Allocated || !reader.TryGetXorPeerAddress(out var from) || !reader.TryGetData(out var payload2))
                {
                    return Drop();
                }

                peer = from;
                data = payload2;
                return TurnReceiveResult.Data;

            case StunClass.SuccessResponse or StunClass.ErrorResponse:
                return HandleResponse(reader) ? TurnReceiveResult.Handled : Drop();

            default:
                return Drop();
        }
    }

    /// <summary>Writes the next request to send to the server into <paramref name="destination"/>; 0 when none.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the request.</exception>
    public int PollTransmit(Span<byte> destination)
    {
        while (_toSend.TryDequeue(out var transaction))
        {
            if (!transaction.Live)
            {
                continue;
            }

            if (destination.Length < transaction.Message.Length)
            {
                throw new ArgumentException("The destination is too short for the request.", nameof(destination));
            }

            transaction.Message.CopyTo(destination);
            RequestsSent++;
            return transaction.Message.Length;
        }

        return 0;
    }

    /// <summary>The next deadline (absolute milliseconds) at which <see cref="HandleTimeout"/> must run, or null.</summary>
    public long? PollTimeout()
    {
        var deadline = long.MaxValue;
        foreach (var transaction in _transactionList)
        {
            deadline = Math.Min(deadline, transaction.Deadline);
        }

        if (State == TurnClientState.Allocated)
        {
            if (!_refreshInFlight)
            {
                deadline = Math.Min(deadline, _refreshAt);
            }

            foreach (var permission in _permissions.Values)
            {
                if (!permission.InFlight && permission.Installed)
                {
                    deadline = Math.Min(deadline, permission.RefreshAt);
                }
            }

            foreach (var channel in _channelsByPeer.Values)
            {
                if (!channel.InFlight && channel.Bound)
                {
                    deadline = Math.Min(deadline, channel.RefreshAt);
                }
            }
        }

        return deadline == long.MaxValue ? null : deadline;
    }

    /// <summary>Retransmits, gives up on requests, and renews the allocation, permissions and channels when due.</summary>
    public void HandleTimeout(long now)
    {
        _now = now;
        for (var i = _transactionList.Count - 1; i >= 0; i--)
        {
            if (i >= _transactionList.Count)
            {
                continue;
            }

            var transaction = _transactionList[i];
            if (now < transaction.Deadline)
            {
                continue;
            }

            if (!_stream && transaction.Transmissions < _options.MaxTransmissions && now < transaction.GiveUpAt)
            {
                // RFC 8489 §6.2.1: the interval doubles; the last wait is bounded by the total.
                transaction.Transmissions++;
                transaction.Rto *= 2;
                transaction.Deadline = Math.Min(now + transaction.Rto, transaction.GiveUpAt);
                _toSend.Enqueue(transaction);
                continue;
            }

            Remove(transaction);
            OnFailure(transaction, 0, "no response from the server");
        }

        if (State != TurnClientState.Allocated)
        {
            return;
        }

        if (!_refreshInFlight && now >= _refreshAt)
        {
            _refreshInFlight = true;
            Start(new Transaction(TurnClientOperation.Refresh) { Lifetime = RequestedLifetimeSeconds });
        }

        foreach (var permission in _permissions.Values)
        {
            if (!permission.InFlight && permission.Installed && now >= permission.RefreshAt)
            {
                SendPermission(permission);
            }
        }

        foreach (var channel in _channelsByPeer.Values)
        {
            if (!channel.InFlight && channel.Bound && now >= channel.RefreshAt)
            {
                SendChannelBind(channel);
            }
        }
    }

    /// <summary>The next event, if any.</summary>
    public bool TryPollEvent(out TurnClientEvent e) => _events.TryDequeue(out e);

    /// <summary>
    /// Releases the allocation: a Refresh with LIFETIME 0 (RFC 8656 §7.2) when one exists, then
    /// <see cref="TurnClientState.Closed"/> once answered or timed out. Outstanding requests are abandoned.
    /// </summary>
    public void Close(long now)
    {
        _now = now;
        if (IsOver || State == TurnClientState.Closing)
        {
            return;
        }

        foreach (var transaction in _transactionList.ToArray())
        {
            Remove(transaction);
        }

        if (State == TurnClientState.Allocated)
        {
            State = TurnClientState.Closing;
            Start(new Transaction(TurnClientOperation.Refresh) { Lifetime = 0 });
            return;
        }

        State = TurnClientState.Closed;
        _events.Enqueue(new TurnClientEvent(TurnClientEventKind.Closed));
    }

    // ---- Requests ----

    private bool IsOver => State is TurnClientState.Closed or TurnClientState.Failed;

    private uint RequestedLifetimeSeconds => (uint)Math.Clamp(_options.RequestedLifetime.TotalSeconds, 0, uint.MaxValue);

    private void SendPermission(Permission permission)
    {
        permission.InFlight = true;
        Start(new Transaction(TurnClientOperation.CreatePermission) { Peer = permission.Peer });
    }

    private void SendChannelBind(Channel channel)
    {
        channel.InFlight = true;
        Start(new Transaction(TurnClientOperation.ChannelBind) { Peer = channel.Peer, Channel = channel.Number });
    }

    private void Start(Transaction transaction)
    {
        transaction.Id = StunTransactionId.NewRandom();
        transaction.Message = Build(transaction);
        transaction.Transmissions = 1;
        transaction.Rto = (long)_options.InitialRto.TotalMilliseconds;
        transaction.GiveUpAt = _now + (long)_options.TransactionTimeout.TotalMilliseconds;
        transaction.Deadline = _stream ? transaction.GiveUpAt : Math.Min(_now + transaction.Rto, transaction.GiveUpAt);
        transaction.Live = true;
        _transactions.Add(transaction.Id, transaction);
        _transactionList.Add(transaction);
        _toSend.Enqueue(transaction);
    }

    private void Restart(Transaction transaction)
    {
        // A new transaction id for the resend with fresh credentials (RFC 8489 §9.2.4).
        Remove(transaction);
        Start(new Transaction(transaction.Operation)
        {
            Peer = transaction.Peer,
            Channel = transaction.Channel,
            Lifetime = transaction.Lifetime,
        });
    }

    private void Remove(Transaction transaction)
    {
        transaction.Live = false;
        _transactions.Remove(transaction.Id);
        _transactionList.Remove(transaction);
    }

    private byte[] Build(Transaction t)
    {
        Span<byte> buffer = stackalloc byte[MaxRequestLength];
        var method = t.Operation switch
        {
            TurnClientOperation.Allocate => StunMethod.Allocate,
            TurnClientOperation.Refresh => StunMethod.Refresh,
            TurnClientOperation.CreatePermission => StunMethod.CreatePermission,
            _ => StunMethod.ChannelBind,
        };
        var w = new StunMessageWriter(buffer, method, StunClass.Request, t.Id);
        switch (t.Operation)
        {
            case TurnClientOperation.Allocate:
                w.AddRequestedTransport(StunTransportProtocol.Udp);
                w.AddLifetime(RequestedLifetimeSeconds);
                if (_options.RequestedAddressFamily != StunAddressFamily.None)
                {
                    w.AddRequestedAddressFamily(_options.RequestedAddressFamily);
                }

                break;
            case TurnClientOperation.Refresh:
                w.AddLifetime(t.Lifetime);
                break;
            case TurnClientOperation.CreatePermission:
                w.AddXorPeerAddress(t.Peer);
                break;
            case TurnClientOperation.ChannelBind:
                w.AddChannelNumber(t.Channel);
                w.AddXorPeerAddress(t.Peer);
                break;
        }

        if (_options.Software is { Length: > 0 } software)
        {
            w.AddSoftware(software);
        }

        if (_key is not null && _realm is not null && _nonce is not null)
        {
            w.AddUsername(_options.Username);
            w.AddRealm(_realm);
            w.AddNonce(_nonce);
            w.AddMessageIntegrity(_key);
            t.Signed = true;
        }

        if (!w.TryGetMessage(out var message))
        {
            throw new InvalidOperationException("The request does not fit (username, realm or nonce too long).");
        }

        return message.ToArray();
    }

    // ---- Responses ----

    private bool HandleResponse(in StunMessageReader reader)
    {
        if (!_transactions.TryGetValue(reader.TransactionId, out var transaction))
        {
            return false;
        }

        var method = transaction.Operation switch
        {
            TurnClientOperation.Allocate => StunMethod.Allocate,
            TurnClientOperation.Refresh => StunMethod.Refresh,
            TurnClientOperation.CreatePermission => StunMethod.CreatePermission,
            _ => StunMethod.ChannelBind,
        };
        if (reader.Method != method)
        {
            return false;
        }

        if (reader.Class == StunClass.ErrorResponse)
        {
            if (!reader.TryGetErrorCode(out var code, out var reasonUtf8))
            {
                return false;
            }

            // A signed error must verify; an unsigned one is accepted (a server cannot sign before it knows us).
            if (reader.HasMessageIntegrity && _key is not null && code != 401 && code != 438 && !reader.VerifyMessageIntegrity(_key))
            {
                return false;
            }

            var reason = Encoding.UTF8.GetString(reasonUtf8);
            if (code == 401 && !transaction.Signed && TryLearnCredentials(reader, realmRequired: true))
            {
                Restart(transaction);
                return true;
            }

            if (code == 438 && transaction.Signed && _authRetries < MaxAuthRetries && TryLearnCredentials(reader, realmRequired: false))
            {
                _authRetries++;
                Restart(transaction);
                return true;
            }

            Remove(transaction);
            StunAddress? alternate = code == 300 && reader.TryGetAlternateServer(out var server) ? server : null;
            OnFailure(transaction, code, reason, alternate);
            return true;
        }

        // Success: RFC 8489 §9.2.5 — it must carry MESSAGE-INTEGRITY under our key when the request was signed.
        if (transaction.Signed && (_key is null || !reader.HasMessageIntegrity || !reader.VerifyMessageIntegrity(_key)))
        {
            return false;
        }

        switch (transaction.Operation)
        {
            case TurnClientOperation.Allocate:
                if (State != TurnClientState.Allocating || !TryGetRelayed(reader, out var relayed))
                {
                    return false;
                }

                Remove(transaction);
                _authRetries = 0;
                RelayedAddress = relayed;
                MappedAddress = reader.TryGetXorMappedAddress(out var mapped) ? mapped : default;
                SetLifetime(reader.TryGetLifetime(out var granted) ? granted : RequestedLifetimeSeconds);
                State = TurnClientState.Allocated;
                _events.Enqueue(new TurnClientEvent(TurnClientEventKind.Allocated, RelayedAddress, MappedAddress));
                foreach (var permission in _permissions.Values)
                {
                    SendPermission(permission);
                }

                foreach (var channel in _channelsByPeer.Values)
                {
                    SendChannelBind(channel);
                }

                break;

            case TurnClientOperation.Refresh:
                Remove(transaction);
                _authRetries = 0;
                if (State == TurnClientState.Closing)
                {
                    State = TurnClientState.Closed;
                    _events.Enqueue(new TurnClientEvent(TurnClientEventKind.Closed));
                    break;
                }

                _refreshInFlight = false;
                SetLifetime(reader.TryGetLifetime(out var lifetime) ? lifetime : RequestedLifetimeSeconds);
                break;

            case TurnClientOperation.CreatePermission:
                Remove(transaction);
                _authRetries = 0;
                if (_permissions.TryGetValue(transaction.Peer, out var installed))
                {
                    installed.InFlight = false;
                    installed.Installed = true;
                    installed.RefreshAt = _now + (long)_options.PermissionRefreshInterval.TotalMilliseconds;
                    _events.Enqueue(new TurnClientEvent(TurnClientEventKind.PermissionCreated, transaction.Peer));
                }

                break;

            case TurnClientOperation.ChannelBind:
                Remove(transaction);
                _authRetries = 0;
                if (_channelsByPeer.TryGetValue(transaction.Peer, out var bound))
                {
                    bound.InFlight = false;
                    bound.Bound = true;
                    bound.RefreshAt = _now + (long)_options.ChannelRefreshInterval.TotalMilliseconds;
                    _events.Enqueue(new TurnClientEvent(TurnClientEventKind.ChannelBound, transaction.Peer));
                }

                break;
        }

        return true;
    }

    private bool TryGetRelayed(in StunMessageReader reader, out StunAddress relayed)
    {
        // With ADDITIONAL-ADDRESS-FAMILY there may be two; take the one of the family asked for.
        relayed = default;
        foreach (var attribute in reader)
        {
            if (attribute.Type == StunAttributeType.XorRelayedAddress && reader.TryDecodeXorAddress(attribute.Value, out var address))
            {
                if (relayed.Family == StunAddressFamily.None
                    || (_options.RequestedAddressFamily != StunAddressFamily.None && address.Family == _options.RequestedAddressFamily))
                {
                    relayed = address;
                }
            }
        }

        return relayed.Family != StunAddressFamily.None;
    }

    private bool TryLearnCredentials(in StunMessageReader reader, bool realmRequired)
    {
        if (!reader.TryGetNonce(out var nonce) || nonce.IsEmpty)
        {
            return false;
        }

        if (reader.TryGetRealm(out var realmUtf8) && !realmUtf8.IsEmpty)
        {
            var realm = Encoding.UTF8.GetString(realmUtf8);
            if (realm != _realm || _key is null)
            {
                _realm = realm;
                try
                {
                    _key = StunCredentials.ComputeLongTermKey(_options.Username, realm, _options.Password);
                }
                catch (ArgumentException)
                {
                    return false; // SASLprep refused the username or password
                }
            }
        }
        else if (realmRequired || _key is null)
        {
            return false;
        }

        _nonce = nonce.ToArray();
        return true;
    }

    private void SetLifetime(uint seconds)
    {
        LifetimeSeconds = seconds;
        var lifetime = seconds * 1000L;
        var margin = (long)_options.RefreshMargin.TotalMilliseconds;
        // Refresh a margin before expiry, or at half the lifetime when it is short.
        _refreshAt = _now + (lifetime > 2 * margin ? lifetime - margin : lifetime / 2);
    }

    private void OnFailure(Transaction transaction, int code, string reason, StunAddress? alternate = null)
    {
        var failure = new TurnClientFailure(transaction.Operation, code, reason) { AlternateServer = alternate };
        switch (transaction.Operation)
        {
            case TurnClientOperation.Allocate:
            case TurnClientOperation.Refresh when State != TurnClientState.Closing:
                Fail(failure);
                break;
            case TurnClientOperation.Refresh:
                State = TurnClientState.Closed;
                _events.Enqueue(new TurnClientEvent(TurnClientEventKind.Closed));
                break;
            case TurnClientOperation.CreatePermission:
                _permissions.Remove(transaction.Peer);
                _events.Enqueue(new TurnClientEvent(TurnClientEventKind.Failed, transaction.Peer, Failure: failure));
                break;
            case TurnClientOperation.ChannelBind when code == 0 && State == TurnClientState.Allocated
                && _channelsByPeer.TryGetValue(transaction.Peer, out var unanswered):
                // No answer is not a refusal: the server may have bound the channel and be relaying ChannelData
                // on it, which the client must understand once it asked (RFC 8656 §12). Keep the number, send
                // as Send indications meanwhile, and ask again.
                unanswered.Bound = false;
                SendChannelBind(unanswered);
                _events.Enqueue(new TurnClientEvent(TurnClientEventKind.Failed, transaction.Peer, Failure: failure));
                break;
            case TurnClientOperation.ChannelBind:
                if (_channelsByPeer.Remove(transaction.Peer, out var channel))
                {
                    _channelsByNumber.Remove(channel.Number);
                }

                _events.Enqueue(new TurnClientEvent(TurnClientEventKind.Failed, transaction.Peer, Failure: failure));
                break;
        }
    }

    private void Fail(TurnClientFailure failure)
    {
        if (IsOver)
        {
            return;
        }

        foreach (var transaction in _transactionList.ToArray())
        {
            Remove(transaction);
        }

        State = TurnClientState.Failed;
        Failure = failure;
        _events.Enqueue(new TurnClientEvent(TurnClientEventKind.Failed, Failure: failure));
    }

    private TurnReceiveResult Drop()
    {
        DroppedCount++;
        return TurnReceiveResult.Dropped;
    }

    private sealed class Transaction(TurnClientOperation operation)
    {
        public TurnClientOperation Operation { get; } = operation;

        public StunTransactionId Id { get; set; }

        public byte[] Message { get; set; } = [];

        public StunAddress Peer { get; init; }

        public ushort Channel { get; init; }

        public uint Lifetime { get; init; }

        public bool Signed { get; set; }

        public bool Live { get; set; }

        public int Transmissions { get; set; }

        public long Rto { get; set; }

        public long Deadline { get; set; }

        public long GiveUpAt { get; set; }
    }

    private sealed class Permission(StunAddress peer)
    {
        public StunAddress Peer { get; } = peer;

        public bool Installed { get; set; }

        public bool InFlight { get; set; }

        public long RefreshAt { get; set; } = long.MaxValue;
    }

    private sealed class Channel(ushort number, StunAddress peer)
    {
        public ushort Number { get; } = number;

        public StunAddress Peer { get; } = peer;

        public bool Bound { get; set; }

        public bool InFlight { get; set; }

        public long RefreshAt { get; set; } = long.MaxValue;
    }
}
