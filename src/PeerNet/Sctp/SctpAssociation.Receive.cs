using System.Buffers.Binary;

namespace PeerNet.Sctp;

/// <summary>Packet reception: validation, verification tag rules (RFC 9260 §8.5) and chunk dispatch.</summary>
public sealed partial class SctpAssociation
{
    /// <summary>
    /// Processes one received SCTP packet (the payload of one DTLS record). Malformed or unexpected
    /// packets are dropped and counted in <see cref="Statistics"/>; nothing is thrown.
    /// </summary>
    public void HandlePacket(ReadOnlySpan<byte> packet, long now)
    {
        _now = now;
        Statistics.PacketsReceived++;
        if (!SctpPacket.TryReadHeader(packet, out var header, out var reason))
        {
            Drop(reason);
            return;
        }

        if (header.DestinationPort != _options.LocalPort || header.SourcePort != _options.RemotePort)
        {
            Drop(SctpDropReason.WrongPort);
            return;
        }

        // First pass: every chunk well formed, or the whole packet is dropped before anything happens.
        var chunks = SctpPacket.EnumerateChunks(packet);
        var count = 0;
        SctpChunkType firstType = default;
        byte firstFlags = 0;
        while (chunks.MoveNext())
        {
            var chunk = chunks.Current;
            if (count++ == 0)
            {
                firstType = chunk.Type;
                firstFlags = chunk.Flags;
            }

            if (!IsWellFormed(chunk))
            {
                Drop(SctpDropReason.MalformedChunk);
                return;
            }
        }

        if (chunks.Error != SctpDropReason.None)
        {
            Drop(chunks.Error);
            return;
        }

        if (firstType == SctpChunkType.Init)
        {
            // §8.5.1 A: INIT travels alone with tag 0.
            if (count != 1 || header.VerificationTag != 0)
            {
                Drop(SctpDropReason.BadInit);
                return;
            }

            var e = SctpPacket.EnumerateChunks(packet);
            e.MoveNext();
            HandleInit(e.Current);
            return;
        }

        if (IsTerminated || (State == SctpAssociationState.Closed && firstType != SctpChunkType.CookieEcho))
        {
            HandleOutOfTheBlue(firstType, header.VerificationTag);
            return;
        }

        if (firstType is SctpChunkType.Abort or SctpChunkType.ShutdownComplete)
        {
            // §8.5.1 B/C: with the T bit the tag must be the peer's own (reflected), without it ours;
            // anything else is discarded.
            var expected = (firstFlags & ErrorCauses.TFlag) != 0 ? _peerTag : _localTag;
            if (expected == 0 || header.VerificationTag != expected)
            {
                Drop(SctpDropReason.WrongVerificationTag);
                return;
            }
        }
        else if (firstType != SctpChunkType.CookieEcho && header.VerificationTag != _localTag)
        {
            Drop(SctpDropReason.WrongVerificationTag);
            return;
        }

        _dataInPacket = false;
        var walk = SctpPacket.EnumerateChunks(packet);
        while (walk.MoveNext() && !IsTerminated)
        {
            if (!HandleChunk(walk.Current, header))
            {
                break;
            }
        }

        if (_dataInPacket && !IsTerminated)
        {
            AfterDataReceived();
        }
    }

    private void Drop(SctpDropReason reason)
    {
        Statistics.Drop(reason);
        if (_logger is not null)
        {
            Log("dropped: " + reason.Describe());
        }
    }

    private static bool IsWellFormed(SctpChunk chunk) => chunk.Type switch
    {
        SctpChunkType.Data => DataChunk.TryRead(chunk, out _),
        SctpChunkType.Init or SctpChunkType.InitAck => InitChunk.TryRead(chunk, out _),
        SctpChunkType.Sack => SackChunk.TryRead(chunk, out _),
        SctpChunkType.Heartbeat or SctpChunkType.HeartbeatAck => HeartbeatChunk.TryRead(chunk, out _),
        SctpChunkType.Abort or SctpChunkType.Error => ErrorCauses.TryRead(chunk, out _),
        SctpChunkType.Shutdown => ShutdownChunk.TryRead(chunk, out _),
        SctpChunkType.ShutdownAck or SctpChunkType.CookieAck or SctpChunkType.ShutdownComplete => ShutdownChunk.IsValidEmpty(chunk),
        SctpChunkType.ForwardTsn => ForwardTsnChunk.TryRead(chunk, out _),
        SctpChunkType.IData => IDataChunk.TryRead(chunk, out _),
        SctpChunkType.IForwardTsn => IForwardTsnChunk.TryRead(chunk, out _),
        SctpChunkType.ReConfig => ReConfigChunk.TryRead(chunk, out _),
        _ => true,
    };

