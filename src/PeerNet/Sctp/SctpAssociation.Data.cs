using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>
/// Receiving DATA and I-DATA (RFC 9260 §6.2, §6.5, RFC 8260 §2.2.3), FORWARD TSN and I-FORWARD-TSN
/// (RFC 3758 §3.6, RFC 8260 §2.3.1).
/// </summary>
public sealed partial class SctpAssociation
{
    private void HandleData(in DataChunk data)
    {
        if (AcceptPayload(data.Tsn, data.Flags, data.StreamId, data.UserData.Length, SctpChunkType.Data))
        {
            _reassembly.Add(data);
            if (_reassembly.Oversized)
            {
                AbortForOversizedMessage();
            }
        }
    }

    private void HandleIData(in IDataChunk data)
    {
        if (!data.Beginning && data.FragmentSequenceNumber == 0 && State is >= SctpAssociationState.Established and not SctpAssociationState.ShutdownAckSent && _interleaving)
        {
            // RFC 8260 §2.1: FSN 0 is the first fragment's, which carries the B bit.
            AbortForProtocolViolation("I-DATA fragment with FSN 0 but no B bit");
            return;
        }

        if (AcceptPayload(data.Tsn, data.Flags, data.StreamId, data.UserData.Length, SctpChunkType.IData))
        {
            _interleavedReassembly.Add(data);
            if (_interleavedReassembly.Oversized)
            {
                AbortForOversizedMessage();
            }
        }
    }

    /// <summary>
    /// The TSN bookkeeping shared by DATA and I-DATA: state, negotiated chunk kind, empty chunks,
    /// duplicates, the receive window, the stream range. True when the user data goes to reassembly.
    /// </summary>
    private bool AcceptPayload(uint tsnValue, byte flags, ushort streamId, int userDataLength, SctpChunkType kind)
    {
        if (State is < SctpAssociationState.Established or SctpAssociationState.ShutdownAckSent)
        {
            Drop(SctpDropReason.UnexpectedChunk);
            return false;
        }

        if ((kind == SctpChunkType.IData) != _interleaving)
        {
            // RFC 8260 §2.2.3: DATA when I-DATA was negotiated, or I-DATA when it was not, aborts.
            AbortForProtocolViolation(_interleaving ? "DATA chunk although I-DATA was negotiated" : "I-DATA chunk although I-DATA was not negotiated");
            return false;
        }

        _dataInPacket = true;
        if (userDataLength == 0)
        {
            // §6.2: a DATA chunk without user data is answered with ABORT (No User Data).
            Span<byte> tsn = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(tsn, tsnValue);
            QueueAbort(SctpErrorCauseCode.NoUserData, tsn);
            Terminate(SctpEvent.Aborted("the peer sent a DATA chunk with no user data"), "protocol violation: empty DATA");
            return false;
        }

        if (_received.IsReceived(tsnValue))
        {
            _received.AddDuplicate(tsnValue);
            Statistics.DuplicateDataChunksReceived++;
            _sackNow = true; // §6.2: report duplicates at once
            return false;
        }

        if (!_received.IsWithinWindow(tsnValue))
        {
            Drop(SctpDropReason.ReceiveWindowFull);
            _sackNow = true;
            return false;
        }

        // Our advertised window bounds what we hold. The next in-sequence TSN is still taken when full
        // (up to one more maximum-size message), else a full buffer of later fragments could wait forever for it.
        var buffered = ReassemblyBufferedBytes + _undeliveredBytes + userDataLength;
        var nextInSequence = tsnValue == _received.CumulativeTsn + 1;
        if (buffered > _options.ReceiveWindow && !(nextInSequence && buffered <= (long)_options.ReceiveWindow + _options.MaxMessageSize))
        {
            Drop(SctpDropReason.ReceiveWindowFull);
            _sackNow = true;
            return false;
        }

        var hadGaps = _received.HasGaps;
        if (!_received.Add(tsnValue))
        {
            Drop(SctpDropReason.ReceiveWindowFull); // too many gaps to report; the peer will resend
            _sackNow = true;
            return false;
        }

        Statistics.DataChunksReceived++;
        if (!nextInSequence || hadGaps || (flags & DataChunk.ImmediateFlag) != 0)
        {
            // §6.7: out of order, report the gap now; and when a chunk fills (part of) a gap, so the
            // sender learns at once that its retransmission arrived (RFC 5681 §4.2 does the same).
            _sackNow = true;
        }

        if (streamId >= _inboundStreamLimit)
        {
            // §6.4: acknowledge the TSN, discard the data, report Invalid Stream Identifier.
            Span<byte> cause = stackalloc byte[4];
            BinaryPrimitives.WriteUInt16BigEndian(cause, streamId);
            Span<byte> error = stackalloc byte[ErrorCauses.GetLength(4)];
            var length = ErrorCauses.WriteError(error, SctpErrorCauseCode.InvalidStreamIdentifier, cause);
            QueueControl(error[..length], null);
            return false;
        }

        return true;
    }

    private void AbortForProtocolViolation(string what)
    {
        QueueAbort(SctpErrorCauseCode.ProtocolViolation, System.Text.Encoding.ASCII.GetBytes(what));
        Terminate(SctpEvent.Aborted("protocol violation by the peer: " + what), "protocol violation: " + what);
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
        if (!AcceptForwardTsn(forward.NewCumulativeTsn, SctpChunkType.ForwardTsn))
        {
            return;
        }

        _reassembly.HandleForwardTsn(forward.NewCumulativeTsn, _received.CumulativeTsn, forward);
        if (_reassembly.Oversized)
        {
            AbortForOversizedMessage();
            return;
        }

        TryPerformDeferredReset();
    }

    private void HandleIForwardTsn(in IForwardTsnChunk forward)
    {
        if (!AcceptForwardTsn(forward.NewCumulativeTsn, SctpChunkType.IForwardTsn))
        {
            return;
        }

        _interleavedReassembly.HandleForwardTsn(forward);
        if (_interleavedReassembly.Oversized)
        {
            AbortForOversizedMessage();
            return;
        }

        TryPerformDeferredReset();
    }

    /// <summary>Moves the cumulative TSN for FORWARD TSN or I-FORWARD-TSN; true when reassembly should follow.</summary>
    private bool AcceptForwardTsn(uint newCumulative, SctpChunkType kind)
    {
        if (State is < SctpAssociationState.Established or SctpAssociationState.ShutdownAckSent)
        {
            return false;
        }

        if ((kind == SctpChunkType.IForwardTsn) != _interleaving)
        {
            // RFC 8260 §2.3.1: FORWARD TSN goes with DATA only, I-FORWARD-TSN with I-DATA only.
            AbortForProtocolViolation(_interleaving ? "FORWARD TSN chunk although I-DATA was negotiated" : "I-FORWARD-TSN chunk although I-DATA was not negotiated");
            return false;
        }

        _sackNow = true;
        if (SerialNumber.Lte(newCumulative, _received.CumulativeTsn))
        {
            return false;
        }

        if (!_received.IsWithinWindow(newCumulative))
        {
            // A skip further than any TSN we could have been sent (gap reports span 65535) would
            // make us ignore the peer's real data from then on: drop it.
            Drop(SctpDropReason.MalformedChunk);
            return false;
        }

        _received.ForwardTo(newCumulative);
        return true;
    }
}
