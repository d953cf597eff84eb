namespace PeerNet.Sctp;

/// <summary>
/// The sender's side of reliability: SACK processing (RFC 9260 §6.2.1), RTT (§6.3), T3-rtx (§6.3.3),
/// fast retransmit (§7.2.4), congestion control (§7.2), and PR-SCTP abandonment (RFC 3758 §3.5).
/// </summary>
public sealed partial class SctpAssociation
{
    private void HandleSack(in SackChunk sack)
    {
        if (State is < SctpAssociationState.Established or SctpAssociationState.ShutdownAckSent)
        {
            return;
        }

        var cumulative = sack.CumulativeTsnAck;
        var ackPoint = _sent.FirstTsn - 1;
        if (SerialNumber.Lt(cumulative, ackPoint))
        {
            return; // §6.2.1 D i: an old SACK, out of order
        }

        if (SerialNumber.Gte(cumulative, _nextTsn))
        {
            Drop(SctpDropReason.MalformedChunk); // acks a TSN we never sent
            return;
        }

        var flightBefore = _flightSize;
        long bytesNewlyAcked = 0;
        var cumulativeAdvanced = cumulative != ackPoint;
        var rttSample = -1L;

        // Cumulative ack: drop everything up to it from the retransmission queue.
        while (_sent.Count > 0 && SerialNumber.Lte(_sent.FirstTsn, cumulative))
        {
            ref var chunk = ref _sent[0];
            var tsn = _sent.FirstTsn;
            bytesNewlyAcked += AckChunk(ref chunk);
            if (_rttMeasuring && tsn == _rttTsn)
            {
                rttSample = _now - _rttSentAt;
                _rttMeasuring = false;
            }

            var message = chunk.Message;
            message.FragmentsInQueue--;
            message.Stream.OutstandingChunks--;
            _sent.PopFront();
            ReleaseIfDone(message);
        }

        if (SerialNumber.Lt(_advancedPeerAckPoint, _sent.FirstTsn - 1))
        {
            _advancedPeerAckPoint = _sent.FirstTsn - 1;
        }

        // Gap ack blocks: mark what they cover; remember the highest TSN newly acknowledged.
        var highestNewlyAcked = cumulativeAdvanced ? cumulative : ackPoint;
        var highestReported = cumulative;
        var anyNewGapAck = false;
        for (var b = 0; b < sack.GapAckBlockCount; b++)
        {
            var block = sack.GetGapAckBlock(b);
            if (block.Start == 0 || block.End < block.Start)
            {
                continue; // malformed block: ignore it
            }

            var first = cumulative + block.Start;
            var last = cumulative + block.End;
            if (SerialNumber.Gt(last, highestReported) && SerialNumber.Lt(last, _nextTsn))
            {
                highestReported = last;
            }

            if (SerialNumber.Lt(last, _sent.FirstTsn))
            {
                continue;
            }

            var from = SerialNumber.Lt(first, _sent.FirstTsn) ? 0L : first - _sent.FirstTsn;
            var to = Math.Min(last - _sent.FirstTsn, _sent.Count - 1L);
            for (var i = (int)from; i <= to; i++)
            {
                ref var chunk = ref _sent[i];
                if (chunk.State is SentChunkState.Acked or SentChunkState.Abandoned)
                {
                    continue;
                }

                bytesNewlyAcked += AckChunk(ref chunk);
                chunk.State = SentChunkState.Acked;
                anyNewGapAck = true;
                var tsn = _sent.FirstTsn + (uint)i;
                if (SerialNumber.Gt(tsn, highestNewlyAcked))
                {
                    highestNewlyAcked = tsn;
                }

                if (_rttMeasuring && tsn == _rttTsn)
                {
                    rttSample = _now - _rttSentAt;
                    _rttMeasuring = false;
                }
            }
        }

        if (rttSample >= 0)
        {
            UpdateRto(rttSample);
        }

        if (cumulativeAdvanced)
        {
            _errorCount = 0; // §8.3: the peer is alive
        }

        _sackSinceT3 = true;

        // §7.2.4: Fast Recovery ends once the cumulative ack reaches the exit point.
        if (_inFastRecovery && SerialNumber.Gte(cumulative, _fastRecoveryExit))
        {
            _inFastRecovery = false;
        }

        // §7.2.4 note: the §7.2.1 / §7.2.2 window adjustments come before any fast retransmit.
        GrowCongestionWindow(flightBefore, bytesNewlyAcked, cumulativeAdvanced);

        // §7.2.4: miss indications for TSNs below the highest newly acknowledged one (HTNA); in Fast
        // Recovery a SACK that advances the cumulative ack counts every TSN it reports missing, so
        // a second loss in the same window is repaired without waiting for T3.
        if (_inFastRecovery && cumulativeAdvanced)
        {
            CountMissIndications(SerialNumber.Gt(highestReported, highestNewlyAcked) ? highestReported : highestNewlyAcked);
        }
        else if (anyNewGapAck)
        {
            CountMissIndications(highestNewlyAcked);
        }

        // §6.2.1: the peer's window minus what is still outstanding.
        _peerRwnd = Math.Max(0, (long)sack.AdvertisedReceiverWindowCredit - _outstandingBytes);

        // §6.3.2: restart T3 when the earliest outstanding TSN is acknowledged; stop it when all is.
        if (_sent.Count == 0)
        {
            _t3Deadline = Never;
        }
        else if (cumulativeAdvanced)
        {
            _t3Deadline = _now + _rto;
        }

        UpdateAdvancedPeerAckPoint();
        if (SerialNumber.Gt(_advancedPeerAckPoint, _sent.FirstTsn - 1))
        {
            _forwardTsnPending = true; // RFC 3758 §3.5 C2/C3
        }

        if (_resetRequestedCount > 0)
        {
            TrySendResetRequest();
        }

        CheckShutdownProgress();
    }