    /// <summary>Handles one chunk; false stops processing the rest of the packet.</summary>
    private bool HandleChunk(SctpChunk chunk, SctpCommonHeader header)
    {
        switch (chunk.Type)
        {
            case SctpChunkType.Data:
                DataChunk.TryRead(chunk, out var data);
                HandleData(data);
                return true;
            case SctpChunkType.Sack:
                SackChunk.TryRead(chunk, out var sack);
                HandleSack(sack);
                return true;
            case SctpChunkType.InitAck:
                HandleInitAck(chunk);
                return false; // INIT ACK travels alone
            case SctpChunkType.CookieEcho:
                return HandleCookieEcho(chunk, header.VerificationTag);
            case SctpChunkType.CookieAck:
                HandleCookieAck();
                return true;
            case SctpChunkType.Heartbeat:
                HandleHeartbeat(chunk);
                return true;
            case SctpChunkType.HeartbeatAck:
                HandleHeartbeatAck(chunk);
                return true;
            case SctpChunkType.Abort:
                HandleAbort(chunk);
                return false;
            case SctpChunkType.Error:
                HandleError(chunk);
                return true;
            case SctpChunkType.Shutdown:
                ShutdownChunk.TryRead(chunk, out var cumulative);
                HandleShutdown(cumulative);
                return true;
            case SctpChunkType.ShutdownAck:
                HandleShutdownAck();
                return true;
            case SctpChunkType.ShutdownComplete:
                HandleShutdownComplete();
                return false;
            case SctpChunkType.ForwardTsn:
                ForwardTsnChunk.TryRead(chunk, out var forward);
                HandleForwardTsn(forward);
                return true;
            case SctpChunkType.ReConfig:
                ReConfigChunk.TryRead(chunk, out var parameters);
                HandleReConfig(parameters);
                return true;
            case SctpChunkType.IData:
                IDataChunk.TryRead(chunk, out var idata);
                HandleIData(idata);
                return true;
            case SctpChunkType.IForwardTsn:
                IForwardTsnChunk.TryRead(chunk, out var iforward);
                HandleIForwardTsn(iforward);
                return true;
            case SctpChunkType.Init:
                Drop(SctpDropReason.BadInit);
                return false;
            default:
                return HandleUnrecognizedChunk(chunk);
        }
    }

    /// <summary>§3.2: the two high bits of an unknown chunk type say stop or skip, and whether to report.</summary>
    private bool HandleUnrecognizedChunk(SctpChunk chunk)
    {
        var action = chunk.TypeValue >> 6;
        if ((action & 1) != 0 && _peerTag != 0 && chunk.Raw.Length <= _options.Mtu - 64)
        {
            Span<byte> error = stackalloc byte[ErrorCauses.GetLength(chunk.Raw.Length)];
            var length = ErrorCauses.WriteError(error, SctpErrorCauseCode.UnrecognizedChunkType, chunk.Raw);
            QueueControl(error[..length], null);
        }

        if ((action & 2) == 0)
        {
            Drop(SctpDropReason.UnrecognizedChunk);
            return false;
        }

        return true;
    }

    /// <summary>§8.4: no association for this packet. Only SHUTDOWN ACK gets an answer (SHUTDOWN COMPLETE, T bit).</summary>
    private void HandleOutOfTheBlue(SctpChunkType firstType, uint verificationTag)
    {
        if (firstType == SctpChunkType.ShutdownAck)
        {
            Span<byte> chunk = stackalloc byte[SctpChunk.HeaderLength];
            ShutdownChunk.WriteEmpty(chunk, SctpChunkType.ShutdownComplete, ErrorCauses.TFlag);
            QueueControl(chunk, verificationTag);
        }

        Drop(SctpDropReason.OutOfTheBlue);
    }

