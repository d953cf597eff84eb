using System.Buffers;

namespace PeerNet.Sharing.Wire;

/// <summary>The downloading half: our requests, the peer's proofs and blocks, verification (§5 "Requests", "Verification").</summary>
public sealed partial class ShareWireSession
{
    private readonly Dictionary<int, DownloadJob> _downloads = [];
    private readonly Stack<DownloadJob> _downloadPool = new();

    // Pieces whose request we withdrew (cancel) or lost (choke) on this connection. Blocks the
    // peer had already queued may still arrive for them: those are ignored, and if we ask again
    // the old and new answers can interleave. Both carry the same bytes at the same offsets, so a
    // re-requested piece takes any block that continues it and any proof, and ignores the rest.
    private readonly HashSet<int> _withdrawn = [];

    /// <summary>How many of our requests are outstanding on this connection.</summary>
    public int OutstandingRequests => _downloads.Count;

    /// <summary>Whether we have an outstanding request for <paramref name="piece"/> here.</summary>
    public bool IsRequested(int piece) => _downloads.ContainsKey(piece);

    /// <summary>When we requested <paramref name="piece"/>, or null when it is not outstanding.</summary>
    public long? RequestedAt(int piece) => _downloads.TryGetValue(piece, out var job) ? job.RequestedAt : null;

    /// <summary>
    /// Whether <see cref="Request"/> would accept <paramref name="piece"/> now: the peer unchoked us,
    /// has it, it is not already outstanding here, and the peer's maxRequests leaves room.
    /// </summary>
    public bool CanRequest(int piece) =>
        CanSend && !AmChoked && RemotePieces is { } remote && remote[piece] && !_downloads.ContainsKey(piece) && _downloads.Count < RemoteMaxRequests;

    /// <summary>Sends <c>request</c> for <paramref name="piece"/>. False when <see cref="CanRequest"/> is false.</summary>
    public bool Request(int piece, long now)
    {
        if (!CanRequest(piece))
        {
            return false;
        }

        var job = _downloadPool.TryPop(out var pooled) ? pooled : new DownloadJob();
        job.Piece = piece;
        job.Length = _verifier!.GetSealedPieceLength(piece);
        job.Received = 0;
        job.ProofLength = -1;
        job.Lax = _withdrawn.Contains(piece);
        job.RequestedAt = now;
        _downloads.Add(piece, job);
        Enqueue(new Outgoing(ShareMessageType.Request, piece));
        return true;
    }

    /// <summary>Sends <c>cancel</c> for an outstanding request and forgets it. False when it is not outstanding.</summary>
    public bool Cancel(int piece)
    {
        if (!CanSend || !_downloads.Remove(piece, out var job))
        {
            return false;
        }

        Recycle(job);
        _withdrawn.Add(piece);
        CancelsSent++;
        Enqueue(new Outgoing(ShareMessageType.Cancel, piece));
        return true;
    }

    private void OnProof(int piece, ReadOnlySpan<byte> hashes)
    {
        if (!_downloads.TryGetValue(piece, out var job))
        {
            if (!_withdrawn.Contains(piece))
            {
                Fail(ShareWireError.Unrequested, $"a proof for piece {piece}, which we did not request");
            }

            return;
        }

        if (!job.Lax && (job.ProofLength >= 0 || job.Received > 0))
        {
            Fail(ShareWireError.Unrequested, $"a second proof for piece {piece}");
            return;
        }

        job.Proof ??= ArrayPool<byte>.Shared.Rent(ShareWireLimits.MaxProofHashes * ShareWireLimits.HashLength);
        hashes.CopyTo(job.Proof);
        job.ProofLength = hashes.Length;
        if (job.Received == job.Length)
        {
            Complete(job);
        }
    }

    private void OnBlock(int piece, int offset, ReadOnlySpan<byte> block)
    {
        if (!_downloads.TryGetValue(piece, out var job))
        {
            if (!_withdrawn.Contains(piece))
            {
                Fail(ShareWireError.Unrequested, $"a block of piece {piece}, which we did not request");
            }

            return;
        }

        if ((long)offset + block.Length > job.Length)
        {
            Fail(ShareWireError.BadRange, $"a block at {offset}+{block.Length} of piece {piece}, which is {job.Length} bytes");
            return;
        }

        if (offset != job.Received)
        {
            if (!job.Lax)
            {
                Fail(ShareWireError.Unrequested, $"a block at {offset} of piece {piece}, expected {job.Received}");
            }

            return;
        }

        if (job.ProofLength < 0 && !job.Lax)
        {
            Fail(ShareWireError.Unrequested, $"a block of piece {piece} before its proof");
            return;
        }

        job.Buffer ??= ArrayPool<byte>.Shared.Rent(job.Length);
        block.CopyTo(job.Buffer.AsSpan(offset));
        job.Received += block.Length;
        if (job.Received == job.Length && job.ProofLength >= 0)
        {
            Complete(job);
        }
    }

    private void Complete(DownloadJob job)
    {
        _downloads.Remove(job.Piece);
        var buffer = job.Buffer ?? ArrayPool<byte>.Shared.Rent(Math.Max(job.Length, 1));
        job.Buffer = null;
        var ok = _verifier!.VerifyPiece(job.Piece, buffer.AsSpan(0, job.Length), job.Proof.AsSpan(0, job.ProofLength));
        var piece = job.Piece;
        var length = job.Length;
        Recycle(job);
        if (ok)
        {
            PieceBytesReceived += length;
            _events.Enqueue(ShareWireEvent.Received(piece, buffer, length));
            return;
        }

        // §5 "Verification": discard, report the sender as corrupt, drop it.
        ArrayPool<byte>.Shared.Return(buffer);
        _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.PieceFailed, piece));
        Close(ShareErrorCode.CorruptPiece, $"piece {piece} failed verification");
    }

    private void OnReject(int piece)
    {
        if (_downloads.Remove(piece, out var job))
        {
            Recycle(job);
            _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.Rejected, piece));
        }
        else if (!_withdrawn.Contains(piece))
        {
            Fail(ShareWireError.Unrequested, $"a reject for piece {piece}, which we did not request");
        }
    }

    private void OnChoke()
    {
        // §5: choke discards our outstanding requests; a reject the peer sent for one of them
        // before it saw our request may still come, so they count as withdrawn.
        foreach (var job in _downloads.Values)
        {
            _withdrawn.Add(job.Piece);
            Recycle(job);
        }

        _downloads.Clear();
        if (!AmChoked)
        {
            AmChoked = true;
            _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.Choked));
        }
    }

    private void OnUnchoke()
    {
        if (AmChoked)
        {
            AmChoked = false;
            _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.Unchoked));
        }
    }

    private void Recycle(DownloadJob job)
    {
        ReturnToPool(ref job.Buffer);
        ReturnToPool(ref job.Proof);
        _downloadPool.Push(job);
    }

    /// <summary>Gives a rented buffer back and forgets it.</summary>
    private static void ReturnToPool(ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }

    private void ReleaseDownloads()
    {
        foreach (var job in _downloads.Values)
        {
            Recycle(job);
        }

        _downloads.Clear();
    }

    private sealed class DownloadJob
    {
        public int Piece;
        public int Length;
        public int Received;
        public int ProofLength = -1;
        public bool Lax;
        public long RequestedAt;
        public byte[]? Buffer;
        public byte[]? Proof;
    }
}
