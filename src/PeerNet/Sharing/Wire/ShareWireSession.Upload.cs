using System.Buffers;

namespace PeerNet.Sharing.Wire;

/// <summary>The uploading half: the peer's requests, chokes, and serving pieces in blocks (§5 "Upload slots", "Requests").</summary>
public sealed partial class ShareWireSession
{
    // The peer's accepted requests in arrival order. Each asks the driver for its bytes
    // (PieceNeeded) only when it is among the first ReadAhead not yet sent, so an upload holds at
    // most ReadAhead sealed pieces in memory however many requests the peer queues.
    private readonly List<UploadJob> _uploads = [];
    private readonly Stack<UploadJob> _uploadPool = new();
    private UploadJob? _sending;

    // Once we have choked the peer, requests it sent before it saw the choke can arrive after a
    // later unchoke: it counts them as discarded, we as new. So after a choke a repeated request
    // is not an error (we are already serving it), and up to maxRequests stale ones may sit on
    // top of its maxRequests new ones.
    private bool _everChoked;

    /// <summary>The peer's requests accepted and not yet fully sent.</summary>
    public int PendingUploads => _uploads.Count;

    /// <summary>Sends <c>choke</c> and drops the peer's outstanding requests (it re-requests elsewhere).</summary>
    public void Choke()
    {
        if (!CanSend || PeerChoked)
        {
            return;
        }

        PeerChoked = true;
        _everChoked = true;
        ReleaseUploads();
        Enqueue(new Outgoing(ShareMessageType.Choke));
    }

    /// <summary>Sends <c>unchoke</c>: the peer may request.</summary>
    public void Unchoke()
    {
        if (!CanSend || !PeerChoked)
        {
            return;
        }

        PeerChoked = false;
        Enqueue(new Outgoing(ShareMessageType.Unchoke));
    }

    /// <summary>
    /// Answers <see cref="ShareWireEventKind.PieceNeeded"/>: the sealed piece (exactly its sealed
    /// length) and its proof hashes, copied. False when the request is gone (cancelled, choked).
    /// </summary>
    public bool ProvidePiece(int piece, ReadOnlySpan<byte> sealedPiece, ReadOnlySpan<byte> proofHashes)
    {
        var job = FindUpload(piece);
        if (job is null || job.Buffer is not null || _verifier is null)
        {
            return false;
        }

        if (sealedPiece.Length != _verifier.GetSealedPieceLength(piece))
        {
            throw new ArgumentException($"Piece {piece} is {_verifier.GetSealedPieceLength(piece)} bytes sealed, not {sealedPiece.Length}.", nameof(sealedPiece));
        }

        if (proofHashes.Length % ShareWireLimits.HashLength != 0 || proofHashes.Length > ShareWireLimits.MaxProofHashes * ShareWireLimits.HashLength)
        {
            throw new ArgumentException("A proof is at most 18 hashes of 32 bytes.", nameof(proofHashes));
        }

        job.Buffer = ArrayPool<byte>.Shared.Rent(Math.Max(sealedPiece.Length, 1));
        sealedPiece.CopyTo(job.Buffer);
        job.Length = sealedPiece.Length;
        job.Proof = ArrayPool<byte>.Shared.Rent(ShareWireLimits.MaxProofHashes * ShareWireLimits.HashLength);
        proofHashes.CopyTo(job.Proof);
        job.ProofLength = proofHashes.Length;
        return true;
    }

    /// <summary>Answers <see cref="ShareWireEventKind.PieceNeeded"/> with <c>reject</c> (we cannot serve it). False when the request is gone or already being sent.</summary>
    public bool RejectRequest(int piece)
    {
        var job = FindUpload(piece);
        if (job is null || job == _sending || !CanSend)
        {
            return false;
        }

        RemoveUpload(job);
        Enqueue(new Outgoing(ShareMessageType.Reject, piece));
        AskForPieces();
        return true;
    }

