namespace PeerNet.Sctp;

/// <summary>Graceful shutdown (RFC 9260 §9.2).</summary>
public sealed partial class SctpAssociation
{
    private bool AllDataAcknowledged => _sent.Count == 0 && _totalBuffered == 0 && _currentMessage is null;

    private void CheckShutdownProgress()
    {
        if (State == SctpAssociationState.ShutdownPending && AllDataAcknowledged)
        {
            State = SctpAssociationState.ShutdownSent;
            StartT2();
            QueueShutdown();
        }
        else if (State == SctpAssociationState.ShutdownReceived && AllDataAcknowledged)
        {
            State = SctpAssociationState.ShutdownAckSent;
            StartT2();
            QueueShutdownAck();
        }
    }

    private void StartT2()
    {
        _t2Count = 0;
        _t2Deadline = _now + _rto;
        _heartbeatDeadline = Never;
    }

    private void HandleShutdown(uint cumulativeTsnAck)
    {
        switch (State)
        {
            case SctpAssociationState.Established:
            case SctpAssociationState.ShutdownPending:
            case SctpAssociationState.ShutdownReceived:
                AcknowledgeUpTo(cumulativeTsnAck);
                State = SctpAssociationState.ShutdownReceived;
                _heartbeatDeadline = Never;
                CheckShutdownProgress();
                break;
            case SctpAssociationState.ShutdownSent:
                // Both sides shut down at once: answer with SHUTDOWN ACK.
                State = SctpAssociationState.ShutdownAckSent;
                StartT2();
                QueueShutdownAck();
                break;
        }
    }

    private void HandleShutdownAck()
    {
        if (State is SctpAssociationState.ShutdownSent or SctpAssociationState.ShutdownAckSent)
        {
            Span<byte> chunk = stackalloc byte[SctpChunk.HeaderLength];
            ShutdownChunk.WriteEmpty(chunk, SctpChunkType.ShutdownComplete);
            QueueControl(chunk, null);
            Terminate(SctpEvent.Closed(), "shutdown complete");
        }
    }

    private void HandleShutdownComplete()
    {
        if (State == SctpAssociationState.ShutdownAckSent)
        {
            Terminate(SctpEvent.Closed(), "shutdown complete");
        }
    }

    /// <summary>SHUTDOWN's cumulative TSN ack acknowledges like a SACK without gap blocks.</summary>
    private void AcknowledgeUpTo(uint cumulative)
    {
        if (SerialNumber.Lt(cumulative, _sent.FirstTsn) || SerialNumber.Gte(cumulative, _nextTsn))
        {
            return;
        }

        while (_sent.Count > 0 && SerialNumber.Lte(_sent.FirstTsn, cumulative))
        {
            ref var chunk = ref _sent[0];
            AckChunk(ref chunk);
            var message = chunk.Message;
            message.FragmentsInQueue--;
            message.Stream.OutstandingChunks--;
            _sent.PopFront();
            ReleaseIfDone(message);
        }

        _errorCount = 0;
        _t3Deadline = _sent.Count == 0 ? Never : _now + _rto;
    }

    private void OnT2Expired()
    {
        _t2Deadline = Never;
        if (IsTerminated || State is not (SctpAssociationState.ShutdownSent or SctpAssociationState.ShutdownAckSent))
        {
            return;
        }

        if (++_t2Count > _options.MaxRetransmissions)
        {
            Fail("no answer to SHUTDOWN");
            return;
        }

        BackOffRto();
        if (State == SctpAssociationState.ShutdownSent)
        {
            QueueShutdown();
        }
        else
        {
            QueueShutdownAck();
        }

        _t2Deadline = _now + _rto;
    }

    private void QueueShutdown()
    {
        Span<byte> chunk = stackalloc byte[ShutdownChunk.Length];
        ShutdownChunk.Write(chunk, _received.CumulativeTsn);
        QueueControl(chunk, null);
    }

    private void QueueShutdownAck()
    {
        Span<byte> chunk = stackalloc byte[SctpChunk.HeaderLength];
        ShutdownChunk.WriteEmpty(chunk, SctpChunkType.ShutdownAck);
        QueueControl(chunk, null);
    }
}
