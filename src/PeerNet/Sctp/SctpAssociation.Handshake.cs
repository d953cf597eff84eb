namespace PeerNet.Sctp;

/// <summary>Association setup (RFC 9260 §5): INIT, INIT ACK with a signed cookie, COOKIE ECHO, COOKIE ACK, collisions.</summary>
public sealed partial class SctpAssociation
{
    private const int MaxUnrecognizedReportLength = 256;

    // The extensions we announce (RFC 5061 §4.2.7): RE-CONFIG and FORWARD TSN, and with interleaving
    // on I-DATA and I-FORWARD-TSN (RFC 8260 §2.2.1, §2.3.1). No AUTH, ASCONF.
    private static ReadOnlySpan<byte> BaseExtensions => [(byte)SctpChunkType.ReConfig, (byte)SctpChunkType.ForwardTsn];

    private static ReadOnlySpan<byte> InterleavingExtensions =>
        [(byte)SctpChunkType.ReConfig, (byte)SctpChunkType.ForwardTsn, (byte)SctpChunkType.IData, (byte)SctpChunkType.IForwardTsn];

    private ReadOnlySpan<byte> SupportedExtensions => _options.EnableInterleaving ? InterleavingExtensions : BaseExtensions;

    private byte[] BuildInit()
    {
        Span<byte> buffer = stackalloc byte[64];
        var parameters = new SctpParameterBuilder(buffer[InitChunk.HeaderLength..]);
        parameters.Add(SctpParameterType.ForwardTsnSupported, default);
        parameters.Add(SctpParameterType.SupportedExtensions, SupportedExtensions);
        var length = InitChunk.Write(buffer, false, _localTag, (uint)_options.ReceiveWindow, _options.OutboundStreams, _options.InboundStreams, _localInitialTsn, parameters.UnpaddedLength);
        return buffer[..length].ToArray();
    }

    /// <summary>§5.1, §5.2.1, §5.2.2: answer any INIT with an INIT ACK carrying a cookie; keep no state.</summary>
    private void HandleInit(SctpChunk chunk)
    {
        InitChunk.TryRead(chunk, out var init);
        if (init.InitiateTag == 0 || init.OutboundStreams == 0 || init.InboundStreams == 0)
        {
            Drop(SctpDropReason.MalformedChunk); // §3.3.2: invalid mandatory parameters
            return;
        }

        if (IsTerminated)
        {
            Drop(SctpDropReason.OutOfTheBlue);
            return;
        }

        if (State == SctpAssociationState.ShutdownAckSent)
        {
            // §9.2: the SHUTDOWN COMPLETE was probably lost; repeat SHUTDOWN ACK.
            QueueShutdownAck();
            return;
        }

        Span<byte> unrecognized = stackalloc byte[MaxUnrecognizedReportLength];
        var features = ReadPeerParameters(init.Parameters, unrecognized, out var unrecognizedLength, out _);
        var cookie = new StateCookie
        {
            Timestamp = _now,
            PeerTag = init.InitiateTag,
            PeerInitialTsn = init.InitialTsn,
            PeerReceiverWindow = init.AdvertisedReceiverWindowCredit,
            PeerOutboundStreams = init.OutboundStreams,
            PeerInboundStreams = init.InboundStreams,
            PeerFeatures = features,
        };

        switch (State)
        {
            case SctpAssociationState.Closed:
                cookie.LocalTag = NewTag();
                cookie.LocalInitialTsn = NextRandomUInt32();
                break;
            case SctpAssociationState.CookieWait:
                // §5.2.1: collision; answer with the parameters of our own INIT.
                cookie.LocalTag = _localTag;
                cookie.LocalInitialTsn = _localInitialTsn;
                break;
            case SctpAssociationState.CookieEchoed:
                cookie.LocalTag = _localTag;
                cookie.LocalInitialTsn = _localInitialTsn;
                cookie.LocalTieTag = _localTag;
                cookie.PeerTieTag = _peerTag;
                break;
            default:
                // §5.2.2: an INIT for a live association (peer restart); new tag, tie-tags = ours.
                cookie.LocalTag = NewTag();
                cookie.LocalInitialTsn = NextRandomUInt32();
                cookie.LocalTieTag = _localTag;
                cookie.PeerTieTag = _peerTag;
                break;
        }

        Span<byte> buffer = stackalloc byte[InitChunk.HeaderLength + StateCookie.Length + 64 + MaxUnrecognizedReportLength];
        var parameters = new SctpParameterBuilder(buffer[InitChunk.HeaderLength..]);
        Span<byte> cookieBytes = stackalloc byte[StateCookie.Length];
        cookie.Write(cookieBytes, _cookieSecret);
        parameters.Add(SctpParameterType.StateCookie, cookieBytes);
        parameters.Add(SctpParameterType.ForwardTsnSupported, default);
        parameters.Add(SctpParameterType.SupportedExtensions, SupportedExtensions);
        if (unrecognizedLength > 0)
        {
            // §3.2.1: report each as an Unrecognized Parameter inside INIT ACK.
            var report = new SctpParameterEnumerator(unrecognized[..unrecognizedLength]);
            while (report.MoveNext())
            {
                parameters.Add(SctpParameterType.UnrecognizedParameter, report.Current.Raw);
            }
        }

        var length = InitChunk.Write(buffer, true, cookie.LocalTag, (uint)_options.ReceiveWindow, _options.OutboundStreams, _options.InboundStreams, cookie.LocalInitialTsn, parameters.UnpaddedLength);
        QueueControl(buffer[..length], init.InitiateTag);
    }