    private void HandleAbort(SctpChunk chunk)
    {
        if (State == SctpAssociationState.Closed)
        {
            return;
        }

        var causes = chunk.Value;
        var reason = "the peer aborted the association";
        var e = new SctpParameterEnumerator(causes);
        if (e.MoveNext())
        {
            var code = (SctpErrorCauseCode)e.Current.Type;
            reason += $" ({code}";
            if (code is SctpErrorCauseCode.UserInitiatedAbort or SctpErrorCauseCode.ProtocolViolation && !e.Current.Value.IsEmpty)
            {
                var text = e.Current.Value[..Math.Min(e.Current.Value.Length, 256)];
                reason += ": " + System.Text.Encoding.UTF8.GetString(text);
            }

            reason += ")";
        }

        Terminate(SctpEvent.Aborted(reason), reason);
    }

    private void HandleError(SctpChunk chunk)
    {
        var e = new SctpParameterEnumerator(chunk.Value);
        while (e.MoveNext())
        {
            var code = (SctpErrorCauseCode)e.Current.Type;
            if (code == SctpErrorCauseCode.StaleCookie && State == SctpAssociationState.CookieEchoed)
            {
                // §5.2.6: our cookie went stale in flight; start over with a fresh INIT.
                OnStaleCookieReported();
                return;
            }

            Log("peer reported error cause " + code);
        }
    }

    private void HandleHeartbeat(SctpChunk chunk)
    {
        if (State < SctpAssociationState.CookieEchoed)
        {
            return;
        }

        HeartbeatChunk.TryRead(chunk, out var info);
        if (info.Length > _options.Mtu - 64)
        {
            return; // we would not fit the echo in a packet
        }

        Span<byte> ack = stackalloc byte[SctpChunk.HeaderLength + SctpChunk.Pad(info.Length)];
        var length = HeartbeatChunk.WriteAck(ack, info);
        QueueControl(ack[..length], null);
    }

    private void HandleHeartbeatAck(SctpChunk chunk)
    {
        HeartbeatChunk.TryRead(chunk, out var info);
        var value = info[SctpParameter.HeaderLength..];
        if (!_heartbeatOutstanding || value.Length != 16 || BinaryPrimitives.ReadUInt64BigEndian(value[8..]) != _heartbeatNonce)
        {
            return;
        }

        _heartbeatOutstanding = false;
        _errorCount = 0;
        UpdateRto(_now - BinaryPrimitives.ReadInt64BigEndian(value));
    }

    private void OnHeartbeatTimerExpired()
    {
        _heartbeatDeadline = Never;
        if (IsTerminated || State != SctpAssociationState.Established || _options.HeartbeatIntervalMs is not { } interval)
        {
            return;
        }

        if (_heartbeatOutstanding)
        {
            // §8.3: an unanswered heartbeat counts against the association.
            _errorCount++;
            BackOffRto();
            if (_errorCount > _options.MaxRetransmissions)
            {
                Fail("the peer stopped answering heartbeats");
                return;
            }
        }

        if (_sent.Count == 0)
        {
            Span<byte> info = stackalloc byte[16];
            _heartbeatNonce = ((ulong)NextRandomUInt32() << 32) | NextRandomUInt32();
            BinaryPrimitives.WriteInt64BigEndian(info, _now);
            BinaryPrimitives.WriteUInt64BigEndian(info[8..], _heartbeatNonce);
            Span<byte> chunk = stackalloc byte[SctpChunk.HeaderLength + SctpParameter.HeaderLength + 16];
            var length = HeartbeatChunk.WriteRequest(chunk, info);
            QueueControl(chunk[..length], null);
            _heartbeatOutstanding = true;
        }

        _heartbeatDeadline = _now + interval + _rto;
    }

    private void ArmHeartbeat()
    {
        if (_options.HeartbeatIntervalMs is { } interval && !IsTerminated)
        {
            _heartbeatDeadline = _now + interval + _rto;
        }
    }
}
