namespace PeerNet.Sctp;

/// <summary>
/// Stream reconfiguration (RFC 6525): our Outgoing SSN Reset Requests and the peer's. Other request
/// types are answered Denied. One request of ours is in flight at a time (§5.1.1).
/// </summary>
public sealed partial class SctpAssociation
{
    private readonly List<ushort> _resetScratch = [];
    private int _resetRequestedCount;
    private uint _nextReconfigRequestSeq;
    private uint _peerNextReconfigRequestSeq;
    private SctpReconfigurationResult _lastReconfigResult;
    private ushort[]? _resetInFlight;
    private uint _resetInFlightSeq;
    private uint _resetInFlightLastTsn;
    private bool _resetInProgressRetry;
    private long _reconfigDeadline = Never;
    private bool _hasDeferredReset;
    private uint _deferredResetSeq;
    private uint _deferredResetLastTsn;
    private ushort[] _deferredResetStreams = [];

    /// <summary>
    /// Sends a reset request for every stream whose pre-reset messages are all sent and acknowledged
    /// (so the peer can reset at once; RFC 6525 §5.1.2), if none is in flight.
    /// </summary>
    private void TrySendResetRequest()
    {
        if (_resetRequestedCount == 0 || _resetInFlight is not null || IsTerminated || State != SctpAssociationState.Established)
        {
            return;
        }

        var maxStreams = (_options.Mtu - SctpPacket.HeaderLength - SctpChunk.HeaderLength - ReConfigChunk.OutgoingResetHeaderLength) / 2;
        _resetScratch.Clear();
        foreach (var stream in _outStreams.Values)
        {
            if (stream.ResetRequested && stream.MessagesBeforeReset == 0 && stream.OutstandingChunks == 0 && _resetScratch.Count < maxStreams)
            {
                _resetScratch.Add(stream.Id);
            }
        }

        if (_resetScratch.Count == 0)
        {
            return;
        }

        var ids = _resetScratch.ToArray();
        foreach (var id in ids)
        {
            var stream = _outStreams[id];
            stream.ResetRequested = false;
            stream.ResetInFlight = true;
            _resetRequestedCount--;
        }

        if (!PeerSupportsStreamReset)
        {
            CompleteOutgoingReset(ids, success: false, "the peer does not support stream reset (RE-CONFIG)");
            return;
        }

        _resetInFlight = ids;
        _resetInFlightSeq = _nextReconfigRequestSeq++;
        _resetInFlightLastTsn = _nextTsn - 1;
        _resetInProgressRetry = false;
        QueueResetRequest();
        _reconfigDeadline = _now + _rto;
    }

    private void QueueResetRequest()
    {
        var ids = _resetInFlight!;
        Span<byte> chunk = stackalloc byte[ReConfigChunk.GetOutgoingResetRequestLength(ids.Length)];
        var length = ReConfigChunk.WriteOutgoingResetRequest(chunk, _resetInFlightSeq, _peerNextReconfigRequestSeq - 1, _resetInFlightLastTsn, ids);
        QueueControl(chunk[..length], null);
    }

    private void OnReconfigTimerExpired()
    {
        _reconfigDeadline = Never;
        if (_resetInFlight is null || IsTerminated)
        {
            return;
        }

        if (!_resetInProgressRetry)
        {
            if (++_errorCount > _options.MaxRetransmissions)
            {
                Fail("no answer to the stream reset request");
                return;
            }

            BackOffRto();
        }

        _resetInProgressRetry = false;
        QueueResetRequest();
        _reconfigDeadline = _now + _rto;
    }

    private void CompleteOutgoingReset(ushort[] ids, bool success, string? reason)
    {
        foreach (var id in ids)
        {
            var stream = _outStreams[id];
            stream.ResetInFlight = false;
            if (success)
            {
                // RFC 6525 §5.1.2: SSNs restart at 0; RFC 8260 §2.3.2: so do both MID counters.
                stream.NextOrderedMid = 0;
                stream.NextUnorderedMid = 0;
            }

            Schedule(stream);
        }

        _events.Enqueue(success
            ? SctpEvent.Reset(SctpEventKind.OutgoingStreamsReset, ids)
            : SctpEvent.Reset(SctpEventKind.OutgoingStreamsResetFailed, ids, reason));
    }

    private void HandleReConfig(ReadOnlySpan<byte> parameters)
    {
        if (State is < SctpAssociationState.Established || IsTerminated)
        {
            return;
        }

        var e = new SctpParameterEnumerator(parameters);
        while (e.MoveNext())
        {
            var p = e.Current;
            switch ((SctpParameterType)p.Type)
            {
                case SctpParameterType.OutgoingSsnResetRequest:
                    if (ReConfigChunk.TryReadOutgoingResetRequest(p, out var request))
                    {
                        HandleIncomingResetRequest(request);
                    }

                    break;
                case SctpParameterType.ReconfigurationResponse:
                    if (ReConfigChunk.TryReadResponse(p, out var seq, out var result))
                    {
                        HandleReconfigResponse(seq, result);
                    }

                    break;
                case SctpParameterType.IncomingSsnResetRequest:
                case SctpParameterType.SsnTsnResetRequest:
                case SctpParameterType.AddOutgoingStreamsRequest:
                case SctpParameterType.AddIncomingStreamsRequest:
                    if (ReConfigChunk.TryReadRequestSequenceNumber(p, out var requestSeq))
                    {
                        HandleUnsupportedRequest(requestSeq);
                    }

                    break;
                default:
                    if (!SctpParameter.SkipWhenUnrecognized(p.Type))
                    {
                        return;
                    }

                    break;
            }
        }
    }

