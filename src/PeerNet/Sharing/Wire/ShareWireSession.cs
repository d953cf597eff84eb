using System.Buffers;

namespace PeerNet.Sharing.Wire;

/// <summary>
/// One connection's side of the sharing wire protocol (docs/sharing.md §5), sans-I/O: feed it each
/// data-channel message (<see cref="HandleMessage"/>) and the caller's decisions (requests, chokes,
/// pieces to upload); take messages to send (<see cref="PollTransmit"/>) and events
/// (<see cref="TryPollEvent"/>). It enforces the order rules (hello first, one bitfield, proof
/// before blocks, blocks in order and of exactly the sealed length, maxRequests), assembles and
/// verifies requested pieces, and serves the peer's requests in blocks. Peer input never throws: a
/// violation queues <c>error</c>, reports <see cref="ShareWireEventKind.ProtocolError"/> and closes
/// the session once that message is polled. Not thread-safe: one logical thread drives it.
/// </summary>
public sealed partial class ShareWireSession
{
    private readonly byte[] _contentId;
    private readonly ShareWireSessionOptions _options;
    private readonly Queue<ShareWireEvent> _events = new();

    // What we know (§3): the info block, its piece layout, and which pieces we hold.
    private IPieceVerifier? _verifier;
    private ReadOnlyMemory<byte> _infoBlock;
    private PieceBitfield? _local;
    private int _pieceCount = -1;

    // Our hello and bitfield (§5, "Handshake", "Haves").
    private bool _started;
    private bool _helloHadCount;
    private bool _bitfieldPhaseDone;

    // The peer's hello and haves. Before we know pieceCount its bitfield and haves wait in
    // _pendingRemote (2^18 bits), checked against the count once the info block arrives.
    private bool _remoteKnowsCount;
    private bool _remoteBitfieldReceived;
    private bool _remoteHaveReceived;
    private byte[]? _pendingRemote;
    private int _pendingBitfieldLength = -1;

    // The info block, both ways.
    private bool _infoRequested;
    private bool _infoDone;
    private byte[]? _infoBuffer;
    private int _infoReceived;
    private int _infoTotal;
    private bool _infoServed;
    private int _infoSendOffset = -1;

    private bool _closing;
    private bool _closed;

    /// <summary>A session for the item <paramref name="contentId"/> (32 bytes). Call <see cref="SetInfo"/> first if the info block is known, then <see cref="Start"/>.</summary>
    public ShareWireSession(ReadOnlySpan<byte> contentId, ShareWireSessionOptions? options = null)
    {
        if (contentId.Length != ShareWireLimits.ContentIdLength)
        {
            throw new ArgumentException("A content id is 32 bytes.", nameof(contentId));
        }

        _contentId = contentId.ToArray();
        _options = options ?? new ShareWireSessionOptions();
        _options.Validate();
    }

    /// <summary>The item's content id.</summary>
    public ReadOnlySpan<byte> ContentId => _contentId;

    /// <summary>Whether we know the info block (and so pieceCount).</summary>
    public bool HasInfo => _verifier is not null;

    /// <summary>pieceCount, or -1 before the info block is known.</summary>
    public int PieceCount => _pieceCount;

    /// <summary>The peer's hello arrived.</summary>
    public bool HasRemoteHello { get; private set; }

    /// <summary>The peer's hello flags.</summary>
    public ShareHelloFlags RemoteFlags { get; private set; }

    /// <summary>The peer's hello pieceCount, or -1 when it had no info then.</summary>
    public long RemotePieceCount { get; private set; } = -1;

    /// <summary>How many of our requests the peer accepts outstanding (its hello's maxRequests).</summary>
    public int RemoteMaxRequests { get; private set; }

    /// <summary>The pieces the peer has, once both its announcement and our pieceCount are known.</summary>
    public PieceBitfield? RemotePieces { get; private set; }

    /// <summary>The peer chokes us (initially true, §5 "Upload slots").</summary>
    public bool AmChoked { get; private set; } = true;

    /// <summary>We told the peer we are interested.</summary>
    public bool AmInterested { get; private set; }