    /// <summary>
    /// Slow start (RFC 9260 §7.2.1) and congestion avoidance (§7.2.2). Neither grows cwnd in Fast
    /// Recovery, when the window was not in use (flightsize below cwnd by more than an MTU before
    /// the SACK), or unless the SACK advanced the cumulative ack.
    /// </summary>
    private void GrowCongestionWindow(long flightBefore, long bytesNewlyAcked, bool cumulativeAdvanced)
    {
        var mtu = _options.Mtu;
        var fullyUtilized = flightBefore + mtu >= _cwnd || _heldByPacing;
        if (!_inFastRecovery && bytesNewlyAcked > 0)
        {
            if (_cwnd <= _ssthresh)
            {
                // Slow start: by at most the bytes acknowledged and at most one MTU per SACK.
                if (cumulativeAdvanced && fullyUtilized)
                {
                    _cwnd += Math.Min(bytesNewlyAcked, mtu);
                }
            }
            else
            {
                // Congestion avoidance: one MTU per cwnd of bytes acknowledged (partial_bytes_acked
                // counts cumulative and gap-acknowledged bytes alike).
                _partialBytesAcked += bytesNewlyAcked;
                if (_partialBytesAcked >= _cwnd)
                {
                    if (fullyUtilized && cumulativeAdvanced)
                    {
                        _partialBytesAcked -= _cwnd;
                        _cwnd += mtu;
                    }
                    else if (!fullyUtilized)
                    {
                        _partialBytesAcked = _cwnd;
                    }
                }
            }
        }

        if (_outstandingBytes == 0)
        {
            _partialBytesAcked = 0; // §7.2.2: everything sent is acknowledged
        }
    }

    /// <summary>Takes an acknowledged chunk out of flight; returns its bytes if they count as newly acked.</summary>
    private long AckChunk(ref SentChunk chunk)
    {
        switch (chunk.State)
        {
            case SentChunkState.InFlight:
                _flightSize -= chunk.WireSize;
                _outstandingBytes -= chunk.Length;
                return chunk.WireSize;
            case SentChunkState.NeedsRetransmit:
                _pendingRetransmits--;
                _outstandingBytes -= chunk.Length;
                return chunk.WireSize;
            default:
                return 0; // already gap-acked or abandoned
        }
    }

