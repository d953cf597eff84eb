namespace PeerNet.Sctp;

/// <summary>
/// Read-only views of the sender's and receiver's bookkeeping and a self-check of its accounting,
/// for the simulation tests (memory bounded, queues empty at the end, counters consistent).
/// </summary>
public sealed partial class SctpAssociation
{
    /// <summary>DATA chunks in the retransmission queue (sent, not covered by the peer's cumulative ack).</summary>
    internal int OutstandingChunkCount => _sent.Count;

    /// <summary>Bytes of DATA in flight (RFC 9260 §6.1 flightsize).</summary>
    internal long FlightSize => _flightSize;

    /// <summary>ssthresh (RFC 9260 §7.2).</summary>
    internal long SlowStartThreshold => _ssthresh;

    /// <summary>In Fast Recovery (RFC 9260 §7.2.4).</summary>
    internal bool InFastRecovery => _inFastRecovery;

    /// <summary>Our view of the peer's receive window (RFC 9260 §6.2.1 rwnd).</summary>
    internal long PeerReceiveWindow => _peerRwnd;

    /// <summary>Bytes held on the receive side: fragments being reassembled plus messages not yet polled.</summary>
    internal long ReceiveBufferedBytes => ReassemblyBufferedBytes + _undeliveredBytes;

    /// <summary>The fragments held for reassembly and the cumulative TSN, for failure messages.</summary>
    internal string DescribeReceiveBuffer() => $"cum {_received.CumulativeTsn} gaps {_received.GapCount}: {_reassembly.Describe()}{_interleavedReassembly.Describe()}";

    /// <summary>The retransmission queue (TSN, stream, MID, state) and sender counters, for failure messages.</summary>
    internal string DescribeSendQueue()
    {
        var text = new System.Text.StringBuilder($"first {_sent.FirstTsn} next {_nextTsn} apap {_advancedPeerAckPoint} flight {_flightSize} pending {_pendingRetransmits} fwd {_forwardTsnPending} open {_openMessages}/{_openBytes}: ");
        for (var i = 0; i < _sent.Count && i < 64; i++)
        {
            ref var c = ref _sent[i];
            text.Append($"[{_sent.FirstTsn + (uint)i} s{c.Message.Stream.Id} mid {c.Message.Mid} fsn {c.Fsn} f{c.Flags} {c.State} x{c.TransmitCount}] ");
        }

        return text.ToString();
    }

    /// <summary>Control chunks waiting to be sent.</summary>
    internal int QueuedControlChunks => _controlEntries.Count;

    /// <summary>
    /// Recomputes the counters the sender keeps incrementally (flight size, outstanding bytes,
    /// pending retransmissions, buffered amounts) from the queues, and throws if any disagrees.
    /// </summary>
    internal void CheckInvariants()
    {
        long flight = 0, outstanding = 0;
        var pending = 0;
        for (var i = 0; i < _sent.Count; i++)
        {
            ref var chunk = ref _sent[i];
            switch (chunk.State)
            {
                case SentChunkState.InFlight:
                    flight += chunk.WireSize;
                    outstanding += chunk.Length;
                    break;
                case SentChunkState.NeedsRetransmit:
                    pending++;
                    outstanding += chunk.Length;
                    break;
            }
        }

        Require(flight == _flightSize, $"flight size {_flightSize}, chunks in flight add up to {flight}");
        Require(outstanding == _outstandingBytes, $"outstanding bytes {_outstandingBytes}, chunks add up to {outstanding}");
        Require(pending == _pendingRetransmits, $"pending retransmissions {_pendingRetransmits}, marked chunks {pending}");
        long buffered = 0;
        foreach (var stream in _outStreams.Values)
        {
            Require(stream.BufferedAmount >= 0, $"stream {stream.Id} buffered amount {stream.BufferedAmount}");
            buffered += stream.BufferedAmount;
        }

        Require(buffered == _totalBuffered, $"total buffered {_totalBuffered}, streams add up to {buffered}");
        Require(_cwnd >= _options.Mtu || State < SctpAssociationState.Established, $"cwnd {_cwnd} below one MTU");
        Require(_reassembly.BufferedBytes >= 0 && _interleavedReassembly.BufferedBytes >= 0 && _undeliveredBytes >= 0, "negative receive buffer");
        Require(_openMessages >= 0 && _openBytes >= 0 && (_openMessages > 0 || _openBytes == 0), $"open messages {_openMessages}, their unsent bytes {_openBytes}");
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("SCTP invariant broken: " + what);
        }
    }
}
