using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PeerNet.Rtc;
using PeerNet.Signaling;

namespace PeerNet.Hub.Signaling;

/// <summary>
/// The signaling protocol's core (docs/signaling.md): peer directory, rooms, routing, limits and
/// resume. Sans-I/O: frames and time come in, frames go out through each peer's outbox, and the
/// only I/O request is <see cref="ISignalingTransport.Close"/>. Thread-safe: each connection's
/// loop calls in concurrently; one peer's messages are handled in the order they arrive.
/// </summary>
internal sealed class SignalingServer
{
    private readonly SignalingOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<string?, string, IReadOnlyList<RtcIceServer>> _iceServers;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, PeerSession> _peers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PeerSession>.AlternateLookup<ReadOnlySpan<char>> _peersBySpan;
    private readonly ConcurrentDictionary<string, PeerSession> _byResumeToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Room> _rooms = new(StringComparer.Ordinal);
    private readonly byte[] _limitsJson;
    private long _routed;

    /// <param name="iceServers">The ICE servers for a welcome: given the host the client used and its peer id.</param>
    public SignalingServer(SignalingOptions options, TimeProvider time, Func<string?, string, IReadOnlyList<RtcIceServer>> iceServers, ILogger<SignalingServer> logger)
    {
        options.Validate();
        _options = options;
        _time = time;
        _iceServers = iceServers;
        _logger = logger;
        _peersBySpan = _peers.GetAlternateLookup<ReadOnlySpan<char>>();
        _limitsJson = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["maxMessageBytes"] = options.MaxMessageBytes,
            ["messagesPerSecond"] = options.MessagesPerSecond,
            ["burst"] = options.Burst,
            ["roomsPerPeer"] = options.RoomsPerPeer,
            ["peersPerRoom"] = options.PeersPerRoom,
            ["idleTimeoutSeconds"] = options.IdleTimeout.TotalSeconds,
            ["resumeGraceSeconds"] = options.ResumeGrace.TotalSeconds,
        });
    }

    public SignalingOptions Options => _options;

    /// <summary>Peers known, connected or within their resume grace.</summary>
    public int PeerCount => _peers.Count;

    public int RoomCount => _rooms.Count;

    /// <summary>Signals delivered to a target's outbox since start.</summary>
    public long RoutedSignals => Interlocked.Read(ref _routed);

    private long Now => _time.GetTimestamp();

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <summary>
    /// A connection opened: resumes the peer holding <paramref name="resumeToken"/> if it is still
    /// within its grace period, otherwise creates a new peer. Returns the peer and the welcome,
    /// which the caller must send before anything in the peer's outbox.
    /// </summary>
    public PeerSession Attach(string? resumeToken, ISignalingTransport transport, out OutboundFrame welcome, string? requestHost = null)
    {
        var now = Now;
        if (!string.IsNullOrEmpty(resumeToken) && _byResumeToken.TryRemove(resumeToken, out var session))
        {
            ISignalingTransport? previous = null;
            var resumed = false;
            lock (session.Gate)
            {
                if (!session.Removed)
                {
                    previous = session.Transport;
                    session.Transport = transport;
                    session.DetachedAtTicks = 0;
                    session.LastActivityTicks = now;
                    session.ResumeToken = PeerIds.NewResumeToken();
                    session.RenewOutbox();
                    _byResumeToken[session.ResumeToken] = session;
                    resumed = true;
                }
            }
            if (resumed)
            {
                previous?.Close(SignalingCloseCode.ResumedElsewhere, "resumed elsewhere");
                _logger.LogDebug("Peer {PeerId} resumed", session.Id);
                welcome = Welcome(session, resumed: true, requestHost);
                return session;
            }
        }

        string id;
        PeerSession fresh;
        do
        {
            id = PeerIds.NewPeerId();
            fresh = new PeerSession(id, PeerIds.NewResumeToken(), now, _options.Burst) { Transport = transport };
        }
        while (!_peers.TryAdd(id, fresh));
        _byResumeToken[fresh.ResumeToken] = fresh;
        welcome = Welcome(fresh, resumed: false, requestHost);
        return fresh;
    }

    private OutboundFrame Welcome(PeerSession session, bool resumed, string? requestHost)
    {
        var ice = JsonSerializer.SerializeToUtf8Bytes(_iceServers(requestHost, session.Id));
        return ServerMessage.Welcome(session.Id, session.ResumeToken, resumed, ice, _limitsJson);
    }

    /// <summary>
    /// The connection ended. The peer keeps its id, rooms and incoming messages for the resume
    /// grace period, unless <paramref name="transport"/> had already been replaced by a resume,
    /// or the client said goodbye (<paramref name="leaving"/>: a close with code 1000), in which
    /// case it leaves at once so the others learn it promptly.
    /// </summary>
    public void Detach(PeerSession session, ISignalingTransport transport, bool leaving = false)
    {
        lock (session.Gate)
        {
            if (!ReferenceEquals(session.Transport, transport) || session.Removed) return;
            session.Transport = null;
            session.DetachedAtTicks = Math.Max(1, Now);
        }
        TrimDetachedOutbox(session);
        if (leaving || _options.ResumeGrace == TimeSpan.Zero) Remove(session);
    }

    /// <summary>Notes that something arrived on the connection (for the idle timeout).</summary>
    public void Touch(PeerSession session) => Volatile.Write(ref session.LastActivityTicks, Now);

    /// <summary>Handles one complete text frame from <paramref name="session"/>.</summary>
    public void Receive(PeerSession session, ISignalingTransport transport, ReadOnlySpan<byte> utf8)
    {
        if (!ReferenceEquals(Volatile.Read(ref session.Transport), transport)) return;
        var parsed = ClientMessage.TryParse(utf8, out var message, out var error);
        bool allowed;
        lock (session.Gate) allowed = session.Bucket.TryTake(_options.MessagesPerSecond, _options.Burst, Now, _time.TimestampFrequency);
        if (!allowed)
        {
            Reject(session, SignalingErrorCode.RateLimited,
                $"more than {_options.MessagesPerSecond:0.##} messages per second; message dropped", message.Ref);
            return;
        }
        if (!parsed)
        {
            Reject(session, SignalingErrorCode.BadMessage, error!, message.Ref);
            return;
        }

        switch (message.Type)
        {
            case ClientMessageType.Signal:
                HandleSignal(session, ref message);
                break;
            case ClientMessageType.Join:
                if (TryGetRoomName(session, ref message, out var joinRoom)) Join(session, joinRoom, message.Ref);
                break;
            case ClientMessageType.Leave:
                if (TryGetRoomName(session, ref message, out var leaveRoom)) Leave(session, leaveRoom, message.Ref);
                break;
            case ClientMessageType.Ping:
                Send(session, ServerMessage.Pong(message.Ref));
                break;
            default:
                Reject(session, SignalingErrorCode.UnknownType, "unknown message type; expected join, leave, signal or ping", message.Ref);
                break;
        }
    }

    /// <summary>A message over <see cref="SignalingOptions.MaxMessageBytes"/> arrived (and was discarded).</summary>
    public void RejectTooLarge(PeerSession session, ISignalingTransport transport)
    {
        if (!ReferenceEquals(Volatile.Read(ref session.Transport), transport)) return;
        Reject(session, SignalingErrorCode.TooLarge, $"message larger than {_options.MaxMessageBytes} bytes; discarded", default);
    }

    /// <summary>A binary frame arrived: v1 is JSON text only.</summary>
    public void RejectBinary(PeerSession session, ISignalingTransport transport)
    {
        if (!ReferenceEquals(Volatile.Read(ref session.Transport), transport)) return;
        Reject(session, SignalingErrorCode.BadMessage, "binary frames are not accepted; send JSON text", default);
    }

    private void HandleSignal(PeerSession session, ref ClientMessage message)
    {
        if (!message.HasTo)
        {
            Reject(session, SignalingErrorCode.BadMessage, "a signal needs 'to', the target's peer id", message.Ref);
            return;
        }
        PeerSession? target;
        if (message.ToIsEscaped || message.To.Length > 64)
        {
            // Real ids are short base64url and never escaped; decode the odd case the slow way.
            if (!TryDecodeString(message.To, message.ToIsEscaped, out var to))
            {
                Reject(session, SignalingErrorCode.BadMessage, "'to' is not a valid string", message.Ref);
                return;
            }
            _peers.TryGetValue(to, out target);
        }
        else
        {
            Span<char> chars = stackalloc char[64];
            var n = Encoding.UTF8.GetChars(message.To, chars);
            _peersBySpan.TryGetValue(chars[..n], out target);
        }
        if (target is null || target.Removed)
        {
            Reject(session, SignalingErrorCode.UnknownPeer, "no peer with that id is connected", message.Ref);
            return;
        }
        Send(target, OutboundFrame.Signal(session.SignalPrefix, message.Data));
        Interlocked.Increment(ref _routed);
    }

    /// <summary>
    /// Decodes a string field's raw bytes (between the quotes); false for bytes that are not
    /// UTF-8 or escapes that are not text, which hostile clients can send.
    /// </summary>
    private static bool TryDecodeString(ReadOnlySpan<byte> raw, bool escaped, out string value)
    {
        value = "";
        if (!System.Text.Unicode.Utf8.IsValid(raw)) return false;
        if (!escaped)
        {
            value = Encoding.UTF8.GetString(raw);
            return true;
        }
        // Re-read the escaped string token through the JSON reader to decode it.
        Span<byte> quoted = raw.Length + 2 <= 512 ? stackalloc byte[raw.Length + 2] : new byte[raw.Length + 2];
        quoted[0] = (byte)'"';
        raw.CopyTo(quoted[1..]);
        quoted[^1] = (byte)'"';
        try
        {
            var reader = new Utf8JsonReader(quoted);
            reader.Read();
            value = reader.GetString() ?? "";
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException)
        {
            return false;
        }
    }

    private bool TryGetRoomName(PeerSession session, ref ClientMessage message, out string room)
    {
        room = "";
        if (!message.HasRoom)
        {
            Reject(session, SignalingErrorCode.BadMessage, "'room' is required", message.Ref);
            return false;
        }
        if (!TryDecodeString(message.Room, message.RoomIsEscaped, out room))
        {
            Reject(session, SignalingErrorCode.BadMessage, "'room' is not a valid string", message.Ref);
            return false;
        }
        if (!IsValidRoomName(room))
        {
            Reject(session, SignalingErrorCode.BadMessage, "a room name is 1-128 characters without control characters", message.Ref);
            return false;
        }
        return true;
    }

    internal static bool IsValidRoomName(string room)
    {
        if (room.Length is 0 or > 128) return false;
        for (var i = 0; i < room.Length; i++)
        {
            var c = room[i];
            if (char.IsControl(c) || char.IsLowSurrogate(c)) return false;
            if (char.IsHighSurrogate(c))
            {
                // Only a whole surrogate pair is text; a lone half (from a JSON \uD800 escape) is not.
                if (i + 1 >= room.Length || !char.IsLowSurrogate(room[i + 1])) return false;
                i++;
            }
        }
        return true;
    }

    private void Join(PeerSession session, string name, ReadOnlySpan<byte> reference)
    {
        Room? room;
        lock (session.Gate)
        {
            if (session.Rooms.TryGetValue(name, out room))
            {
                // Already a member: answer with the current list, tell nobody.
                lock (room) Send(session, ServerMessage.Joined(name, OthersOf(room, session), reference));
                return;
            }
            if (session.Rooms.Count >= _options.RoomsPerPeer)
            {
                Reject(session, SignalingErrorCode.RoomFull, $"already in {_options.RoomsPerPeer} rooms, the most allowed", reference);
                return;
            }
        }
        while (true)
        {
            room = _rooms.GetOrAdd(name, static n => new Room(n));
            lock (room)
            {
                if (room.Dead) continue; // emptied and removed just now: make a new one
                if (room.Members.Count >= _options.PeersPerRoom)
                {
                    Reject(session, SignalingErrorCode.RoomFull, $"room is full ({_options.PeersPerRoom} peers)", reference);
                    return;
                }
                // Outboxes are written under the room lock so that every member sees joins and
                // leaves in one order consistent with the member lists it was given.
                var others = OthersOf(room, session);
                room.Members.Add(session);
                lock (session.Gate) session.Rooms[name] = room;
                Send(session, ServerMessage.Joined(name, others, reference));
                if (room.Members.Count > 1)
                {
                    var notice = ServerMessage.PeerJoined(name, session.Id);
                    Broadcast(room, session, notice);
                }
                return;
            }
        }
    }

    private void Leave(PeerSession session, string name, ReadOnlySpan<byte> reference)
    {
        Room? room;
        lock (session.Gate)
        {
            if (!session.Rooms.Remove(name, out room))
            {
                Reject(session, SignalingErrorCode.NotInRoom, "not a member of that room", reference);
                return;
            }
        }
        lock (room)
        {
            LeaveLocked(room, session);
            Send(session, ServerMessage.Left(name, reference));
        }
    }

    private void LeaveLocked(Room room, PeerSession session)
    {
        room.Members.Remove(session);
        if (room.Members.Count > 0) Broadcast(room, null, ServerMessage.PeerLeft(room.Name, session.Id));
        RemoveIfEmpty(room);
    }

    private void RemoveIfEmpty(Room room)
    {
        if (room.Members.Count != 0) return;
        room.Dead = true;
        _rooms.TryRemove(new KeyValuePair<string, Room>(room.Name, room));
    }

    private static List<string> OthersOf(Room room, PeerSession session)
    {
        var list = new List<string>(room.Members.Count);
        foreach (var m in room.Members) if (!ReferenceEquals(m, session)) list.Add(m.Id);
        return list;
    }

    /// <summary>Sends a copy of <paramref name="frame"/> to every member but <paramref name="except"/>; takes ownership of it.</summary>
    private void Broadcast(Room room, PeerSession? except, OutboundFrame frame)
    {
        foreach (var m in room.Members)
        {
            if (!ReferenceEquals(m, except)) Send(m, OutboundFrame.Copy(frame.Memory.Span));
        }
        frame.Release();
    }

    /// <summary>Queues <paramref name="frame"/> for <paramref name="session"/>; takes ownership of it.</summary>
    private void Send(PeerSession session, OutboundFrame frame)
    {
        if (session.Removed)
        {
            frame.Release();
            return;
        }
        if (!session.Outbox.Writer.TryWrite(frame))
        {
            // Completed: the peer was just removed, or its outbox is being handed to a resumed
            // connection; the gate orders us after that hand-over.
            lock (session.Gate)
            {
                if (session.Removed || !session.Outbox.Writer.TryWrite(frame))
                {
                    frame.Release();
                    return;
                }
            }
        }
        var transport = Volatile.Read(ref session.Transport);
        if (transport is null)
        {
            TrimDetachedOutbox(session);
        }
        else if (session.Outbox.Reader.Count > _options.MaxPendingSends)
        {
            // The client is not reading; holding more would let it pin our memory. (Logged once:
            // every further message for it lands here until the close completes.)
            const int overflowBit = 1 << 7;
            if ((Interlocked.Or(ref session.LoggedErrorKinds, overflowBit) & overflowBit) == 0)
            {
                _logger.LogInformation("Closing peer {PeerId}: more than {Count} messages waiting to be sent", session.Id, _options.MaxPendingSends);
            }
            transport.Close(SignalingCloseCode.PolicyViolation, "not reading its messages");
        }
    }

    private void TrimDetachedOutbox(PeerSession session)
    {
        while (session.Outbox.Reader.Count > _options.MaxQueuedMessages && session.Outbox.Reader.TryRead(out var old))
        {
            old.Release();
        }
    }

    private void Reject(PeerSession session, string code, string text, ReadOnlySpan<byte> reference)
    {
        var bit = 1 << code switch
        {
            SignalingErrorCode.BadMessage => 0,
            SignalingErrorCode.UnknownType => 1,
            SignalingErrorCode.UnknownPeer => 2,
            SignalingErrorCode.NotInRoom => 3,
            SignalingErrorCode.TooLarge => 4,
            SignalingErrorCode.RateLimited => 5,
            _ => 6,
        };
        if ((Interlocked.Or(ref session.LoggedErrorKinds, bit) & bit) == 0)
        {
            _logger.LogInformation("Rejected a message from peer {PeerId}: {Code}: {Message}", session.Id, code, text);
        }
        else
        {
            _logger.LogDebug("Rejected a message from peer {PeerId}: {Code}: {Message}", session.Id, code, text);
        }
        Send(session, ServerMessage.Error(code, text, reference));
    }

    /// <summary>
    /// Periodic housekeeping, about once a second: closes idle connections and forgets peers whose
    /// resume grace has run out (they leave their rooms).
    /// </summary>
    public void Tick()
    {
        var now = Now;
        var idle = Ticks(_options.IdleTimeout);
        var grace = Ticks(_options.ResumeGrace);
        foreach (var (_, session) in _peers)
        {
            var transport = Volatile.Read(ref session.Transport);
            if (transport is not null)
            {
                if (now - Volatile.Read(ref session.LastActivityTicks) >= idle)
                {
                    _logger.LogDebug("Closing idle peer {PeerId}", session.Id);
                    transport.Close(SignalingCloseCode.Idle, "idle");
                }
            }
            else
            {
                bool expired;
                lock (session.Gate) expired = session.Transport is null && session.DetachedAtTicks != 0 && now - session.DetachedAtTicks >= grace;
                if (expired) Remove(session);
            }
        }
    }

    /// <summary>Forgets a peer: it leaves its rooms and its queued messages are dropped.</summary>
    private void Remove(PeerSession session)
    {
        List<Room> rooms;
        lock (session.Gate)
        {
            if (session.Removed || session.Transport is not null) return;
            session.Removed = true;
            rooms = [.. session.Rooms.Values];
            session.Rooms.Clear();
        }
        _peers.TryRemove(new KeyValuePair<string, PeerSession>(session.Id, session));
        _byResumeToken.TryRemove(new KeyValuePair<string, PeerSession>(session.ResumeToken, session));
        foreach (var room in rooms)
        {
            lock (room) LeaveLocked(room, session);
        }
        session.Outbox.Writer.TryComplete();
        while (session.Outbox.Reader.TryRead(out var frame)) frame.Release();
        lock (session.Gate)
        {
            session.Unsent?.Release();
            session.Unsent = null;
        }
        _logger.LogDebug("Peer {PeerId} left", session.Id);
    }

    /// <summary>Closes every connection (hub shutdown).</summary>
    public void CloseAll()
    {
        foreach (var (_, session) in _peers)
        {
            Volatile.Read(ref session.Transport)?.Close(SignalingCloseCode.ServerShutdown, "hub shutting down");
        }
    }
}