    private void HandleInitAck(SctpChunk chunk)
    {
        if (State != SctpAssociationState.CookieWait)
        {
            Drop(SctpDropReason.UnexpectedChunk);
            return;
        }

        InitChunk.TryRead(chunk, out var ack);
        if (ack.InitiateTag == 0 || ack.OutboundStreams == 0 || ack.InboundStreams == 0)
        {
            Drop(SctpDropReason.MalformedChunk);
            return;
        }

        Span<byte> unrecognized = stackalloc byte[MaxUnrecognizedReportLength];
        var features = ReadPeerParameters(ack.Parameters, unrecognized, out var unrecognizedLength, out var cookie);
        // The COOKIE ECHO must fit in one packet (usrsctp-based peers put whole INIT copies in theirs).
        if (cookie.IsEmpty || cookie.Length > _options.Mtu - SctpPacket.HeaderLength - SctpChunk.HeaderLength - 3)
        {
            Drop(SctpDropReason.MalformedChunk); // §5.1 missing State Cookie; T1 will retry
            return;
        }

        _peerTag = ack.InitiateTag;
        _peerInitialTsn = ack.InitialTsn;
        _peerReceiverWindow = ack.AdvertisedReceiverWindowCredit;
        _peerOutboundStreams = ack.OutboundStreams;
        _peerInboundStreams = ack.InboundStreams;
        _peerFeatures = features;
        _cookieToEcho = cookie.ToArray();
        State = SctpAssociationState.CookieEchoed;
        QueueCookieEcho();
        if (unrecognizedLength > 0)
        {
            // §3.2.1: unrecognized INIT ACK parameters are reported in an ERROR after the COOKIE ECHO.
            Span<byte> error = stackalloc byte[ErrorCauses.GetLength(unrecognizedLength)];
            var length = ErrorCauses.WriteError(error, SctpErrorCauseCode.UnrecognizedParameters, unrecognized[..unrecognizedLength]);
            QueueControl(error[..length], null);
        }

        _t1Count = 0;
        _t1Deadline = _now + _rto;
        Log("COOKIE ECHO sent");
    }

