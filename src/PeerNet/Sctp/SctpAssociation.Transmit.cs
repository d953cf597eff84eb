namespace PeerNet.Sctp;

/// <summary>Packet assembly: control chunks first, then FORWARD TSN, SACK, DATA (RFC 9260 §6.10).</summary>
public sealed partial class SctpAssociation
{
    private const int MaxControlBytes = 64 * 1024;
    private const int MinUsefulFragment = 256;

    private readonly Queue<ControlEntry> _controlEntries = new();
    private byte[] _controlBuffer = new byte[2048];
    private int _controlEnd;

    /// <summary>
    /// Writes the next SCTP packet into <paramref name="destination"/> (at most
    /// <see cref="SctpAssociationOptions.Mtu"/> bytes) and returns its length, or 0 when there is
    /// nothing to send now. Call until it returns 0 after every input.
    /// </summary>
    public int PollTransmit(Span<byte> destination)
    {
        // Every chunk is padded to 4 bytes (RFC 9260 §3.2), so a packet is too: round the limit down.
        var limit = Math.Min(destination.Length, _options.Mtu) & ~3;
        if (limit < 256)
        {
            throw new ArgumentException("The destination must hold at least 256 bytes (ideally the MTU).", nameof(destination));
        }

        var packet = destination[..limit];
        if (_controlEntries.TryPeek(out var first) && first.Alone)
        {
            _controlEntries.Dequeue();
            SctpPacket.WriteHeader(packet, _options.LocalPort, _options.RemotePort, first.Tag);
            _controlBuffer.AsSpan(first.Offset, first.Length).CopyTo(packet[SctpPacket.HeaderLength..]);
            return Finish(packet, SctpPacket.HeaderLength + first.Length);
        }

        var position = SctpPacket.HeaderLength;
        while (_controlEntries.TryPeek(out var entry) && !entry.Alone && position + entry.Length <= limit)
        {
            _controlEntries.Dequeue();
            _controlBuffer.AsSpan(entry.Offset, entry.Length).CopyTo(packet[position..]);
            position += entry.Length;
        }

        if (_controlEntries.Count == 0)
        {
            _controlEnd = 0;
        }

        if (!IsTerminated && State >= SctpAssociationState.Established)
        {
            if (_forwardTsnPending)
            {
                position += WriteForwardTsn(packet[position..]);
            }

            var wantSack = _sackNow || (_delayedSackDeadline != Never && HasDataToSend());
            if (wantSack && limit - position >= SackChunk.HeaderLength)
            {
                var window = CurrentReceiveWindow();
                position += _received.WriteSack(packet[position..], window, Math.Min(limit - position, _received.SackLength));
                _lastAdvertisedWindow = window;
                _sackNow = false;
                _delayedSackDeadline = Never;
                _packetsSinceSack = 0;
                Statistics.SacksSent++;
            }

            if (State is not SctpAssociationState.ShutdownSent and not SctpAssociationState.ShutdownAckSent)
            {
                position = WriteData(packet, position);
            }
        }

        if (position == SctpPacket.HeaderLength)
        {
            return 0;
        }

        SctpPacket.WriteHeader(packet, _options.LocalPort, _options.RemotePort, _peerTag);
        return Finish(packet, position);
    }

    private int Finish(Span<byte> packet, int length)
    {
        SctpPacket.Seal(packet[..length]);
        Statistics.PacketsSent++;
        if (_sent.Count > 0 && _t3Deadline == Never && !IsTerminated)
        {
            _t3Deadline = _now + _rto;
        }

        RaiseBufferedAmountEvents();
        return length;
    }

    private bool HasDataToSend() =>
        _pendingRetransmits > 0 || (_flightSize < _cwnd && (_peerRwnd > 0 || _flightSize == 0) && (_currentMessage is not null || _readyStreams.Count > 0));