    /// <summary>We choke the peer (initially true).</summary>
    public bool PeerChoked { get; private set; } = true;

    /// <summary>The peer told us it is interested.</summary>
    public bool PeerInterested { get; private set; }

    /// <summary>An error is queued; the session closes once it is polled.</summary>
    public bool IsClosing => _closing && !_closed;

    /// <summary>The session is over; the driver closes the channel.</summary>
    public bool IsClosed => _closed;

    /// <summary>Sealed piece bytes received in verified pieces.</summary>
    public long PieceBytesReceived { get; private set; }

    /// <summary>Sealed piece bytes sent in blocks.</summary>
    public long PieceBytesSent { get; private set; }

    /// <summary>Messages handled.</summary>
    public long MessagesReceived { get; private set; }

    /// <summary>Messages polled.</summary>
    public long MessagesSent { get; private set; }

    /// <summary><c>cancel</c> messages we queued.</summary>
    public long CancelsSent { get; private set; }

    /// <summary>Time of the last message from the peer (the caller's clock).</summary>
    public long LastReceivedAt { get; private set; }

    /// <summary>Time of the last proof or block from the peer, or -1: whether an upload to us is making progress.</summary>
    public long LastPieceDataAt { get; private set; } = -1;

    /// <summary>
    /// Makes the info block known: the verifier gives pieceCount and checks pieces, the block is
    /// served to peers that ask, <paramref name="localPieces"/> (shared with the caller, who sets bits
    /// as pieces are stored) is what our bitfield announces. Call once.
    /// </summary>
    public void SetInfo(ReadOnlyMemory<byte> infoBlock, IPieceVerifier verifier, PieceBitfield localPieces)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(localPieces);
        if (_verifier is not null)
        {
            throw new InvalidOperationException("The info block is already set.");
        }

        if (localPieces.PieceCount != verifier.PieceCount)
        {
            throw new ArgumentException("The bitfield's count is not the verifier's pieceCount.", nameof(localPieces));
        }

        _verifier = verifier;
        _infoBlock = infoBlock;
        _local = localPieces;
        _pieceCount = verifier.PieceCount;
        if (_closed || _closing)
        {
            return;
        }

        if (HasRemoteHello && RemotePieceCount >= 0 && RemotePieceCount != _pieceCount)
        {
            Fail(ShareWireError.BadPieceCount, $"the peer's pieceCount {RemotePieceCount} is not ours ({_pieceCount})", ShareErrorCode.WrongContent);
            return;
        }

        if (HasRemoteHello)
        {
            BuildRemotePieces();
        }

