namespace PeerNet.Sctp;

/// <summary>
/// The sender's side of user message interleaving (RFC 8260): a round-robin scheduler that takes one
/// I-DATA fragment at a time from each stream with pending data (§3.2, SCTP_SS_RR with interleaving),
/// so a large message on one stream no longer holds back a small one on another; and I-FORWARD-TSN
/// (§2.3.1) for partial reliability.
/// </summary>
/// <remarks>
/// §2.2.2: one message per stream is in progress at a time (ordered and unordered alike), and TSNs
/// must be assigned "in a way that the receiver can make progress". A receiver holds the fragments of
/// every message in progress until it is complete, and only its window bounds that. So a message of
/// several fragments starts next to others in progress only if the unsent bytes of all of them fit the
/// peer's window (rwnd): then everything they still need fits the receiver's buffer and none can wait
/// on space another holds. Otherwise it waits until they are sent, as with DATA. A message that fits
/// in one chunk is complete on arrival and always interleaves: the small message that must not wait
/// behind a large one.
/// </remarks>
public sealed partial class SctpAssociation
{
    private bool TryNextInterleavedFragment(int room, out OutgoingMessage message, out int offset, out int length, out byte flags, out uint fsn)
    {
        message = null!;
        offset = length = 0;
        flags = 0;
        fsn = 0;
        var maxFragment = MaxFragment;

        // Each stream gets one turn: it sends a fragment and goes to the back of the queue, or it cannot
        // send now and goes to the back too. Messages dropped on the way give an extra turn (finitely many).
        for (var turns = _readyStreams.Count; turns > 0 && _readyStreams.TryDequeue(out var stream); turns--)
        {
            stream.Scheduled = false;
            if (stream.Head is not { } head || stream.Paused)
            {
                continue;
            }

            if (!head.Started)
            {
                if (head.ExpiresAt <= _now || stream.Id >= _outboundStreamLimit)
                {
                    // Expired before any byte went out: drop it without using a MID (RFC 3758 §3.5 A).
                    DropUnsentMessage(head);
                    Schedule(stream);
                    turns++;
                    continue;
                }

                var single = head.Length <= maxFragment;
                var fits = single ? head.Length <= room : room >= MinUsefulFragment;
                if (!fits || (!single && _openMessages > 0 && _openBytes + head.Length > _peerRwnd))
                {
                    Schedule(stream);
                    continue;
                }

                head.Started = true;
                head.FirstTsn = _nextTsn;
                head.Mid = head.Unordered ? stream.NextUnorderedMid++ : stream.NextOrderedMid++;
                if (!single)
                {
                    head.Open = true;
                    _openMessages++;
                    _openBytes += head.Length;
                }
            }
            else if (head.ExpiresAt <= _now && ShouldUsePartialReliability(head))
            {
                AbandonMessage(head); // reschedules the stream for its next message
                turns++;
                continue;
            }

            var remaining = head.Length - head.NextOffset;
            if (remaining > room && room < MinUsefulFragment)
            {
                Schedule(stream);
                continue;
            }

            length = Math.Min(Math.Min(remaining, room), maxFragment);
            offset = head.NextOffset;
            fsn = head.NextFsn++;
            flags = head.Unordered ? DataChunk.UnorderedFlag : (byte)0;
            if (offset == 0)
            {
                flags |= DataChunk.BeginningFlag;
            }

            head.NextOffset += length;
            if (head.Open)
            {
                _openBytes -= length;
            }

            DecreaseBuffered(stream, length);
            message = head;
            if (head.NextOffset == head.Length)
            {
                flags |= DataChunk.EndingFlag;
                FinishMessage(head); // next message of the stream, at the back of the queue
            }
            else
            {
                Schedule(stream);
            }

            return true;
        }

        return false;
    }

    /// <summary>Takes a message out of the interleaving count once it has no bytes left to fragment.</summary>
    private void CloseOpenMessage(OutgoingMessage message)
    {
        if (message.Open)
        {
            message.Open = false;
            _openMessages--;
            _openBytes -= message.Length - message.NextOffset;
        }
    }

    /// <summary>
    /// I-FORWARD-TSN (RFC 8260 §2.3.1, RFC 3758 §3.5 C4): skip to the advanced peer ack point, listing
    /// the highest skipped MID of each stream, ordered and unordered apart: the receiver drops the
    /// fragments of those messages (reassembly goes by MID, not TSN, so it cannot tell them otherwise).
    /// </summary>
    private int WriteIForwardTsn(Span<byte> destination)
    {
        var maxStreams = Math.Min(64, (destination.Length - IForwardTsnChunk.HeaderLength) / IForwardTsnChunk.EntryLength);
        if (maxStreams < 0)
        {
            return 0;
        }

        Span<SctpIForwardTsnStream> streams = stackalloc SctpIForwardTsnStream[maxStreams];
        var count = 0;
        var newCumulative = _sent.FirstTsn - 1;
        var end = (int)(_advancedPeerAckPoint - newCumulative);
        for (var i = 0; i < end && i < _sent.Count; i++)
        {
            ref var chunk = ref _sent[i];
            var id = chunk.Message.Stream.Id;
            var unordered = (chunk.Flags & DataChunk.UnorderedFlag) != 0;
            var mid = chunk.Message.Mid;
            var found = false;
            for (var k = 0; k < count; k++)
            {
                if (streams[k].StreamId == id && streams[k].Unordered == unordered)
                {
                    if (SerialNumber.Gt(mid, streams[k].MessageIdentifier))
                    {
                        streams[k] = new SctpIForwardTsnStream(id, unordered, mid);
                    }

                    found = true;
                    break;
                }
            }

            if (!found)
            {
                if (count == maxStreams)
                {
                    break; // the rest goes in a later I-FORWARD-TSN
                }

                streams[count++] = new SctpIForwardTsnStream(id, unordered, mid);
            }

            newCumulative = _sent.FirstTsn + (uint)i;
        }

        _forwardTsnPending = false;
        if (newCumulative == _sent.FirstTsn - 1)
        {
            return 0;
        }

        Statistics.ForwardTsnsSent++;
        return IForwardTsnChunk.Write(destination, newCumulative, streams[..count]);
    }
}