    /// <summary>§5.1.5, §5.2.4: validate the cookie, then decide by the tags what it means.</summary>
    private bool HandleCookieEcho(SctpChunk chunk, uint verificationTag)
    {
        if (!StateCookie.TryRead(chunk.Value, _cookieSecret, out var cookie))
        {
            Drop(SctpDropReason.BadCookie);
            return false;
        }

        if (verificationTag != cookie.LocalTag)
        {
            Drop(SctpDropReason.WrongVerificationTag);
            return false;
        }

        var age = _now - cookie.Timestamp;
        if (age < 0)
        {
            Drop(SctpDropReason.BadCookie);
            return false;
        }

        if (age > _options.CookieLifetimeMs)
        {
            // §5.2.6 Stale Cookie Error: measure of staleness in microseconds.
            Span<byte> staleness = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(staleness, (uint)Math.Min(uint.MaxValue, (age - _options.CookieLifetimeMs) * 1000));
            Span<byte> error = stackalloc byte[ErrorCauses.GetLength(4)];
            var length = ErrorCauses.WriteError(error, SctpErrorCauseCode.StaleCookie, staleness);
            QueueControl(error[..length], cookie.PeerTag);
            Drop(SctpDropReason.StaleCookie);
            return false;
        }

        switch (State)
        {
            case SctpAssociationState.Closed:
                AdoptCookie(cookie);
                EnterEstablished();
                QueueCookieAck();
                return true;
            case SctpAssociationState.CookieWait:
            case SctpAssociationState.CookieEchoed:
                // §5.2.4 B (collision: our tag, new peer tag) or D (both tags match).
                if (cookie.LocalTag == _localTag)
                {
                    AdoptCookie(cookie);
                    EnterEstablished();
                    QueueCookieAck();
                    return true;
                }

                Drop(SctpDropReason.UnexpectedChunk);
                return false;
            default:
                if (cookie.LocalTag == _localTag && cookie.PeerTag == _peerTag)
                {
                    QueueCookieAck(); // §5.2.4 D: a duplicate; the COOKIE ACK was lost
                    return true;
                }

                // §5.2.4 A (restart) and C are not supported: drop.
                Drop(SctpDropReason.UnexpectedChunk);
                return false;
        }
    }

    private void HandleCookieAck()
    {
        if (State == SctpAssociationState.CookieEchoed)
        {
            EnterEstablished();
        }
    }

    private void AdoptCookie(in StateCookie cookie)
    {
        _localTag = cookie.LocalTag;
        _peerTag = cookie.PeerTag;
        _localInitialTsn = cookie.LocalInitialTsn;
        _peerInitialTsn = cookie.PeerInitialTsn;
        _peerReceiverWindow = cookie.PeerReceiverWindow;
        _peerOutboundStreams = cookie.PeerOutboundStreams;
        _peerInboundStreams = cookie.PeerInboundStreams;
        _peerFeatures = cookie.PeerFeatures;
    }

    private void EnterEstablished()
    {
        State = SctpAssociationState.Established;
        _t1Deadline = Never;
        _initChunk = null;
        _cookieToEcho = null;
        _sent.Reset(_localInitialTsn);
        _nextTsn = _localInitialTsn;
        _advancedPeerAckPoint = _localInitialTsn - 1;
        _received.Reset(_peerInitialTsn - 1);
        _nextReconfigRequestSeq = _localInitialTsn;
        _peerNextReconfigRequestSeq = _peerInitialTsn;
        _lastReconfigResult = SctpReconfigurationResult.SuccessNothingToDo;

        // §7.2.1: initial ssthresh = the peer's window; initial cwnd per the options (10 MTUs, or
        // the RFC's min(4 MTU, max(2 MTU, 4380))).
        _cwnd = InitialCongestionWindow;
        _lastDataSentAt = _now;
        _ssthresh = _peerReceiverWindow;
        _peerRwnd = _peerReceiverWindow;
        _outboundStreamLimit = Math.Min(_options.OutboundStreams, _peerInboundStreams);
        // RFC 8260 §2.2.1: interleaving is on when both sides listed I-DATA; then every user message
        // travels in I-DATA and DATA is a protocol violation (and the reverse when it is off).
        _interleaving = _options.EnableInterleaving && (_peerFeatures & SctpPeerFeatures.IData) != 0;
        _dataHeaderLength = _interleaving ? IDataChunk.HeaderLength : DataChunk.HeaderLength;
        _inboundStreamLimit = Math.Min(_options.InboundStreams, _peerOutboundStreams);
        ArmHeartbeat();
        Log("established");
        _events.Enqueue(SctpEvent.Connected());
        TrySendResetRequest();
    }

    private void QueueCookieEcho()
    {
        var cookie = _cookieToEcho!;
        Span<byte> chunk = stackalloc byte[SctpChunk.HeaderLength + SctpChunk.Pad(cookie.Length)];
        var length = CookieEchoChunk.Write(chunk, cookie);
        QueueControl(chunk[..length], null);
    }