    private int WriteData(Span<byte> packet, int position)
    {
        var limit = packet.Length;
        if (_pendingRetransmits > 0)
        {
            // Fast retransmit may send one packet regardless of cwnd (§7.2.4); T3 retransmissions obey it.
            var ignoreCwnd = _fastRetransmitPending;
            _fastRetransmitPending = false;
            for (var i = 0; i < _sent.Count && _pendingRetransmits > 0; i++)
            {
                ref var chunk = ref _sent[i];
                if (chunk.State != SentChunkState.NeedsRetransmit)
                {
                    continue;
                }

                if (ShouldAbandon(chunk.Message, chunk.TransmitCount))
                {
                    AbandonMessage(chunk.Message);
                    continue;
                }

                var size = SctpChunk.Pad(chunk.WireSize);
                if (position + size > limit || (!ignoreCwnd && _flightSize >= _cwnd))
                {
                    return position;
                }

                var tsn = _sent.FirstTsn + (uint)i;
                position += WritePayloadChunk(packet[position..], ref chunk, tsn);
                chunk.State = SentChunkState.InFlight;
                chunk.TransmitCount++;
                chunk.SentAt = _now;
                chunk.MissIndications = 0;
                _flightSize += chunk.WireSize;
                _pendingRetransmits--;
                Statistics.DataChunksRetransmitted++;
                _lastDataSentAt = _now;
                if (_rttMeasuring && _rttTsn == tsn)
                {
                    _rttMeasuring = false; // Karn's algorithm (§6.3.1 C5)
                }
            }
        }

        if (State is not (SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownReceived))
        {
            return position;
        }

        if (_flightSize == 0 && _outstandingBytes == 0)
        {
            DecayIdleCongestionWindow();
        }

        // Set again below only if pacing, rather than cwnd, the peer's window or a lack of data, stops us.
        _heldByPacing = false;
        var pacingRate = PacingRate();
        if (pacingRate > 0 && _flightSize < _cwnd && (_currentMessage is not null || _readyStreams.Count > 0) && !RefillPacingCredit(pacingRate))
        {
            return position;
        }

        // §6.1 A: no new data into a closed receive window, except one chunk in flight as a probe.
        while (_flightSize < _cwnd && (_peerRwnd > 0 || _flightSize == 0))
        {
            var room = limit - position - _dataHeaderLength;
            if (room <= 0 || !TryNextFragment(room, out var message, out var offset, out var length, out var flags, out var fsn))
            {
                break;
            }

            var tsn = _nextTsn++;
            ref var chunk = ref _sent.Push();
            chunk.Message = message;
            chunk.Offset = offset;
            chunk.Length = length;
            chunk.Fsn = fsn;
            chunk.Flags = flags;
            chunk.HeaderLength = (byte)_dataHeaderLength;
            chunk.State = SentChunkState.InFlight;
            chunk.TransmitCount = 1;
            chunk.SentAt = _now;
            message.FragmentsInQueue++;
            message.Stream.OutstandingChunks++;
            _flightSize += chunk.WireSize;
            _outstandingBytes += length;
            _peerRwnd -= length;
            position += WritePayloadChunk(packet[position..], ref chunk, tsn);
            Statistics.DataChunksSent++;
            _lastDataSentAt = _now;
            if (!_rttMeasuring)
            {
                _rttMeasuring = true;
                _rttTsn = tsn;
                _rttSentAt = _now;
            }

            if (pacingRate > 0 && !SpendPacingCredit(pacingRate, chunk.WireSize))
            {
                break;
            }
        }

        return position;
    }

    /// <summary>Writes a sent chunk as DATA or, with interleaving, I-DATA (RFC 8260 §2.2.1: never both).</summary>
    private int WritePayloadChunk(Span<byte> destination, ref SentChunk chunk, uint tsn)
    {
        var message = chunk.Message;
        var data = message.Buffer.AsSpan(chunk.Offset, chunk.Length);
        return _interleaving
            ? IDataChunk.Write(destination, chunk.Flags, tsn, message.Stream.Id, message.Mid, message.Ppid, chunk.Fsn, data)
            : DataChunk.Write(destination, chunk.Flags, tsn, message.Stream.Id, (ushort)message.Mid, message.Ppid, data);
    }

    /// <summary>The most user data one chunk carries in a full packet.</summary>
    private int MaxFragment => (_options.Mtu & ~3) - SctpPacket.HeaderLength - _dataHeaderLength;

