using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>Receiving DATA (RFC 9260 §6.2, §6.5) and FORWARD TSN (RFC 3758 §3.6).</summary>
public sealed partial class SctpAssociation
{
    private void HandleData(in DataChunk data)
    {
        if (State is < SctpAssociationState.Established or SctpAssociationState.ShutdownAckSent)
        {
            Drop(SctpDropReason.UnexpectedChunk);
            return;
        }

        _dataInPacket = true;
        if (data.UserData.IsEmpty)
        {
            // §6.2: a DATA chunk without user data is answered with ABORT (No User Data).
            Span<byte> tsn = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(tsn, data.Tsn);
            QueueAbort(SctpErrorCauseCode.NoUserData, tsn);
            Terminate(SctpEvent.Aborted("the peer sent a DATA chunk with no user data"), "protocol violation: empty DATA");
            return;
        }

        var tsnValue = data.Tsn;
        if (_received.IsReceived(tsnValue))
        {
            _received.AddDuplicate(tsnValue);
            Statistics.DuplicateDataChunksReceived++;
            _sackNow = true; // §6.2: report duplicates at once
            return;
        }

        if (!_received.IsWithinWindow(tsnValue))
        {
            Drop(SctpDropReason.ReceiveWindowFull);
            _sackNow = true;
            return;
        }

        // Our advertised window bounds what we hold. The next in-sequence TSN is still taken when full
        // (up to one more maximum-size message), else a full buffer of later fragments could wait forever for it.
        var buffered = _reassembly.BufferedBytes + _undeliveredBytes + data.UserData.Length;
        var nextInSequence = tsnValue == _received.CumulativeTsn + 1;
        if (buffered > _options.ReceiveWindow && !(nextInSequence && buffered <= (long)_options.ReceiveWindow + _options.MaxMessageSize))
        {
            Drop(SctpDropReason.ReceiveWindowFull);
            _sackNow = true;
            return;
        }

        var hadGaps = _received.HasGaps;
        if (!_received.Add(tsnValue))
        {
            Drop(SctpDropReason.ReceiveWindowFull); // too many gaps to report; the peer will resend
            _sackNow = true;
            return;
        }

        Statistics.DataChunksReceived++;
        if (!nextInSequence || hadGaps || (data.Flags & DataChunk.ImmediateFlag) != 0)
        {
            // §6.7: out of order, report the gap now; and when a chunk fills (part of) a gap, so the
            // sender learns at once that its retransmission arrived (RFC 5681 §4.2 does the same).
            _sackNow = true;
        }

        if (data.StreamId >= _inboundStreamLimit)
        {
            // §6.4: acknowledge the TSN, discard the data, report Invalid Stream Identifier.
            Span<byte> cause = stackalloc byte[4];
            BinaryPrimitives.WriteUInt16BigEndian(cause, data.StreamId);
            Span<byte> error = stackalloc byte[ErrorCauses.GetLength(4)];
            var length = ErrorCauses.WriteError(error, SctpErrorCauseCode.InvalidStreamIdentifier, cause);
            QueueControl(error[..length], null);
            return;
        }

        _reassembly.Add(data);
        if (_reassembly.Oversized)
        {
            AbortForOversizedMessage();
        }
    }

    private void AbortForOversizedMessage()
    {
        var text = "message larger than max-message-size"u8;
        QueueAbort(SctpErrorCauseCode.ProtocolViolation, text);
        Terminate(SctpEvent.Aborted($"the peer sent a message larger than {_options.MaxMessageSize} bytes"), "protocol violation: oversized message");
    }

    /// <summary>
    /// §6.2: SACK every second packet with DATA, at once on gaps/duplicates, else after the delay.
    /// Also at once while our window is (nearly) closed: the sender is then probing with one chunk
    /// at a time (§6.1 A) and waits for this SACK before it may send the next.
    /// </summary>
    private void AfterDataReceived()
    {
        _packetsSinceSack++;
        if (_received.HasGaps || _packetsSinceSack >= 2 || CurrentReceiveWindow() < _options.Mtu)
        {
            _sackNow = true;
        }
        else if (!_sackNow && _delayedSackDeadline == Never)
        {
            _delayedSackDeadline = _now + _options.DelayedAckMs;
        }

        if (State == SctpAssociationState.ShutdownSent)
        {
            // §9.2: in SHUTDOWN-SENT answer every DATA packet with SHUTDOWN and restart T2.
            QueueShutdown();
            _t2Deadline = _now + _rto;
        }

        TryPerformDeferredReset();
    }

    private void HandleForwardTsn(in ForwardTsnChunk forward)
    {
        if (State is < SctpAssociationState.Established or SctpAssociationState.ShutdownAckSent)
        {
            return;
        }

        _sackNow = true;
        var newCumulative = forward.NewCumulativeTsn;
        if (SerialNumber.Lte(newCumulative, _received.CumulativeTsn))
        {
            return;
        }

        if (!_received.IsWithinWindow(newCumulative))
        {
            // A skip further than any TSN we could have been sent (gap reports span 65535) would
            // make us ignore the peer's real data from then on: drop it.
            Drop(SctpDropReason.MalformedChunk);
            return;
        }

        _received.ForwardTo(newCumulative);
        _reassembly.HandleForwardTsn(newCumulative, _received.CumulativeTsn, forward);
        if (_reassembly.Oversized)
        {
            AbortForOversizedMessage();
            return;
        }

        TryPerformDeferredReset();
    }
}