        MaybeSendBitfield();
    }

    /// <summary>Queues our hello (with what we know now). Call once, before polling.</summary>
    public void Start()
    {
        if (_started)
        {
            throw new InvalidOperationException("The session is already started.");
        }

        _started = true;
        _helloHadCount = _pieceCount >= 0;
        var flags = ShareHelloFlags.None;
        if (_verifier is not null)
        {
            flags |= ShareHelloFlags.HasInfo;
            if (_local!.IsComplete)
            {
                flags |= ShareHelloFlags.HasAllPieces;
            }
        }

        Enqueue(new Outgoing(ShareMessageType.Hello, piece: (int)flags));
        MaybeSendBitfield();
    }

    /// <summary>Takes the next event.</summary>
    public bool TryPollEvent(out ShareWireEvent e) => _events.TryDequeue(out e);

    /// <summary>Handles one message from the peer. Never throws on its content.</summary>
    public void HandleMessage(ReadOnlySpan<byte> message, long now)
    {
        if (_closed || _closing)
        {
            return;
        }

        MessagesReceived++;
        LastReceivedAt = now;
        if (!ShareMessage.TryParse(message, out var m, out var error))
        {
            var code = !HasRemoteHello && error is ShareWireError.BadMagic or ShareWireError.UnsupportedVersion
                ? ShareErrorCode.WrongContent
                : ShareErrorCode.Protocol;
            Fail(error, $"malformed {(message.IsEmpty ? "message" : ((ShareMessageType)message[0]).ToString())}: {error}", code);
            return;
        }

        if (!HasRemoteHello && m.Type != ShareMessageType.Hello)
        {
            Fail(ShareWireError.OutOfOrder, $"{m.Type} before hello");
            return;
        }

        switch (m.Type)
        {
            case ShareMessageType.Hello: OnHello(m); break;
            case ShareMessageType.Bitfield: OnBitfield(m.Payload); break;
            case ShareMessageType.Have: OnHave((int)m.Piece); break;
            case ShareMessageType.InfoRequest: OnInfoRequest(); break;
            case ShareMessageType.Info: OnInfo(m); break;
            case ShareMessageType.Request: OnRequest((int)m.Piece); break;
            case ShareMessageType.Proof: LastPieceDataAt = now; OnProof((int)m.Piece, m.Payload); break;
            case ShareMessageType.Piece: LastPieceDataAt = now; OnBlock((int)m.Piece, (int)m.Offset, m.Payload); break;
            case ShareMessageType.Cancel: OnCancel((int)m.Piece); break;
            case ShareMessageType.Reject: OnReject((int)m.Piece); break;
            case ShareMessageType.Choke: OnChoke(); break;
            case ShareMessageType.Unchoke: OnUnchoke(); break;
            case ShareMessageType.Interested: OnInterest(true); break;
            case ShareMessageType.NotInterested: OnInterest(false); break;
            case ShareMessageType.Error: OnError(m); break;
        }
    }

    /// <summary>Asks the peer for the info block (its hello had flag bit 0). False when not possible now.</summary>
    public bool RequestInfo()
    {
        if (!CanSend || !HasRemoteHello || (RemoteFlags & ShareHelloFlags.HasInfo) == 0 || _infoRequested)
        {
            return false;
        }

        _infoRequested = true;
        Enqueue(new Outgoing(ShareMessageType.InfoRequest));
        return true;
    }

    /// <summary>Tells the peer we completed <paramref name="piece"/> (a <c>have</c>, or a bit of the bitfield still to come).</summary>
    public void SendHave(int piece)
    {
        if (CanSend && _bitfieldPhaseDone && (uint)piece < (uint)_pieceCount)
        {
            Enqueue(new Outgoing(ShareMessageType.Have, piece));
        }
    }

    /// <summary>Sends <c>interested</c> or <c>not-interested</c> when it changes.</summary>
    public void SetInterested(bool interested)
    {
        if (!CanSend || interested == AmInterested)
        {
            return;
        }

        AmInterested = interested;
        Enqueue(new Outgoing(interested ? ShareMessageType.Interested : ShareMessageType.NotInterested));
    }

    /// <summary>
    /// Ends the session. With a code, queues <c>error</c> (closed once it is polled); without,
    /// closes at once. Either way <see cref="ShareWireEventKind.Closed"/> follows.
    /// </summary>
    public void Close(ShareErrorCode? code = null, string? text = null)
    {
        if (_closed || _closing)
        {
            return;
        }

        ReleaseAll();
        if (code is { } c)
        {
            _closing = true;
            var length = ShareMessageWriter.ErrorLength(text);
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            var written = ShareMessageWriter.WriteError(buffer.AsSpan(0, length), c, text);
            Enqueue(new Outgoing(ShareMessageType.Error, buffer: buffer, length: written), force: true);
        }
        else
        {
            MarkClosed();
        }
    }

    /// <summary>The channel closed under us (or the driver gave up on it): frees everything, reports Closed.</summary>
    public void HandleChannelClosed()
    {
        if (_closed)
        {
            return;
        }

        ReleaseAll();
        MarkClosed();
    }

    private bool CanSend => _started && !_closing && !_closed;

    private void OnHello(ShareMessage m)
    {
        if (HasRemoteHello)
        {
            Fail(ShareWireError.OutOfOrder, "a second hello");
            return;
        }

        if (!m.ContentId.SequenceEqual(_contentId))
        {
            Fail(ShareWireError.WrongContent, "the hello names another content id", ShareErrorCode.WrongContent);
            return;
        }

        var count = m.PieceCount == ShareWireLimits.UnknownPieceCount ? -1 : (long)m.PieceCount;
        if (count >= 0 && _pieceCount >= 0 && count != _pieceCount)
        {
            Fail(ShareWireError.BadPieceCount, $"the hello's pieceCount {count} is not ours ({_pieceCount})", ShareErrorCode.WrongContent);
            return;
        }

        HasRemoteHello = true;
        RemoteFlags = m.Flags;
        RemotePieceCount = count;
        RemoteMaxRequests = m.MaxRequests;
        _remoteKnowsCount = count >= 0;
        _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.HelloReceived));
        if (_pieceCount >= 0)
        {
            BuildRemotePieces();
        }

        MaybeSendBitfield();
    }

    /// <summary>
    /// Creates <see cref="RemotePieces"/> once both the peer's hello and our pieceCount are known,
    /// applying "has every piece" and whatever bitfield or haves came before we knew the count.
    /// </summary>
    private void BuildRemotePieces()
    {
        if (RemotePieces is not null || _closing)
        {
            return;
        }

        var pieces = new PieceBitfield(_pieceCount);
        var announced = false;
        if ((RemoteFlags & ShareHelloFlags.HasAllPieces) != 0)
        {
            pieces.SetAll();
            announced = true;
        }

        if (_pendingRemote is { } pending)
        {
            var length = PieceBitfield.ByteLength(_pieceCount);
            if (_pendingBitfieldLength >= 0 && _pendingBitfieldLength != length)
            {
                Fail(ShareWireError.BitfieldLengthMismatch, $"a bitfield of {_pendingBitfieldLength} bytes for {_pieceCount} pieces");
                return;
            }

            if (PieceBitfield.HasSpareBits(pending.AsSpan(0, length), _pieceCount) || pending.AsSpan(length).ContainsAnyExcept((byte)0))
            {
                Fail(ShareWireError.PieceOutOfRange, "a bitfield or have beyond pieceCount");
                return;
            }

            if ((RemoteFlags & ShareHelloFlags.HasAllPieces) == 0)
            {
                pieces.Load(pending.AsSpan(0, length));
            }

            _pendingRemote = null;
            announced = true;
        }

        RemotePieces = pieces;
        if (announced)
        {
            _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.BitfieldReceived));
        }
    }

    /// <summary>
    /// §5 "Haves": once both sides know pieceCount each sends one bitfield, omitted when empty. A
    /// peer learns that the other knows the count from its hello, or from a bitfield or have. So a
    /// side whose hello lacked the count sends its bitfield (even empty) as soon as it learns the
    /// count: that is how the other learns it, and the other holds it until it knows the count too.
    /// </summary>
    private void MaybeSendBitfield()
    {
        if (!CanSend || _bitfieldPhaseDone || _pieceCount < 0 || !HasRemoteHello || !(_remoteKnowsCount || !_helloHadCount))
        {
            return;
        }

        _bitfieldPhaseDone = true;
        if (_pieceCount == 0 || (_local!.Count == 0 && _helloHadCount))
        {
            return;
        }

        var bits = _local!.Bytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(bits.Length, 1));
        bits.CopyTo(buffer);
        Enqueue(new Outgoing(ShareMessageType.Bitfield, buffer: buffer, length: bits.Length));
    }

    private void OnBitfield(ReadOnlySpan<byte> bits)
    {
        if (_remoteBitfieldReceived || _remoteHaveReceived)
        {
            Fail(ShareWireError.OutOfOrder, _remoteBitfieldReceived ? "a second bitfield" : "a bitfield after a have");
            return;
        }

        _remoteBitfieldReceived = true;
        _remoteKnowsCount = true;
        if (RemotePieces is { } pieces)
        {
            var error = bits.Length != PieceBitfield.ByteLength(_pieceCount) ? ShareWireError.BitfieldLengthMismatch
                : PieceBitfield.HasSpareBits(bits, _pieceCount) ? ShareWireError.SpareBitsSet
                : ShareWireError.None;
            if (error != ShareWireError.None)
            {
                Fail(error, $"a bitfield of {bits.Length} bytes for {_pieceCount} pieces");
                return;
            }

            if ((RemoteFlags & ShareHelloFlags.HasAllPieces) == 0)
            {
                pieces.Load(bits);
            }

            _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.BitfieldReceived));
        }
        else
        {
            // We do not know pieceCount yet: keep the bits until we do (BuildRemotePieces checks them).
            _pendingRemote ??= new byte[ShareWireLimits.MaxBitfieldLength];
            bits.CopyTo(_pendingRemote);
            _pendingBitfieldLength = bits.Length;
        }

        MaybeSendBitfield();
    }

    private void OnHave(int piece)
    {
        _remoteHaveReceived = true;
        _remoteKnowsCount = true;
        if (RemotePieces is { } pieces)
        {
            if (piece >= _pieceCount)
            {
                Fail(ShareWireError.PieceOutOfRange, $"have {piece} of {_pieceCount} pieces");
                return;
            }

            if (pieces.Set(piece))
            {
                _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.HaveReceived, piece));
            }
        }
        else
        {
            _pendingRemote ??= new byte[ShareWireLimits.MaxBitfieldLength];
            _pendingRemote[piece >> 3] |= (byte)(0x80 >> (piece & 7));
        }

        MaybeSendBitfield();
    }

    private void OnInfoRequest()
    {
        if (_verifier is null || _infoServed)
        {
            Fail(ShareWireError.UnexpectedInfo, _infoServed ? "a second info-request" : "info-request, but we have no info block");
            return;
        }

        _infoServed = true;
        _infoSendOffset = 0;
        _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.InfoRequested));
    }

    private void OnInfo(ShareMessage m)
    {
        if (!_infoRequested || _infoDone)
        {
            Fail(ShareWireError.UnexpectedInfo, "info we did not ask for");
            return;
        }

        if (_infoBuffer is null)
        {
            if (m.Offset != 0)
            {
                Fail(ShareWireError.BadRange, $"the first info chunk at offset {m.Offset}");
                return;
            }

            _infoTotal = (int)m.TotalLength;
            _infoBuffer = ArrayPool<byte>.Shared.Rent(_infoTotal);
        }
        else if (m.TotalLength != _infoTotal || m.Offset != _infoReceived)
        {
            Fail(ShareWireError.BadRange, $"an info chunk at {m.Offset} of {m.TotalLength}, expected {_infoReceived} of {_infoTotal}");
            return;
        }

        m.Payload.CopyTo(_infoBuffer.AsSpan(_infoReceived));
        _infoReceived += m.Payload.Length;
        if (_infoReceived == _infoTotal)
        {
            var block = _infoBuffer.AsSpan(0, _infoTotal).ToArray();
            ArrayPool<byte>.Shared.Return(_infoBuffer);
            _infoBuffer = null;
            _infoDone = true;
            _events.Enqueue(ShareWireEvent.Info(block));
        }
    }

    private void OnInterest(bool interested)
    {
        if (PeerInterested != interested)
        {
            PeerInterested = interested;
            _events.Enqueue(ShareWireEvent.Of(interested ? ShareWireEventKind.Interested : ShareWireEventKind.NotInterested));
        }
    }

    private void OnError(ShareMessage m)
    {
        var text = System.Text.Encoding.UTF8.GetString(m.Payload);
        _events.Enqueue(ShareWireEvent.PeerError(m.ErrorCode, text));
        ReleaseAll();
        MarkClosed();
    }

    /// <summary>A violation by the peer: report it, send <c>error</c>, close (§5).</summary>
    private void Fail(ShareWireError error, string text, ShareErrorCode code = ShareErrorCode.Protocol)
    {
        _events.Enqueue(ShareWireEvent.Violation(error, text));
        Close(code, text);
    }

    private void MarkClosed()
    {
        _closing = true;
        _closed = true;
        _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.Closed));
    }

    private void ReleaseAll()
    {
        ReleaseDownloads();
        ReleaseUploads();
        ReleaseControl();
        if (_infoBuffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_infoBuffer);
            _infoBuffer = null;
        }

        _infoSendOffset = -1;
    }
}