    private void OnRequest(int piece)
    {
        if (_pieceCount < 0 || piece >= _pieceCount)
        {
            Fail(ShareWireError.PieceOutOfRange, _pieceCount < 0 ? $"request {piece} before we announced any piece" : $"request {piece} of {_pieceCount} pieces");
            return;
        }

        if (FindUpload(piece) is not null)
        {
            if (!_everChoked)
            {
                Fail(ShareWireError.TooManyRequests, $"a second request for piece {piece}");
            }

            return;
        }

        // A request from a choked peer may have crossed our choke: reject, not an error (§5).
        if (PeerChoked || !_local![piece])
        {
            Enqueue(new Outgoing(ShareMessageType.Reject, piece));
            return;
        }

        if (_uploads.Count >= (_everChoked ? 2 * _options.MaxRequests : _options.MaxRequests))
        {
            Fail(ShareWireError.TooManyRequests, $"more than {_options.MaxRequests} requests outstanding");
            return;
        }

        var job = _uploadPool.TryPop(out var pooled) ? pooled : new UploadJob();
        job.Piece = piece;
        job.Asked = false;
        job.ProofSent = false;
        job.Offset = 0;
        _uploads.Add(job);
        AskForPieces();
    }

    private void OnCancel(int piece)
    {
        // A cancel for a piece already sent (or rejected) crossed it on the wire: nothing to do.
        var job = FindUpload(piece);
        if (job is null)
        {
            return;
        }

        RemoveUpload(job);
        _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.CancelReceived, piece));
        AskForPieces();
    }

    private void AskForPieces()
    {
        var asked = 0;
        foreach (var job in _uploads)
        {
            if (asked >= _options.ReadAhead)
            {
                break;
            }

            if (!job.Asked)
            {
                job.Asked = true;
                _events.Enqueue(ShareWireEvent.Of(ShareWireEventKind.PieceNeeded, job.Piece));
            }

            asked++;
        }
    }

    /// <summary>The upload to send from next: the one under way, else the first whose bytes arrived.</summary>
    private UploadJob? NextUpload()
    {
        if (_sending is not null)
        {
            return _sending;
        }

        foreach (var job in _uploads)
        {
            if (job.Buffer is not null)
            {
                _sending = job;
                return job;
            }
        }

        return null;
    }

    /// <summary>Writes the proof or the next block of the upload under way; 0 when none is ready.</summary>
    private int WriteUpload(Span<byte> destination)
    {
        var job = NextUpload();
        if (job is null)
        {
            return 0;
        }

        if (!job.ProofSent)
        {
            job.ProofSent = true;
            return ShareMessageWriter.WriteProof(destination, job.Piece, job.Proof.AsSpan(0, job.ProofLength));
        }

        var length = Math.Min(_options.BlockLength, job.Length - job.Offset);
        var written = ShareMessageWriter.WritePiece(destination, job.Piece, job.Offset, job.Buffer.AsSpan(job.Offset, length));
        job.Offset += length;
        PieceBytesSent += length;
        if (job.Offset == job.Length)
        {
            RemoveUpload(job);
            AskForPieces();
        }

        return written;
    }

    private UploadJob? FindUpload(int piece)
    {
        foreach (var job in _uploads)
        {
            if (job.Piece == piece)
            {
                return job;
            }
        }

        return null;
    }

    private void RemoveUpload(UploadJob job)
    {
        _uploads.Remove(job);
        if (_sending == job)
        {
            _sending = null;
        }

        RecycleUpload(job);
    }

    private void RecycleUpload(UploadJob job)
    {
        ReturnToPool(ref job.Buffer);
        ReturnToPool(ref job.Proof);
        _uploadPool.Push(job);
    }

    private void ReleaseUploads()
    {
        foreach (var job in _uploads)
        {
            RecycleUpload(job);
        }

        _uploads.Clear();
        _sending = null;
    }

    private sealed class UploadJob
    {
        public int Piece;
        public bool Asked;
        public bool ProofSent;
        public int Offset;
        public int Length;
        public int ProofLength;
        public byte[]? Buffer;
        public byte[]? Proof;
    }
}