    /// <summary>RFC 6525 §5.2.2: reset now if all data before the request arrived, else defer (In progress).</summary>
    private void HandleIncomingResetRequest(in OutgoingSsnResetRequest request)
    {
        var seq = request.RequestSequenceNumber;
        if (_hasDeferredReset && seq == _deferredResetSeq)
        {
            QueueReconfigResponse(seq, SctpReconfigurationResult.InProgress);
            return;
        }

        if (seq == _peerNextReconfigRequestSeq)
        {
            var streams = new ushort[request.StreamCount];
            for (var i = 0; i < streams.Length; i++)
            {
                streams[i] = request.GetStream(i);
            }

            if (SerialNumber.Lte(request.SendersLastAssignedTsn, _received.CumulativeTsn))
            {
                PerformIncomingReset(streams);
                _peerNextReconfigRequestSeq++;
                _lastReconfigResult = SctpReconfigurationResult.SuccessPerformed;
                QueueReconfigResponse(seq, SctpReconfigurationResult.SuccessPerformed);
            }
            else
            {
                _hasDeferredReset = true;
                _deferredResetSeq = seq;
                _deferredResetLastTsn = request.SendersLastAssignedTsn;
                _deferredResetStreams = streams;
                QueueReconfigResponse(seq, SctpReconfigurationResult.InProgress);
            }
        }
        else if (seq == _peerNextReconfigRequestSeq - 1)
        {
            QueueReconfigResponse(seq, _lastReconfigResult); // a retransmission: same answer
        }
        else
        {
            QueueReconfigResponse(seq, SctpReconfigurationResult.ErrorBadSequenceNumber);
        }
    }

    private void TryPerformDeferredReset()
    {
        if (_hasDeferredReset && SerialNumber.Lte(_deferredResetLastTsn, _received.CumulativeTsn))
        {
            _hasDeferredReset = false;
            PerformIncomingReset(_deferredResetStreams);
            _peerNextReconfigRequestSeq++;
            _lastReconfigResult = SctpReconfigurationResult.SuccessPerformed;
            QueueReconfigResponse(_deferredResetSeq, SctpReconfigurationResult.SuccessPerformed);
            _deferredResetStreams = [];
        }
    }

    private void PerformIncomingReset(ushort[] streams)
    {
        if (streams.Length == 0)
        {
            _reassembly.ResetAllStreams();
            _interleavedReassembly.ResetAllStreams();
        }

        foreach (var id in streams)
        {
            _reassembly.ResetStream(id);
            _interleavedReassembly.ResetStream(id); // RFC 8260 §2.3.2: expected MIDs back to 0
        }

        _events.Enqueue(SctpEvent.Reset(SctpEventKind.StreamsReset, streams));
    }

    private void HandleUnsupportedRequest(uint seq)
    {
        if (seq == _peerNextReconfigRequestSeq && !_hasDeferredReset)
        {
            _peerNextReconfigRequestSeq++;
            _lastReconfigResult = SctpReconfigurationResult.Denied;
            QueueReconfigResponse(seq, SctpReconfigurationResult.Denied);
        }
        else if (seq == _peerNextReconfigRequestSeq - 1)
        {
            QueueReconfigResponse(seq, _lastReconfigResult);
        }
        else
        {
            QueueReconfigResponse(seq, SctpReconfigurationResult.ErrorBadSequenceNumber);
        }
    }

    private void HandleReconfigResponse(uint seq, SctpReconfigurationResult result)
    {
        if (_resetInFlight is null || seq != _resetInFlightSeq)
        {
            return;
        }

        if (result == SctpReconfigurationResult.InProgress)
        {
            // The peer waits for data still in flight: ask again after an RTO, not counted as an error.
            _resetInProgressRetry = true;
            _reconfigDeadline = _now + _rto;
            return;
        }

        var ids = _resetInFlight;
        _resetInFlight = null;
        _reconfigDeadline = Never;
        var success = result is SctpReconfigurationResult.SuccessPerformed or SctpReconfigurationResult.SuccessNothingToDo;
        CompleteOutgoingReset(ids, success, success ? null : "the peer answered " + result);
        TrySendResetRequest();
    }

    private void QueueReconfigResponse(uint seq, SctpReconfigurationResult result)
    {
        Span<byte> chunk = stackalloc byte[SctpChunk.HeaderLength + ReConfigChunk.ResponseLength];
        var length = ReConfigChunk.WriteResponse(chunk, seq, result);
        QueueControl(chunk[..length], null);
    }
}