    private void CountMissIndications(uint highestNewlyAcked)
    {
        var end = SerialNumber.Gt(highestNewlyAcked, _sent.FirstTsn) ? (int)Math.Min(_sent.Count, highestNewlyAcked - _sent.FirstTsn) : 0;
        var marked = false;
        for (var i = 0; i < end; i++)
        {
            ref var chunk = ref _sent[i];
            if (chunk.State != SentChunkState.InFlight || chunk.FastRetransmitted)
            {
                continue;
            }

            if (++chunk.MissIndications >= 3)
            {
                if (ShouldAbandon(chunk.Message, chunk.TransmitCount))
                {
                    AbandonMessage(chunk.Message);
                    continue;
                }

                chunk.State = SentChunkState.NeedsRetransmit;
                chunk.FastRetransmitted = true;
                _flightSize -= chunk.WireSize;
                _pendingRetransmits++;
                marked = true;
            }
        }

        if (marked)
        {
            Statistics.FastRetransmits++;
            if (!_inFastRecovery)
            {
                // §7.2.4 steps 2, 3, 6: halve once per loss event (§7.2.3), send one packet of the marked
                // chunks at once regardless of cwnd, and stay in Fast Recovery until the exit point is
                // acked. Chunks marked later in the same recovery wait for cwnd.
                _fastRetransmitPending = true;
                _ssthresh = Math.Max(_cwnd / 2, 4L * _options.Mtu);
                _cwnd = _ssthresh;
                _partialBytesAcked = 0;
                _inFastRecovery = true;
                _fastRecoveryExit = _nextTsn - 1;
            }
        }
    }

    /// <summary>T3-rtx expiry (§6.3.3): back off, collapse cwnd, mark everything in flight for retransmission.</summary>
    private void OnT3Expired()
    {
        _t3Deadline = Never;
        if (IsTerminated || _sent.Count == 0)
        {
            return;
        }

        Statistics.RetransmissionTimeouts++;

        // §8.3 counts consecutive timeouts; but a peer that keeps answering our zero-window probes
        // with SACKs is alive, only not reading (the persist rule of RFC 9293 §3.8.6.1).
        var probingClosedWindow = _peerRwnd <= 0 && _sackSinceT3;
        _sackSinceT3 = false;
        if (!probingClosedWindow && ++_errorCount > _options.MaxRetransmissions)
        {
            Fail("too many retransmissions: the peer is unreachable");
            return;
        }

        // E1, E2: ssthresh = max(cwnd/2, 4 MTU), cwnd = 1 MTU, RTO doubled up to RTO.Max.
        BackOffRto();
        _ssthresh = Math.Max(_cwnd / 2, 4L * _options.Mtu);
        _cwnd = _options.Mtu;
        _partialBytesAcked = 0;
        _inFastRecovery = false;
        _fastRetransmitPending = false;
        _rttMeasuring = false;
        for (var i = 0; i < _sent.Count; i++)
        {
            ref var chunk = ref _sent[i];
            if (chunk.State != SentChunkState.InFlight)
            {
                continue;
            }

            if (ShouldAbandon(chunk.Message, chunk.TransmitCount))
            {
                AbandonMessage(chunk.Message);
                continue;
            }

            // E3: everything outstanding goes again, the earliest first (one packet now, the rest
            // as cwnd allows); a fresh round of miss indications may fast-retransmit it again.
            chunk.State = SentChunkState.NeedsRetransmit;
            chunk.FastRetransmitted = false;
            chunk.MissIndications = 0;
            _flightSize -= chunk.WireSize;
            _pendingRetransmits++;
        }

        UpdateAdvancedPeerAckPoint();
        if (SerialNumber.Gt(_advancedPeerAckPoint, _sent.FirstTsn - 1))
        {
            _forwardTsnPending = true; // RFC 3758 §3.5 C5: the FORWARD TSN may have been lost too
        }

        _t3Deadline = _now + _rto;
    }

    private bool ShouldUsePartialReliability(OutgoingMessage message) =>
        message.IsPartiallyReliable && PeerSupportsPartialReliability;