    /// <summary>
    /// §7.2.1: a sender that sent no data for a while no longer knows the path; cwnd halves per RTO
    /// of idleness. RFC 9260 stops at 4 MTU; we stop at the initial window (as RFC 5681 §4.1's restart
    /// window does for TCP), since a fresh association would start there anyway.
    /// </summary>
    private void DecayIdleCongestionWindow()
    {
        var floor = Math.Min(_cwnd, InitialCongestionWindow);
        if (_cwnd <= floor || _rto <= 0)
        {
            return;
        }

        var idle = _now - _lastDataSentAt;
        for (var periods = idle / _rto; periods > 0 && _cwnd > floor; periods--)
        {
            _cwnd = Math.Max(_cwnd / 2, floor);
            _lastDataSentAt += _rto;
        }
    }

    /// <summary>
    /// Cuts the next fragment (at most <paramref name="room"/> bytes) from the current message, or
    /// starts the next message round-robin over the streams. With DATA all fragments of a message take
    /// consecutive TSNs (§6.9), so a message is finished before another starts; with I-DATA the
    /// interleaving scheduler decides instead.
    /// </summary>
    private bool TryNextFragment(int room, out OutgoingMessage message, out int offset, out int length, out byte flags, out uint fsn)
    {
        if (_interleaving)
        {
            return TryNextInterleavedFragment(room, out message, out offset, out length, out flags, out fsn);
        }

        message = null!;
        offset = length = 0;
        flags = 0;
        fsn = 0;
        var maxFragment = MaxFragment;
        while (true)
        {
            if (_currentMessage is null)
            {
                if (!_readyStreams.TryDequeue(out var stream))
                {
                    return false;
                }

                stream.Scheduled = false;
                if (stream.Head is null || stream.Paused)
                {
                    continue;
                }

                var next = stream.Head;
                if (next.ExpiresAt <= _now || stream.Id >= _outboundStreamLimit)
                {
                    // Expired before any byte went out: drop it without using an SSN (RFC 3758 §3.5 A).
                    DropUnsentMessage(next);
                    Schedule(stream);
                    continue;
                }

                // Do not start a message in a nearly full packet if it will not fit; the stream goes
                // first in the next packet.
                if (room < MinUsefulFragment && next.Length > room)
                {
                    Schedule(stream);
                    MoveLastToFront();
                    return false;
                }

                next.Started = true;
                next.FirstTsn = _nextTsn;
                if (!next.Unordered)
                {
                    next.Mid = stream.NextOrderedMid++;
                }

                _currentMessage = next;
            }

            var current = _currentMessage;
            if (current.ExpiresAt <= _now && ShouldUsePartialReliability(current))
            {
                AbandonMessage(current);
                continue;
            }

            var remaining = current.Length - current.NextOffset;
            if (remaining > room && room < MinUsefulFragment)
            {
                return false;
            }

            length = Math.Min(Math.Min(remaining, room), maxFragment);
            offset = current.NextOffset;
            flags = current.Unordered ? DataChunk.UnorderedFlag : (byte)0;
            if (offset == 0)
            {
                flags |= DataChunk.BeginningFlag;
            }

            current.NextOffset += length;
            if (current.NextOffset == current.Length)
            {
                flags |= DataChunk.EndingFlag;
                FinishMessage(current);
            }

            DecreaseBuffered(current.Stream, length);
            message = current;
            return true;
        }
    }

    /// <summary>Rotates the ready queue so its last stream becomes first (keeps round robin fair).</summary>
    private void MoveLastToFront()
    {
        for (var n = _readyStreams.Count - 1; n > 0; n--)
        {
            _readyStreams.Enqueue(_readyStreams.Dequeue());
        }
    }

    /// <summary>
    /// A message whose every byte is fragmented (or abandoned) leaves the head of its stream: the
    /// current message with DATA, one of the interleaved ones with I-DATA.
    /// </summary>
    private void FinishMessage(OutgoingMessage message)
    {
        var stream = message.Stream;
        stream.Dequeue();
        message.Dequeued = true;
        CloseOpenMessage(message);
        if (_currentMessage == message)
        {
            _currentMessage = null;
        }

        Schedule(stream);
        if (stream.ResetRequested)
        {
            TrySendResetRequest();
        }
    }

    private void DropUnsentMessage(OutgoingMessage message)
    {
        var stream = message.Stream;
        stream.Dequeue();
        message.Dequeued = true;
        DecreaseBuffered(stream, message.Length - message.NextOffset);
        message.NextOffset = message.Length;
        Statistics.MessagesAbandoned++;
        ReleaseIfDone(message);
    }

