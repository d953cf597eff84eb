using System.Buffers;

namespace PeerNet.Sharing.Swarm;

/// <summary>What a <see cref="SwarmEvent"/> reports.</summary>
public enum SwarmEventKind
{
    /// <summary>The info block arrived and matched the CID: <see cref="SwarmEvent.Data"/> (persist it).</summary>
    InfoVerified,

    /// <summary>
    /// A piece arrived and verified, first copy: <see cref="SwarmEvent.Piece"/>, sealed bytes in
    /// <see cref="SwarmEvent.Data"/>[0 .. <see cref="SwarmEvent.Length"/>) (rented from
    /// <see cref="ArrayPool{T}.Shared"/>; the driver owns it and calls <see cref="SwarmEvent.ReturnData"/>),
    /// <see cref="SwarmEvent.PeerId"/> the sender. Store (and open) it, then call
    /// <see cref="SwarmScheduler.MarkPieceStored"/> (or <see cref="SwarmScheduler.MarkPieceStoreFailed"/>).
    /// </summary>
    PieceVerified,

    /// <summary>
    /// <see cref="SwarmEvent.PeerId"/> is to be sent <see cref="SwarmEvent.Piece"/>: read the sealed
    /// piece and its proof and call <see cref="SwarmScheduler.ProvidePiece"/>, or
    /// <see cref="SwarmScheduler.RejectPieceRequest"/>.
    /// </summary>
    PieceNeeded,

    /// <summary>A peer misbehaved (<see cref="SwarmEvent.Reason"/>, <see cref="SwarmEvent.Piece"/>, <see cref="SwarmEvent.Text"/>): report it. A PeerClosed follows.</summary>
    PeerReported,

    /// <summary>A connection is over (<see cref="SwarmEvent.Reason"/>): close its data channel.</summary>
    PeerClosed,

    /// <summary>Every piece is stored.</summary>
    Completed,
}

/// <summary>Why a peer was reported or closed.</summary>
public enum SwarmPeerReason
{
    /// <summary>Not applicable.</summary>
    None,

    /// <summary>It broke the wire protocol (§5).</summary>
    ProtocolError,

    /// <summary>Its hello named other content (magic, version, CID or pieceCount).</summary>
    WrongContent,

    /// <summary>It sent a piece that failed verification (§5 "Verification").</summary>
    CorruptPiece,

    /// <summary>It sent an info block that does not match the CID (§5 "Info").</summary>
    BadInfo,

    /// <summary>Its requests stalled too often (§6 "Stalls").</summary>
    Stalled,

    /// <summary>Its hello did not come within <see cref="SwarmOptions.HelloTimeoutMs"/> (§6 "Stalls").</summary>
    NoHello,

    /// <summary>It sent <c>error</c>.</summary>
    PeerError,

    /// <summary>It closed or was removed.</summary>
    Closed,
}

/// <summary>An event from <see cref="SwarmScheduler.TryPollEvent"/>.</summary>
public readonly struct SwarmEvent
{
    internal SwarmEvent(SwarmEventKind kind, string? peerId = null, int piece = -1, byte[]? data = null, int length = 0,
        SwarmPeerReason reason = SwarmPeerReason.None, string? text = null)
    {
        Kind = kind;
        PeerId = peerId;
        Piece = piece;
        Data = data;
        Length = length;
        Reason = reason;
        Text = text;
    }

    /// <summary>What happened.</summary>
    public SwarmEventKind Kind { get; }

    /// <summary>The peer concerned, or null.</summary>
    public string? PeerId { get; }

    /// <summary>The piece concerned, or -1.</summary>
    public int Piece { get; }

    /// <summary>The info block (InfoVerified) or a pooled buffer with the sealed piece (PieceVerified).</summary>
    public byte[]? Data { get; }

    /// <summary>Bytes of <see cref="Data"/> in use.</summary>
    public int Length { get; }

    /// <summary>The bytes as a span.</summary>
    public ReadOnlySpan<byte> Span => Data is null ? default : Data.AsSpan(0, Length);

    /// <summary>Why (PeerReported, PeerClosed).</summary>
    public SwarmPeerReason Reason { get; }

    /// <summary>Details (PeerReported, PeerClosed).</summary>
    public string? Text { get; }

    /// <summary>Returns a PieceVerified buffer to the pool; call once, when done with it.</summary>
    public void ReturnData()
    {
        if (Kind == SwarmEventKind.PieceVerified && Data is not null)
        {
            ArrayPool<byte>.Shared.Return(Data);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind}({PeerId}{(Piece >= 0 ? $", piece {Piece}" : "")}{(Reason != SwarmPeerReason.None ? $", {Reason}" : "")}{(Text is null ? "" : $": {Text}")})";
}