    /// <summary>RFC 3758 §3.5 A/B: the message used up its retransmissions or its lifetime.</summary>
    private bool ShouldAbandon(OutgoingMessage message, int transmitCount) =>
        ShouldUsePartialReliability(message)
        && (message.Abandoned
            || (message.MaxRetransmits >= 0 && transmitCount > message.MaxRetransmits)
            || message.ExpiresAt <= _now);

    /// <summary>Abandons every fragment of a message, sent or not (RFC 3758 §3.5: a message goes as a whole).</summary>
    private void AbandonMessage(OutgoingMessage message)
    {
        if (message.Abandoned)
        {
            return;
        }

        message.Abandoned = true;
        Statistics.MessagesAbandoned++;
        var index = SerialNumber.Gt(message.FirstTsn, _sent.FirstTsn) ? (int)(message.FirstTsn - _sent.FirstTsn) : 0;
        for (var i = index; i < _sent.Count; i++)
        {
            ref var chunk = ref _sent[i];
            if (chunk.Message != message)
            {
                if (i > index && !_interleaving)
                {
                    break; // DATA: a message's chunks have consecutive TSNs; I-DATA interleaves them with others
                }

                continue;
            }

            switch (chunk.State)
            {
                case SentChunkState.InFlight:
                    _flightSize -= chunk.WireSize;
                    _outstandingBytes -= chunk.Length;
                    break;
                case SentChunkState.NeedsRetransmit:
                    _pendingRetransmits--;
                    _outstandingBytes -= chunk.Length;
                    break;
                case SentChunkState.Abandoned:
                    continue;
            }

            // Gap-acknowledged fragments of the message are abandoned too, so the FORWARD TSN
            // (RFC 3758 §3.5 C2 moves only over abandoned chunks) covers the whole message and the
            // receiver drops what it holds of it.
            chunk.State = SentChunkState.Abandoned;
        }

        if (message.Started && message.NextOffset < message.Length)
        {
            // The unsent tail goes too. Its fragments never got TSNs, so if the ones sent are already
            // acknowledged no FORWARD TSN would cover the message and the receiver would keep its head
            // forever (an ordered stream blocked behind it). A TSN for the missing end fragment,
            // abandoned at once, makes the FORWARD TSN skip past it and the receiver drop the rest.
            DecreaseBuffered(message.Stream, message.Length - message.NextOffset);
            CloseOpenMessage(message);
            message.NextOffset = message.Length;
            if (!message.Dequeued)
            {
                FinishMessage(message); // still the head of its stream (the current or an interleaved message)
            }

            if (State is SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownReceived)
            {
                _nextTsn++;
                ref var end = ref _sent.Push();
                end.Message = message;
                end.Offset = 0;
                end.Length = 0;
                end.Fsn = message.NextFsn++;
                end.HeaderLength = (byte)_dataHeaderLength;
                end.Flags = (byte)(DataChunk.EndingFlag | (message.Unordered ? DataChunk.UnorderedFlag : 0));
                end.State = SentChunkState.Abandoned;
                message.FragmentsInQueue++;
                message.Stream.OutstandingChunks++;
            }
        }

        UpdateAdvancedPeerAckPoint();
        if (SerialNumber.Gt(_advancedPeerAckPoint, _sent.FirstTsn - 1))
        {
            _forwardTsnPending = true;
        }
    }

    /// <summary>RFC 3758 §3.5 C1: move the advanced peer ack point over abandoned chunks.</summary>
    private void UpdateAdvancedPeerAckPoint()
    {
        if (!PeerSupportsPartialReliability)
        {
            return;
        }

        var start = SerialNumber.Gt(_advancedPeerAckPoint, _sent.FirstTsn - 1) ? (int)(_advancedPeerAckPoint - (_sent.FirstTsn - 1)) : 0;
        if (start == 0)
        {
            _advancedPeerAckPoint = _sent.FirstTsn - 1;
        }

        for (var i = start; i < _sent.Count && _sent[i].State == SentChunkState.Abandoned; i++)
        {
            _advancedPeerAckPoint = _sent.FirstTsn + (uint)i;
        }
    }
}