    private void QueueCookieAck()
    {
        Span<byte> chunk = stackalloc byte[SctpChunk.HeaderLength];
        ShutdownChunk.WriteEmpty(chunk, SctpChunkType.CookieAck);
        QueueControl(chunk, null);
    }

    /// <summary>T1-init / T1-cookie (§5.1 C, D): retransmit INIT or COOKIE ECHO with backoff.</summary>
    private void OnT1Expired()
    {
        _t1Deadline = Never;
        if (IsTerminated || State is not (SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed))
        {
            return;
        }

        if (++_t1Count > _options.MaxInitRetransmissions)
        {
            Fail(State == SctpAssociationState.CookieWait ? "no answer to INIT" : "no answer to COOKIE ECHO");
            return;
        }

        BackOffRto();
        if (State == SctpAssociationState.CookieWait)
        {
            QueueControl(_initChunk, 0);
        }
        else
        {
            QueueCookieEcho();
        }

        _t1Deadline = _now + _rto;
    }

    private void OnStaleCookieReported()
    {
        if (++_t1Count > _options.MaxInitRetransmissions)
        {
            Fail("the peer keeps finding our cookie stale");
            return;
        }

        State = SctpAssociationState.CookieWait;
        _peerTag = 0;
        _cookieToEcho = null;
        _initChunk ??= BuildInit();
        QueueControl(_initChunk, 0);
        _t1Deadline = _now + _rto;
    }

    /// <summary>
    /// Reads INIT / INIT ACK parameters: the extensions the peer supports, the State Cookie, and
    /// unknown parameters whose type bits ask to be reported (§3.2.1), copied into <paramref name="unrecognized"/>.
    /// </summary>
    private static SctpPeerFeatures ReadPeerParameters(ReadOnlySpan<byte> parameters, Span<byte> unrecognized, out int unrecognizedLength, out ReadOnlySpan<byte> cookie)
    {
        var features = SctpPeerFeatures.None;
        unrecognizedLength = 0;
        cookie = default;
        var e = new SctpParameterEnumerator(parameters);
        while (e.MoveNext())
        {
            var p = e.Current;
            switch ((SctpParameterType)p.Type)
            {
                case SctpParameterType.StateCookie:
                    cookie = p.Value;
                    break;
                case SctpParameterType.ForwardTsnSupported:
                    features |= SctpPeerFeatures.ForwardTsn;
                    break;
                case SctpParameterType.SupportedExtensions:
                    foreach (var type in p.Value)
                    {
                        features |= type switch
                        {
                            (byte)SctpChunkType.ForwardTsn => SctpPeerFeatures.ForwardTsn,
                            (byte)SctpChunkType.ReConfig => SctpPeerFeatures.ReConfig,
                            (byte)SctpChunkType.IData => SctpPeerFeatures.IData,
                            (byte)SctpChunkType.IForwardTsn => SctpPeerFeatures.IForwardTsn,
                            _ => SctpPeerFeatures.None,
                        };
                    }

                    break;
                case SctpParameterType.Ipv4Address:
                case SctpParameterType.Ipv6Address:
                case SctpParameterType.CookiePreservative:
                case SctpParameterType.HostNameAddress:
                case SctpParameterType.SupportedAddressTypes:
                case SctpParameterType.UnrecognizedParameter:
                    break; // known, meaningless over DTLS
                default:
                    if (SctpParameter.ReportWhenUnrecognized(p.Type) && unrecognizedLength + SctpChunk.Pad(p.Raw.Length) <= unrecognized.Length)
                    {
                        p.Raw.CopyTo(unrecognized[unrecognizedLength..]);
                        var padded = SctpChunk.Pad(p.Raw.Length);
                        unrecognized[(unrecognizedLength + p.Raw.Length)..(unrecognizedLength + padded)].Clear();
                        unrecognizedLength += padded;
                    }

                    if (!SctpParameter.SkipWhenUnrecognized(p.Type))
                    {
                        return features;
                    }

                    break;
            }
        }

        return features;
    }
}
