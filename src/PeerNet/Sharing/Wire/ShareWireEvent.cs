using System.Buffers;

namespace PeerNet.Sharing.Wire;

/// <summary>What a <see cref="ShareWireEvent"/> reports.</summary>
public enum ShareWireEventKind
{
    /// <summary>The peer's hello arrived and matched our CID (see the session's Remote* properties).</summary>
    HelloReceived,

    /// <summary>The peer asked for the info block; the session sends it (informational).</summary>
    InfoRequested,

    /// <summary>The info block we asked for is complete: <see cref="ShareWireEvent.Data"/> (a new array, not yet verified against the CID).</summary>
    InfoReceived,

    /// <summary>The peer's pieces became known or grew by a bitfield (<see cref="ShareWireSession.RemotePieces"/>).</summary>
    BitfieldReceived,

    /// <summary>The peer has one more piece: <see cref="ShareWireEvent.Piece"/>.</summary>
    HaveReceived,

    /// <summary>The peer choked us: every outstanding request of ours was discarded.</summary>
    Choked,

    /// <summary>The peer unchoked us: requests may go.</summary>
    Unchoked,

    /// <summary>The peer is interested in our pieces.</summary>
    Interested,

    /// <summary>The peer is no longer interested in our pieces.</summary>
    NotInterested,

    /// <summary>
    /// The session is ready to send <see cref="ShareWireEvent.Piece"/> to the peer: answer with
    /// <see cref="ShareWireSession.ProvidePiece"/> (the sealed bytes and proof) or
    /// <see cref="ShareWireSession.RejectRequest"/>.
    /// </summary>
    PieceNeeded,

    /// <summary>The peer withdrew its request for <see cref="ShareWireEvent.Piece"/> (a pending read may be dropped).</summary>
    CancelReceived,

    /// <summary>The peer rejected our request for <see cref="ShareWireEvent.Piece"/>.</summary>
    Rejected,

    /// <summary>
    /// A requested piece arrived whole and verified: <see cref="ShareWireEvent.Piece"/>, its sealed
    /// bytes in <see cref="ShareWireEvent.Data"/>[0 .. <see cref="ShareWireEvent.Length"/>), rented
    /// from <see cref="ArrayPool{T}.Shared"/>: the receiver owns it and returns it once
    /// (<see cref="ShareWireEvent.ReturnData"/>).
    /// </summary>
    PieceReceived,

    /// <summary>A requested piece failed verification: the session sent <c>error</c> (corrupt-piece) and is closing.</summary>
    PieceFailed,

    /// <summary>The peer broke the protocol (<see cref="ShareWireEvent.WireError"/>): the session sent <c>error</c> and is closing.</summary>
    ProtocolError,

    /// <summary>The peer sent <c>error</c>: <see cref="ShareWireEvent.ErrorCode"/>, <see cref="ShareWireEvent.Text"/>. The session is closed.</summary>
    ErrorReceived,

    /// <summary>The session is closed (its last message, if any, was polled): the driver closes the channel.</summary>
    Closed,
}

/// <summary>An event from <see cref="ShareWireSession.TryPollEvent"/>; which properties are set depends on <see cref="Kind"/>.</summary>
public readonly struct ShareWireEvent
{
    private ShareWireEvent(ShareWireEventKind kind, int piece = -1, byte[]? data = null, int length = 0, ShareWireError wireError = ShareWireError.None,
        ushort errorCode = 0, string? text = null)
    {
        Kind = kind;
        Piece = piece;
        Data = data;
        Length = length;
        WireError = wireError;
        ErrorCode = errorCode;
        Text = text;
    }

    /// <summary>What happened.</summary>
    public ShareWireEventKind Kind { get; }

    /// <summary>The piece concerned, or -1.</summary>
    public int Piece { get; }

    /// <summary>The info block (InfoReceived), or a pooled buffer holding the sealed piece (PieceReceived).</summary>
    public byte[]? Data { get; }

    /// <summary>Bytes of <see cref="Data"/> that are the piece or info block.</summary>
    public int Length { get; }

    /// <summary>The data as a span.</summary>
    public ReadOnlySpan<byte> Span => Data is null ? default : Data.AsSpan(0, Length);

    /// <summary>The violation (ProtocolError, PieceFailed: <see cref="ShareWireError.None"/>).</summary>
    public ShareWireError WireError { get; }

    /// <summary>The peer's error code (ErrorReceived); see <see cref="ShareErrorCode"/>.</summary>
    public ushort ErrorCode { get; }

    /// <summary>The peer's error text (ErrorReceived), or our description of a violation (ProtocolError).</summary>
    public string? Text { get; }

    /// <summary>Returns a PieceReceived buffer to the pool. Call once, after the bytes are no longer used.</summary>
    public void ReturnData()
    {
        if (Kind == ShareWireEventKind.PieceReceived && Data is not null)
        {
            ArrayPool<byte>.Shared.Return(Data);
        }
    }

    internal static ShareWireEvent Of(ShareWireEventKind kind, int piece = -1) => new(kind, piece);

    internal static ShareWireEvent Info(byte[] block) => new(ShareWireEventKind.InfoReceived, data: block, length: block.Length);

    internal static ShareWireEvent Received(int piece, byte[] buffer, int length) => new(ShareWireEventKind.PieceReceived, piece, buffer, length);

    internal static ShareWireEvent Violation(ShareWireError error, string text, int piece = -1) =>
        new(ShareWireEventKind.ProtocolError, piece, wireError: error, text: text);

    internal static ShareWireEvent PeerError(ushort code, string text) => new(ShareWireEventKind.ErrorReceived, errorCode: code, text: text);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        ShareWireEventKind.ProtocolError => $"ProtocolError({WireError}: {Text})",
        ShareWireEventKind.ErrorReceived => $"ErrorReceived({ErrorCode}: {Text})",
        ShareWireEventKind.InfoReceived => $"InfoReceived({Length} bytes)",
        _ when Piece >= 0 => $"{Kind}({Piece})",
        _ => Kind.ToString(),
    };
}