    private void DecreaseBuffered(OutboundStream stream, int bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        stream.BufferedAmount -= bytes;
        _totalBuffered -= bytes;
        if (!stream.BufferedAmountDecreased)
        {
            stream.BufferedAmountDecreased = true;
            _decreasedStreams.Add(stream);
        }
    }

    private void RaiseBufferedAmountEvents()
    {
        if (_decreasedStreams.Count == 0)
        {
            return;
        }

        foreach (var stream in _decreasedStreams)
        {
            stream.BufferedAmountDecreased = false;
            if (stream.BufferedAmount <= stream.BufferedAmountLowThreshold)
            {
                _events.Enqueue(SctpEvent.BufferedAmountLow(stream.Id, stream.BufferedAmount));
            }
        }

        _decreasedStreams.Clear();
    }

    private int WriteForwardTsn(Span<byte> destination)
    {
        if (_interleaving)
        {
            return WriteIForwardTsn(destination);
        }

        // RFC 3758 §3.5 C4: skip to the advanced peer ack point, listing the highest skipped SSN of
        // each ordered stream. Everything from the cumulative ack to that point is abandoned.
        var maxStreams = Math.Min(64, (destination.Length - ForwardTsnChunk.HeaderLength) / 4);
        if (maxStreams < 0)
        {
            return 0;
        }

        Span<SctpForwardTsnStream> streams = stackalloc SctpForwardTsnStream[maxStreams];
        var count = 0;
        var newCumulative = _sent.FirstTsn - 1;
        var end = (int)(_advancedPeerAckPoint - newCumulative);
        for (var i = 0; i < end && i < _sent.Count; i++)
        {
            ref var chunk = ref _sent[i];
            if ((chunk.Flags & DataChunk.UnorderedFlag) == 0)
            {
                var id = chunk.Message.Stream.Id;
                var ssn = (ushort)chunk.Message.Mid;
                var found = false;
                for (var k = 0; k < count; k++)
                {
                    if (streams[k].StreamId == id)
                    {
                        if (SerialNumber.Gt(ssn, streams[k].StreamSequenceNumber))
                        {
                            streams[k] = new SctpForwardTsnStream(id, ssn);
                        }

                        found = true;
                        break;
                    }
                }

                if (!found)
                {
                    if (count == maxStreams)
                    {
                        break; // the rest goes in a later FORWARD TSN
                    }

                    streams[count++] = new SctpForwardTsnStream(id, ssn);
                }
            }

            newCumulative = _sent.FirstTsn + (uint)i;
        }

        _forwardTsnPending = false;
        if (newCumulative == _sent.FirstTsn - 1)
        {
            return 0;
        }

        Statistics.ForwardTsnsSent++;
        return ForwardTsnChunk.Write(destination, newCumulative, streams[..count]);
    }

    /// <summary>Queues a chunk; <paramref name="aloneTag"/> non-null sends it alone with that verification tag.</summary>
    private void QueueControl(ReadOnlySpan<byte> chunk, uint? aloneTag)
    {
        if (_controlEnd + chunk.Length > MaxControlBytes)
        {
            return; // a peer flooding us with requests for answers: drop the surplus
        }

        if (_controlEnd + chunk.Length > _controlBuffer.Length)
        {
            Array.Resize(ref _controlBuffer, Math.Max(_controlBuffer.Length * 2, _controlEnd + chunk.Length));
        }

        chunk.CopyTo(_controlBuffer.AsSpan(_controlEnd));
        _controlEntries.Enqueue(new ControlEntry(_controlEnd, chunk.Length, aloneTag ?? 0, aloneTag is not null));
        _controlEnd += chunk.Length;
    }

    /// <summary>Queues ABORT alone (nothing may follow it); with no peer tag yet, reflects our own (T bit).</summary>
    private void QueueAbort(SctpErrorCauseCode? cause, ReadOnlySpan<byte> causeValue)
    {
        Span<byte> chunk = stackalloc byte[ErrorCauses.GetLength(causeValue.Length)];
        var reflected = _peerTag == 0;
        var length = ErrorCauses.WriteAbort(chunk, reflected, cause, causeValue);
        _controlEntries.Clear();
        _controlEnd = 0;
        QueueControl(chunk[..length], reflected ? _localTag : _peerTag);
    }

    private readonly record struct ControlEntry(int Offset, int Length, uint Tag, bool Alone);
}
