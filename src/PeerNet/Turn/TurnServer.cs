using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// The STUN/TURN server as a sans-I/O state machine: client messages (UDP datagrams or frames cut
/// from a TCP/TLS stream), peer datagrams and the current time go in; one <see cref="TurnOutput"/>
/// per input comes out (a response, a relayed payload or nothing), and <see cref="Tick"/> expires
/// allocations, permissions, channels and reservations. No sockets, threads or timers inside:
/// <see cref="TurnServerHost"/> drives it. Not thread-safe: callers serialize calls (the host holds
/// one lock).
/// </summary>
/// <remarks>
/// <para>Implements STUN Binding (RFC 8489) with RFC 5780 behaviour discovery when enabled, and TURN
/// (RFC 8656): Allocate (UDP relays, IPv4, IPv6 and dual, EVEN-PORT with reservations,
/// DONT-FRAGMENT accepted), Refresh, CreatePermission, ChannelBind, Send/Data indications and
/// ChannelData, with long-term credentials (static users and TURN REST API credentials).</para>
/// <para>Time is in milliseconds on a clock that counts Unix time (the host anchors a monotonic
/// clock to the wall clock at start); REST credential expiry is compared against it.</para>
/// <para>Relaying a datagram and answering a Binding request do not allocate.</para>
/// </remarks>
public sealed class TurnServer
{
    /// <summary>The response buffer <see cref="HandleClientMessage"/> needs at least.</summary>
    public const int ResponseBufferLength = 2048;

    /// <summary>
    /// Room <see cref="HandlePeerData"/> needs before the peer's payload to put a Data indication's
    /// header in front of it without copying (20 + XOR-PEER-ADDRESS for IPv6 + DATA header).
    /// </summary>
    public const int PeerDataOffset = StunMessage.HeaderLength + StunMessage.AttributeHeaderLength + MappedAddress.IPv6Length + StunMessage.AttributeHeaderLength;

    /// <summary>Room <see cref="HandlePeerData"/> needs after the payload, for padding.</summary>
    public const int PeerDataTrailer = 3;

    private const int MaxUnknownAttributes = 16;
    private const int MaxLoggedKinds = 4096;
    private const long LogResetIntervalMs = 10 * 60 * 1000;
    private const long TickIntervalMs = 1000;

    // PASSWORD-ALGORITHMS offered (RFC 8489 §14.11): SHA-256 first, then MD5, no parameters.
    private static ReadOnlySpan<byte> OfferedPasswordAlgorithms => [0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];

    private readonly TurnServerOptions _options;
    private readonly ITurnRelayBinder _binder;
    private readonly TurnAuthenticator _auth;
    private readonly TurnNonces _nonces;
    private readonly TurnPeerPolicy _peers;
    private readonly TurnAmplificationLimiter _limiter;
    private readonly ILogger _logger;
    private readonly byte[]? _software;
    private readonly long _defaultLifetimeMs;
    private readonly long _maxLifetimeMs;
    private readonly long _permissionLifetimeMs;
    private readonly long _channelLifetimeMs;
    private readonly long _reservationLifetimeMs;

    private readonly Dictionary<TurnClientKey, TurnAllocation> _allocations = [];
    private readonly Dictionary<StunAddress, TurnAllocation> _byRelay = [];
    private readonly Dictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, (TurnRelayBinding Binding, long Expires)> _reservations = [];
    private readonly HashSet<(StunAddress Address, TurnDropReason Reason)> _logged = [];
    private readonly List<TurnAllocation> _scratch = [];
    private readonly long[] _drops = new long[Enum.GetValues<TurnDropReason>().Length];

    private readonly ulong _indicationPrefix = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));
    private uint _indicationCounter;
    private long _nextLogReset;

    private bool _behaviorDiscovery;
    private StunAddress _primary;
    private StunAddress _alternate;

    private long _bindingResponses;
    private long _toPeerPackets;
    private long _toPeerBytes;
    private long _toClientPackets;
    private long _toClientBytes;
    private long _allocationsCreated;

    /// <summary>Creates a server; <paramref name="binder"/> binds relay sockets.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public TurnServer(TurnServerOptions options, ITurnRelayBinder binder)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(binder);
        options.Validate();
        _options = options;
        _binder = binder;
        _auth = new TurnAuthenticator(options);
        _nonces = new TurnNonces(options.NonceLifetime, options.OfferSha256PasswordAlgorithm);
        _peers = new TurnPeerPolicy(options.AllowedPeerRanges, options.DeniedPeerRanges);
        _limiter = new TurnAmplificationLimiter(options.OversizeResponsesPerSecondPerAddress);
        _logger = options.Logger ?? NullLogger.Instance;
        _software = string.IsNullOrEmpty(options.Software) ? null : Encoding.UTF8.GetBytes(options.Software);
        if (_software is { Length: > StunMessageReader.MaxTextLength })
        {
            throw new ArgumentException("SOFTWARE is limited to 763 bytes.", nameof(options));
        }

        _defaultLifetimeMs = (long)options.DefaultAllocationLifetime.TotalMilliseconds;
        _maxLifetimeMs = (long)options.MaxAllocationLifetime.TotalMilliseconds;
        _permissionLifetimeMs = (long)options.PermissionLifetime.TotalMilliseconds;
        _channelLifetimeMs = (long)options.ChannelLifetime.TotalMilliseconds;
        _reservationLifetimeMs = (long)options.ReservationLifetime.TotalMilliseconds;
    }

    /// <summary>How many allocations exist.</summary>
    public int AllocationCount => _allocations.Count;

    /// <summary>Whether RFC 5780 behaviour discovery is on.</summary>
    public bool BehaviorDiscoveryEnabled => _behaviorDiscovery;

    /// <summary>
    /// Turns on RFC 5780 behaviour discovery: the UDP listeners on the four combinations of the two
    /// addresses' IPs and ports exist, so Binding responses carry RESPONSE-ORIGIN and OTHER-ADDRESS
    /// and CHANGE-REQUEST is honoured (through <see cref="TurnOutput.Source"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The addresses are not of one family, or share the IP or the port.</exception>
    public void EnableBehaviorDiscovery(StunAddress primary, StunAddress alternate)
    {
        if (primary.Family == StunAddressFamily.None || primary.Family != alternate.Family
            || primary.WithPort(0) == alternate.WithPort(0) || primary.Port == alternate.Port)
        {
            throw new ArgumentException("RFC 5780 needs two addresses of one family with different IPs and different ports.");
        }

        _primary = primary;
        _alternate = alternate;
        _behaviorDiscovery = true;
    }

    /// <summary>Counters since start.</summary>
    public TurnServerStatistics GetStatistics()
    {
        var drops = new Dictionary<TurnDropReason, long>();
        foreach (var reason in Enum.GetValues<TurnDropReason>())
        {
            if (_drops[(int)reason] != 0)
            {
                drops[reason] = _drops[(int)reason];
            }
        }

        return new TurnServerStatistics
        {
            Allocations = _allocations.Count,
            AllocationsCreated = _allocationsCreated,
            BindingResponses = _bindingResponses,
            PacketsToPeers = _toPeerPackets,
            BytesToPeers = _toPeerBytes,
            PacketsToClients = _toClientPackets,
            BytesToClients = _toClientBytes,
            Dropped = drops,
        };
    }

    /// <summary>How many inputs were dropped or refused for <paramref name="reason"/>.</summary>
    public long GetDropCount(TurnDropReason reason) => _drops[(int)reason];

    // ------------------------------------------------------------------------------------------
    // Client input
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Handles one message from a client: a whole UDP datagram, or one frame cut from a TCP/TLS
    /// stream with <see cref="StunStreamFraming"/>. A response is written to
    /// <paramref name="response"/> (at least <see cref="ResponseBufferLength"/> bytes); relayed data
    /// is returned as a slice of <paramref name="message"/>. Never throws on hostile bytes.
    /// </summary>
    public TurnOutput HandleClientMessage(in TurnClientEndpoint client, ReadOnlySpan<byte> message, Span<byte> response, long now)
    {
        if (response.Length < ResponseBufferLength)
        {
            throw new ArgumentException($"The response buffer must hold {ResponseBufferLength} bytes.", nameof(response));
        }

        if (message.Length < ChannelData.HeaderLength)
        {
            return Drop(TurnDropReason.Malformed, client, "shorter than any message");
        }

        switch (message[0] >> 6)
        {
            case 0:
                return HandleStun(client, message, response, now);
            case 1:
                return HandleClientChannelData(client, message, now);
            default:
                return Drop(TurnDropReason.Malformed, client, "neither STUN nor ChannelData");
        }
    }

    /// <summary>
    /// Tells the server a TCP/TLS client connection closed: its allocation, if any, is deleted
    /// (the 5-tuple no longer exists).
    /// </summary>
    public void ClientClosed(in TurnClientEndpoint client)
    {
        if (_allocations.TryGetValue(new TurnClientKey(client.ConnectionId, client.Remote), out var allocation))
        {
            Delete(allocation, "connection closed");
        }
    }

    /// <summary>
    /// Tells the server a TCP/TLS client sent bytes that are neither STUN nor ChannelData framing (the
    /// driver closes the connection): counted and logged once like other garbage.
    /// </summary>
    public void ReportBadFraming(in TurnClientEndpoint client) => Drop(TurnDropReason.Malformed, client, "not STUN or ChannelData framing on a stream");

    private TurnOutput HandleStun(in TurnClientEndpoint client, ReadOnlySpan<byte> message, Span<byte> response, long now)
    {
        if (!StunMessageReader.TryParse(message, out var request, out var error))
        {
            // A request whose header is sound but an attribute is malformed gets 400 (RFC 8489 §6.3.1);
            // anything else is silently discarded (§6.3).
            if (error == StunParseError.BadAttributeValue && StunMessageType.GetClass(BinaryPrimitives.ReadUInt16BigEndian(message)) == StunClass.Request)
            {
                Drop(TurnDropReason.BadAttribute, client, error.Describe());
                var w = new StunMessageWriter(response, (ushort)(BinaryPrimitives.ReadUInt16BigEndian(message) | 0x0110), StunTransactionId.FromBytes(message[8..]));
                AddError(ref w, StunErrorCode.BadRequest, message.Length - HeaderAndErrorLength(0));
                return FinishUnauthenticated(ref w, client, message.Length, requestHadFingerprint: false, now);
            }

            return Drop(TurnDropReason.Malformed, client, error.Describe());
        }

        switch (request.Class)
        {
            case StunClass.Request:
                return request.Method switch
                {
                    StunMethod.Binding => HandleBinding(client, request, response, now),
                    StunMethod.Allocate or StunMethod.Refresh or StunMethod.CreatePermission or StunMethod.ChannelBind =>
                        HandleTurnRequest(client, request, response, now),
                    _ => RespondUnauthenticatedError(client, request, response, StunErrorCode.BadRequest, TurnDropReason.UnexpectedMessage, now),
                };
            case StunClass.Indication when request.Method == StunMethod.Send:
                return HandleSend(client, request, message, now);
            case StunClass.Indication when request.Method == StunMethod.Binding:
                return TurnOutput.None; // a keepalive (RFC 8489 §6.3.2)
            default:
                return Drop(TurnDropReason.UnexpectedMessage, client, "a response or an unknown indication");
        }
    }

    // ---- Binding (RFC 8489 §6.3.1, RFC 5780 §6) ----

    private TurnOutput HandleBinding(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, long now)
    {
        var hasChange = request.TryGetChangeRequest(out var changeIP, out var changePort);
        var discovery = _behaviorDiscovery && client.Transport == TurnTransport.Udp && IsDiscoveryAddress(client.Local);

        Span<ushort> unknown = stackalloc ushort[MaxUnknownAttributes];
        var unknownCount = request.CopyUnknownComprehensionRequired(unknown);
        if (hasChange && !discovery && client.Transport == TurnTransport.Udp && unknownCount < unknown.Length)
        {
            unknown[unknownCount++] = (ushort)StunAttributeType.ChangeRequest; // not offered: as if not understood (RFC 5780 §6.1)
        }

        var hasResponsePort = request.TryGetResponsePort(out var responsePort);
        if (hasResponsePort && !discovery && unknownCount < unknown.Length)
        {
            unknown[unknownCount++] = (ushort)StunAttributeType.ResponsePort; // only with behaviour discovery, over UDP
        }

        if (unknownCount > 0)
        {
            return RespondUnknownAttributes(client, request, response, unknown[..unknownCount], now);
        }

        if ((hasChange && (changeIP || changePort) && client.Transport != TurnTransport.Udp) || (hasResponsePort && responsePort == 0))
        {
            return RespondUnauthenticatedError(client, request, response, StunErrorCode.BadRequest, TurnDropReason.BadAttribute, now);
        }

        var w = new StunMessageWriter(response, StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId);
        w.AddXorMappedAddress(client.Remote);
        var source = default(StunAddress);
        if (discovery)
        {
            // The response leaves from the receiving address unless CHANGE-REQUEST asks otherwise;
            // OTHER-ADDRESS is the address that differs from the receiving one in both IP and port.
            var localIsPrimaryIP = client.Local.WithPort(0) == _primary.WithPort(0);
            var localIsPrimaryPort = client.Local.Port == _primary.Port;
            var origin = Combine(localIsPrimaryIP != changeIP, localIsPrimaryPort != changePort);
            if (changeIP || changePort)
            {
                source = origin;
            }

            w.AddResponseOrigin(origin);
            w.AddOtherAddress(Combine(!localIsPrimaryIP, !localIsPrimaryPort));
        }

        // RFC 5780 §7.5: RESPONSE-PORT sends the answer to another port of the client's IP address.
        var destination = hasResponsePort
            ? new TurnClientEndpoint(client.Transport, client.ConnectionId, client.Local, client.Remote.WithPort(responsePort), client.Handle)
            : client;
        var output = FinishUnauthenticated(ref w, destination, request.Length, request.HasFingerprint, now, source);
        if (output.Kind != TurnOutputKind.None)
        {
            _bindingResponses++;
        }

        return output;
    }

    private bool IsDiscoveryAddress(in StunAddress local)
    {
        var ip = local.WithPort(0);
        return (ip == _primary.WithPort(0) || ip == _alternate.WithPort(0)) && (local.Port == _primary.Port || local.Port == _alternate.Port);
    }

    private StunAddress Combine(bool primaryIP, bool primaryPort) =>
        (primaryIP ? _primary : _alternate).WithPort(primaryPort ? _primary.Port : _alternate.Port);

    // ---- TURN requests (RFC 8656 §7–§12) ----

    private TurnOutput HandleTurnRequest(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, long now)
    {
        Span<byte> key = stackalloc byte[StunCredentials.Sha256KeyLength];
        if (!Authenticate(client, request, response, now, key, out var keyLength, out var output))
        {
            return output;
        }

        var auth = new AuthContext(key[..keyLength], request.HasMessageIntegritySha256, request.HasFingerprint);

        // Unknown comprehension-required attributes are checked once the request is authenticated (RFC 8489 §6.3.1).
        if (request.UnknownComprehensionRequiredCount > 0)
        {
            Span<ushort> unknown = stackalloc ushort[MaxUnknownAttributes];
            var count = request.CopyUnknownComprehensionRequired(unknown);
            var w = new StunMessageWriter(response, request.Method, StunClass.ErrorResponse, request.TransactionId);
            w.AddErrorCode(StunErrorCode.UnknownAttribute);
            w.AddUnknownAttributes(unknown[..count]);
            Drop(TurnDropReason.RequestRefused, client, "unknown comprehension-required attribute", log: false);
            return FinishAuthenticated(ref w, client, auth);
        }

        return request.Method switch
        {
            StunMethod.Allocate => HandleAllocate(client, request, response, auth, now),
            StunMethod.Refresh => HandleRefresh(client, request, response, auth, now),
            StunMethod.CreatePermission => HandleCreatePermission(client, request, response, auth, now),
            _ => HandleChannelBind(client, request, response, auth, now),
        };
    }

    // RFC 8489 §9.2.4, in its order.
    private bool Authenticate(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, long now,
        Span<byte> key, out int keyLength, out TurnOutput output)
    {
        keyLength = 0;
        if (!request.HasMessageIntegrity && !request.HasMessageIntegritySha256)
        {
            output = Challenge(client, request, response, StunErrorCode.Unauthenticated, TurnDropReason.Unauthenticated, "no credentials", now);
            return false;
        }

        var hasUsername = request.TryGetUsername(out var username);
        if (!hasUsername && request.Contains(StunAttributeType.UserHash))
        {
            // USERHASH (username anonymity) is not offered: ask again with the plain username.
            output = Challenge(client, request, response, StunErrorCode.Unauthenticated, TurnDropReason.BadCredentials, "USERHASH is not supported", now);
            return false;
        }

        if (!hasUsername || !request.TryGetRealm(out var realm) || !request.TryGetNonce(out var nonce))
        {
            output = RespondUnauthenticatedError(client, request, response, StunErrorCode.BadRequest, TurnDropReason.BadAttribute, now,
                "integrity without USERNAME, REALM or NONCE");
            return false;
        }

        var algorithm = StunPasswordAlgorithm.Md5;
        if (_nonces.OffersPasswordAlgorithms && nonce.StartsWith(TurnNonces.CookiePrefix))
        {
            var hasList = request.TryGetAttribute(StunAttributeType.PasswordAlgorithms, out var list);
            var hasChoice = request.TryGetPasswordAlgorithm(out var chosen, out var parameters);
            if (hasList != hasChoice
                || (hasList && (!list.SequenceEqual(OfferedPasswordAlgorithms)
                    || chosen is not (StunPasswordAlgorithm.Md5 or StunPasswordAlgorithm.Sha256) || !parameters.IsEmpty)))
            {
                output = RespondUnauthenticatedError(client, request, response, StunErrorCode.BadRequest, TurnDropReason.BadAttribute, now,
                    "PASSWORD-ALGORITHMS differs from the offer (downgrade?)");
                return false;
            }

            if (hasChoice)
            {
                algorithm = chosen;
            }
        }

        if (!_nonces.IsValid(nonce, client, now))
        {
            output = Challenge(client, request, response, StunErrorCode.StaleNonce, TurnDropReason.StaleNonce, "stale nonce", now);
            return false;
        }

        if (!realm.SequenceEqual(_auth.Realm))
        {
            output = Challenge(client, request, response, StunErrorCode.Unauthenticated, TurnDropReason.BadCredentials, "wrong realm", now);
            return false;
        }

        var failure = _auth.TryGetKey(username, algorithm, now, key, out keyLength, out _);
        if (failure != TurnKeyFailure.None)
        {
            output = Challenge(client, request, response, StunErrorCode.Unauthenticated, TurnDropReason.BadCredentials,
                failure == TurnKeyFailure.Expired ? "expired REST credential" : "unknown user", now);
            return false;
        }

        if (!request.TryVerifyIntegrity(key[..keyLength], out _))
        {
            output = Challenge(client, request, response, StunErrorCode.Unauthenticated, TurnDropReason.BadCredentials, "wrong MESSAGE-INTEGRITY", now);
            return false;
        }

        output = default;
        return true;
    }

    private TurnOutput HandleAllocate(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, scoped AuthContext auth, long now)
    {
        var key = new TurnClientKey(client.ConnectionId, client.Remote);
        request.TryGetUsername(out var username);
        if (_allocations.TryGetValue(key, out var existing))
        {
            if (existing.Expires <= now)
            {
                Delete(existing, "expired"); // not swept by Tick yet
            }
            else if (existing.TransactionId == request.TransactionId)
            {
                return AllocateSuccess(client, request, response, auth, existing, now); // a retransmission (§7.2)
            }
            else
            {
                return Refuse(client, request, response, auth, StunErrorCode.AllocationMismatch, "an allocation already exists on this 5-tuple");
            }
        }

        if (!request.TryGetRequestedTransport(out var protocol))
        {
            return Refuse(client, request, response, auth, StunErrorCode.BadRequest, "no REQUESTED-TRANSPORT");
        }

        if (protocol != StunTransportProtocol.Udp)
        {
            return Refuse(client, request, response, auth, StunErrorCode.UnsupportedTransportProtocol, "only UDP relays");
        }

        var hasFamily = request.TryGetRequestedAddressFamily(out var family);
        var hasAdditional = request.TryGetAdditionalAddressFamily(out var additional);
        var hasToken = request.TryGetReservationToken(out var token);
        var hasEven = request.TryGetEvenPort(out var reserveNext);
        if ((hasFamily && hasAdditional) || (hasToken && (hasEven || hasFamily || hasAdditional)) || (hasEven && hasAdditional)
            || (hasAdditional && additional != StunAddressFamily.IPv6))
        {
            return Refuse(client, request, response, auth, StunErrorCode.BadRequest, "conflicting address family, EVEN-PORT or RESERVATION-TOKEN");
        }

        if (!hasFamily)
        {
            family = StunAddressFamily.IPv4;
        }

        if (family is not (StunAddressFamily.IPv4 or StunAddressFamily.IPv6) || (!hasToken && !_binder.SupportsFamily(family)))
        {
            return Refuse(client, request, response, auth, StunErrorCode.AddressFamilyNotSupported, "no relay address of that family");
        }

        var quotaUser = QuotaUser(username);
        if ((_options.MaxAllocations > 0 && _allocations.Count >= _options.MaxAllocations)
            || (_options.MaxAllocationsPerUser > 0 && _perUser.TryGetValue(quotaUser, out var held) && held >= _options.MaxAllocationsPerUser))
        {
            return Refuse(client, request, response, auth, StunErrorCode.AllocationQuotaReached, "allocation quota");
        }

        TurnRelayBinding relay;
        var reserved = default(TurnRelayBinding);
        if (hasToken)
        {
            if (!_reservations.Remove(token, out var reservation) || reservation.Expires <= now)
            {
                if (reservation.Binding.IsValid)
                {
                    _binder.Release(reservation.Binding);
                }

                return Refuse(client, request, response, auth, StunErrorCode.InsufficientCapacity, "unknown or expired RESERVATION-TOKEN");
            }

            relay = reservation.Binding;
        }
        else
        {
            var parity = !hasEven ? TurnPortParity.Any : reserveNext ? TurnPortParity.EvenReserveNext : TurnPortParity.Even;
            if (!_binder.TryBind(family, parity, out relay, out reserved))
            {
                return Refuse(client, request, response, auth, StunErrorCode.InsufficientCapacity, "no relay port available");
            }
        }

        var allocation = new TurnAllocation(key, client, request.TransactionId, username.ToArray(), quotaUser);
        if (relay.Address.Family == StunAddressFamily.IPv6)
        {
            allocation.Relay6 = relay;
        }
        else
        {
            allocation.Relay4 = relay;
        }

        if (hasAdditional)
        {
            if (!_binder.SupportsFamily(StunAddressFamily.IPv6))
            {
                allocation.AdditionalFamilyError = StunErrorCode.AddressFamilyNotSupported;
            }
            else if (_binder.TryBind(StunAddressFamily.IPv6, TurnPortParity.Any, out var relay6, out _))
            {
                allocation.Relay6 = relay6;
            }
            else
            {
                allocation.AdditionalFamilyError = StunErrorCode.InsufficientCapacity;
            }
        }

        if (reserved.IsValid)
        {
            ulong reservationToken;
            do
            {
                reservationToken = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));
            }
            while (reservationToken == 0 || _reservations.ContainsKey(reservationToken));

            _reservations[reservationToken] = (reserved, now + _reservationLifetimeMs);
            allocation.ReservationToken = reservationToken;
        }

        SetLifetime(allocation, request, now);
        allocation.Tokens = _options.MaxBandwidthPerAllocation;
        allocation.LastRefill = now;
        _allocations[key] = allocation;
        if (allocation.Relay4.IsValid)
        {
            _byRelay[allocation.Relay4.Address] = allocation;
        }

        if (allocation.Relay6.IsValid)
        {
            _byRelay[allocation.Relay6.Address] = allocation;
        }

        _perUser[quotaUser] = _perUser.GetValueOrDefault(quotaUser) + 1;
        _allocationsCreated++;
        if (_logger.IsEnabled(LogLevel.Information))
        {
            TurnLog.AllocationCreated(_logger, allocation.ToString(), client.ToString(), quotaUser, allocation.LifetimeSeconds);
        }

        return AllocateSuccess(client, request, response, auth, allocation, now);
    }

    private TurnOutput AllocateSuccess(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, scoped AuthContext auth, TurnAllocation allocation, long now)
    {
        var w = new StunMessageWriter(response, StunMethod.Allocate, StunClass.SuccessResponse, request.TransactionId);
        if (allocation.Relay4.IsValid)
        {
            w.AddXorRelayedAddress(allocation.Relay4.Address);
        }

        if (allocation.Relay6.IsValid)
        {
            w.AddXorRelayedAddress(allocation.Relay6.Address);
        }

        w.AddLifetime(RemainingSeconds(allocation, now));
        if (allocation.ReservationToken != 0)
        {
            w.AddReservationToken(allocation.ReservationToken);
        }

        if (allocation.AdditionalFamilyError != 0)
        {
            w.AddAddressErrorCode(StunAddressFamily.IPv6, allocation.AdditionalFamilyError);
        }

        w.AddXorMappedAddress(client.Remote);
        return FinishAuthenticated(ref w, client, auth);
    }

    private TurnOutput HandleRefresh(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, scoped AuthContext auth, long now)
    {
        if (!TryGetAllocation(client, request, response, auth, now, out var allocation, out var refused))
        {
            return refused;
        }

        if (request.TryGetRequestedAddressFamily(out var family) && !allocation.HasFamily(family))
        {
            return Refuse(client, request, response, auth, StunErrorCode.PeerAddressFamilyMismatch, "REQUESTED-ADDRESS-FAMILY differs from the allocation");
        }

        var w = new StunMessageWriter(response, StunMethod.Refresh, StunClass.SuccessResponse, request.TransactionId);
        if (request.TryGetLifetime(out var seconds) && seconds == 0)
        {
            Delete(allocation, "refreshed with lifetime 0");
            w.AddLifetime(0);
        }
        else
        {
            SetLifetime(allocation, request, now);
            w.AddLifetime(allocation.LifetimeSeconds);
        }

        return FinishAuthenticated(ref w, client, auth);
    }

    private TurnOutput HandleCreatePermission(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, scoped AuthContext auth, long now)
    {
        if (!TryGetAllocation(client, request, response, auth, now, out var allocation, out var refused))
        {
            return refused;
        }

        // All or nothing (§9.2): check every XOR-PEER-ADDRESS before installing any.
        var count = 0;
        var added = 0;
        foreach (var attribute in request)
        {
            if (attribute.Type != StunAttributeType.XorPeerAddress)
            {
                continue;
            }

            if (!request.TryDecodeXorAddress(attribute.Value, out var peer))
            {
                return Refuse(client, request, response, auth, StunErrorCode.BadRequest, "bad XOR-PEER-ADDRESS");
            }

            if (!allocation.HasFamily(peer.Family))
            {
                return Refuse(client, request, response, auth, StunErrorCode.PeerAddressFamilyMismatch, "peer family differs from the relayed address");
            }

            if (!_peers.IsAllowed(peer))
            {
                return Refuse(client, request, response, auth, StunErrorCode.Forbidden, "peer address in a refused range", TurnDropReason.ForbiddenPeer);
            }

            count++;
            if (!allocation.Permissions.ContainsKey(peer.WithPort(0)))
            {
                added++;
            }
        }

        if (count == 0)
        {
            return Refuse(client, request, response, auth, StunErrorCode.BadRequest, "no XOR-PEER-ADDRESS");
        }

        if (allocation.Permissions.Count + added > _options.MaxPermissionsPerAllocation)
        {
            return Refuse(client, request, response, auth, StunErrorCode.InsufficientCapacity, "too many permissions");
        }

        foreach (var attribute in request)
        {
            if (attribute.Type == StunAttributeType.XorPeerAddress && request.TryDecodeXorAddress(attribute.Value, out var peer))
            {
                allocation.Permissions[peer.WithPort(0)] = now + _permissionLifetimeMs;
            }
        }

        var w = new StunMessageWriter(response, StunMethod.CreatePermission, StunClass.SuccessResponse, request.TransactionId);
        return FinishAuthenticated(ref w, client, auth);
    }

    private TurnOutput HandleChannelBind(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, scoped AuthContext auth, long now)
    {
        if (!TryGetAllocation(client, request, response, auth, now, out var allocation, out var refused))
        {
            return refused;
        }

        if (!request.TryGetChannelNumber(out var number) || !IsValidChannelNumber(number))
        {
            return Refuse(client, request, response, auth, StunErrorCode.BadRequest, "missing or invalid CHANNEL-NUMBER");
        }

        if (!request.TryGetXorPeerAddress(out var peer))
        {
            return Refuse(client, request, response, auth, StunErrorCode.BadRequest, "no XOR-PEER-ADDRESS");
        }

        if (!allocation.HasFamily(peer.Family))
        {
            return Refuse(client, request, response, auth, StunErrorCode.PeerAddressFamilyMismatch, "peer family differs from the relayed address");
        }

        if (!_peers.IsAllowed(peer))
        {
            return Refuse(client, request, response, auth, StunErrorCode.Forbidden, "peer address in a refused range", TurnDropReason.ForbiddenPeer);
        }

        // §12.2: a bound channel keeps its peer and a bound peer keeps its channel until they expire.
        if (allocation.ChannelsByNumber.TryGetValue(number, out var bound) && bound.Expires > now && bound.Peer != peer)
        {
            return Refuse(client, request, response, auth, StunErrorCode.BadRequest, "channel already bound to another peer");
        }

        if (allocation.ChannelsByPeer.TryGetValue(peer, out var boundNumber) && boundNumber != number
            && allocation.ChannelsByNumber.TryGetValue(boundNumber, out var other) && other.Expires > now)
        {
            return Refuse(client, request, response, auth, StunErrorCode.BadRequest, "peer already bound to another channel");
        }

        var permission = peer.WithPort(0);
        if (!allocation.Permissions.ContainsKey(permission) && allocation.Permissions.Count >= _options.MaxPermissionsPerAllocation)
        {
            return Refuse(client, request, response, auth, StunErrorCode.InsufficientCapacity, "too many permissions");
        }

        // Expired leftovers of either binding go first.
        if (allocation.ChannelsByNumber.TryGetValue(number, out var stale) && stale.Peer != peer)
        {
            allocation.ChannelsByPeer.Remove(stale.Peer);
        }

        if (allocation.ChannelsByPeer.TryGetValue(peer, out var staleNumber) && staleNumber != number)
        {
            allocation.ChannelsByNumber.Remove(staleNumber);
        }

        allocation.ChannelsByNumber[number] = new TurnChannel { Peer = peer, Expires = now + _channelLifetimeMs };
        allocation.ChannelsByPeer[peer] = number;
        allocation.Permissions[permission] = now + _permissionLifetimeMs;

        var w = new StunMessageWriter(response, StunMethod.ChannelBind, StunClass.SuccessResponse, request.TransactionId);
        return FinishAuthenticated(ref w, client, auth);
    }

    private bool TryGetAllocation(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, scoped AuthContext auth, long now,
        out TurnAllocation allocation, out TurnOutput refused)
    {
        if (!_allocations.TryGetValue(new TurnClientKey(client.ConnectionId, client.Remote), out allocation!) || allocation.Expires <= now)
        {
            refused = Refuse(client, request, response, auth, StunErrorCode.AllocationMismatch, "no allocation on this 5-tuple", TurnDropReason.NoAllocation);
            return false;
        }

        request.TryGetUsername(out var username);
        if (!username.SequenceEqual(allocation.Username))
        {
            refused = Refuse(client, request, response, auth, StunErrorCode.WrongCredentials, "another user's allocation");
            return false;
        }

        refused = default;
        return true;
    }

    private void SetLifetime(TurnAllocation allocation, in StunMessageReader request, long now)
    {
        // §7.2: the requested lifetime, at least the default and at most the maximum.
        var requested = request.TryGetLifetime(out var seconds) ? seconds * 1000L : _defaultLifetimeMs;
        var lifetime = Math.Clamp(requested, _defaultLifetimeMs, _maxLifetimeMs);
        allocation.Expires = now + lifetime;
        allocation.LifetimeSeconds = (uint)(lifetime / 1000);
    }

    private static uint RemainingSeconds(TurnAllocation allocation, long now) => (uint)Math.Max(0, (allocation.Expires - now + 999) / 1000);

    // Quotas count REST users by the name after the expiry, so a fresh credential is the same user.
    private string QuotaUser(ReadOnlySpan<byte> username)
    {
        var name = Encoding.UTF8.GetString(username);
        if (_options.AuthSecret is not null && !_options.Users.ContainsKey(name)
            && TurnRestCredentials.TryParseUsername(username, out _, out var user) && !user.IsEmpty)
        {
            return Encoding.UTF8.GetString(user);
        }

        return name;
    }

    // ---- Send indications and ChannelData from the client (§11.2, §12.5) ----

    private TurnOutput HandleSend(in TurnClientEndpoint client, in StunMessageReader indication, ReadOnlySpan<byte> message, long now)
    {
        if (!_allocations.TryGetValue(new TurnClientKey(client.ConnectionId, client.Remote), out var allocation) || allocation.Expires <= now)
        {
            return Drop(TurnDropReason.NoAllocation, client, "Send indication without an allocation");
        }

        if (!indication.TryGetXorPeerAddress(out var peer) || !indication.TryGetData(out var data))
        {
            return Drop(TurnDropReason.BadAttribute, client, "Send indication without XOR-PEER-ADDRESS or DATA");
        }

        if (indication.UnknownComprehensionRequiredCount > 0)
        {
            return Drop(TurnDropReason.BadAttribute, client, "Send indication with an unknown comprehension-required attribute"); // RFC 8489 §6.3.2
        }

        var relay = allocation.Relay(peer.Family);
        if (!relay.IsValid || !allocation.HasPermission(peer, now))
        {
            return Drop(TurnDropReason.NoPermission, client, "Send indication to a peer without permission", log: false);
        }

        if (!ConsumeBandwidth(allocation, data.Length, now))
        {
            return Drop(TurnDropReason.BandwidthExceeded, client, "bandwidth quota");
        }

        message.Overlaps(data, out var offset);
        _toPeerPackets++;
        _toPeerBytes += data.Length;
        return TurnOutput.ToPeer(relay.Handle, peer, offset, data.Length);
    }

    private TurnOutput HandleClientChannelData(in TurnClientEndpoint client, ReadOnlySpan<byte> message, long now)
    {
        // RFC 8656 §12.4; a datagram (or stream frame) holds the header, the data and at most 3 bytes of padding.
        var number = BinaryPrimitives.ReadUInt16BigEndian(message);
        int length = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if (!IsValidChannelNumber(number))
        {
            return Drop(TurnDropReason.Malformed, client, StunParseError.BadChannelNumber.Describe());
        }

        if (message.Length < ChannelData.HeaderLength + length || message.Length > StunMessage.Pad(ChannelData.HeaderLength + length))
        {
            return Drop(TurnDropReason.Malformed, client, StunParseError.BadLength.Describe());
        }

        var data = message.Slice(ChannelData.HeaderLength, length);
        if (!_allocations.TryGetValue(new TurnClientKey(client.ConnectionId, client.Remote), out var allocation) || allocation.Expires <= now)
        {
            return Drop(TurnDropReason.NoAllocation, client, "ChannelData without an allocation");
        }

        if (!allocation.ChannelsByNumber.TryGetValue(number, out var channel) || channel.Expires <= now)
        {
            return Drop(TurnDropReason.UnboundChannel, client, "ChannelData for an unbound channel");
        }

        if (!allocation.HasPermission(channel.Peer, now))
        {
            return Drop(TurnDropReason.NoPermission, client, "ChannelData to a peer whose permission expired", log: false);
        }

        if (!ConsumeBandwidth(allocation, data.Length, now))
        {
            return Drop(TurnDropReason.BandwidthExceeded, client, "bandwidth quota");
        }

        _toPeerPackets++;
        _toPeerBytes += data.Length;
        return TurnOutput.ToPeer(allocation.Relay(channel.Peer.Family).Handle, channel.Peer, ChannelData.HeaderLength, data.Length);
    }

    // ------------------------------------------------------------------------------------------
    // Peer input
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Handles a datagram a peer sent to a relayed address. The payload must already be in
    /// <paramref name="buffer"/> at <paramref name="dataOffset"/> (at least <see cref="PeerDataOffset"/>)
    /// with <see cref="PeerDataTrailer"/> spare bytes after it: the ChannelData or Data indication
    /// header is written in front of it, so the returned slice of <paramref name="buffer"/> is sent
    /// to the client as is.
    /// </summary>
    public TurnOutput HandlePeerData(StunAddress relayAddress, StunAddress peer, Span<byte> buffer, int dataOffset, int dataLength, long now)
    {
        if (dataOffset < PeerDataOffset || dataLength < 0 || dataLength > ChannelData.MaxDataLength
            || buffer.Length - dataOffset - dataLength < PeerDataTrailer)
        {
            throw new ArgumentException("The payload needs PeerDataOffset bytes before it and PeerDataTrailer after it.", nameof(buffer));
        }

        if (!_byRelay.TryGetValue(relayAddress, out var allocation) || allocation.Expires <= now)
        {
            _drops[(int)TurnDropReason.NoAllocation]++;
            return TurnOutput.None;
        }

        if (!allocation.HasPermission(peer, now))
        {
            _drops[(int)TurnDropReason.NoPermission]++;
            return TurnOutput.None;
        }

        if (!ConsumeBandwidth(allocation, dataLength, now))
        {
            _drops[(int)TurnDropReason.BandwidthExceeded]++;
            return TurnOutput.None;
        }

        var client = allocation.Client;
        int start;
        int length;
        if (allocation.ChannelsByPeer.TryGetValue(peer, out var number)
            && allocation.ChannelsByNumber.TryGetValue(number, out var channel) && channel.Expires > now)
        {
            // ChannelData (§12.4), padded to 4 bytes on streams (§12.5).
            start = dataOffset - ChannelData.HeaderLength;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[start..], number);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(start + 2)..], (ushort)dataLength);
            length = ChannelData.HeaderLength + dataLength;
            if (client.IsStream)
            {
                var padded = StunMessage.Pad(length);
                buffer.Slice(start + length, padded - length).Clear();
                length = padded;
            }
        }
        else
        {
            // A Data indication (§11.4): XOR-PEER-ADDRESS, then DATA whose value is the payload in place.
            start = dataOffset - StunMessage.AttributeHeaderLength - StunMessage.AttributeHeaderLength - MappedAddress.GetLength(peer) - StunMessage.HeaderLength;
            var w = new StunMessageWriter(buffer[start..], StunMethod.Data, StunClass.Indication, NextIndicationId());
            w.AddXorPeerAddress(peer);
            w.TryReserveAttribute(StunAttributeType.Data, dataLength, out _);
            length = w.Length;
        }

        _toClientPackets++;
        _toClientBytes += dataLength;
        return TurnOutput.ToClient(client, start, length);
    }

    /// <summary>
    /// Tells the server a relay send failed (e.g. network unreachable toward one peer). The
    /// allocation keeps working for every other peer; the failure is counted and logged once per
    /// allocation.
    /// </summary>
    public void ReportRelaySendFailure(StunAddress relayAddress, StunAddress peer, string error)
    {
        _drops[(int)TurnDropReason.RelaySendFailed]++;
        if (_byRelay.TryGetValue(relayAddress, out var allocation) && !allocation.SendFailureLogged)
        {
            allocation.SendFailureLogged = true;
            if (_logger.IsEnabled(LogLevel.Warning))
            {
                TurnLog.RelaySendFailed(_logger, relayAddress.ToString(), peer.ToString(), error);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Time
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Expires allocations (releasing their relay sockets), permissions, channels and reservations.
    /// Returns when to call again.
    /// </summary>
    public long Tick(long now)
    {
        _scratch.Clear();
        foreach (var allocation in _allocations.Values)
        {
            if (allocation.Expires <= now)
            {
                _scratch.Add(allocation);
            }
            else
            {
                allocation.Prune(now);
            }
        }

        foreach (var allocation in _scratch)
        {
            Delete(allocation, "expired");
        }

        _scratch.Clear();
        foreach (var (token, reservation) in _reservations)
        {
            if (reservation.Expires <= now)
            {
                _reservations.Remove(token);
                _binder.Release(reservation.Binding);
            }
        }

        if (now >= _nextLogReset)
        {
            _logged.Clear();
            _nextLogReset = now + LogResetIntervalMs;
        }

        return now + TickIntervalMs;
    }

    /// <summary>Deletes every allocation and reservation, releasing their relay sockets (on shutdown).</summary>
    public void Clear()
    {
        _scratch.Clear();
        _scratch.AddRange(_allocations.Values);
        foreach (var allocation in _scratch)
        {
            Delete(allocation, "server stopped");
        }

        _scratch.Clear();
        foreach (var (_, reservation) in _reservations)
        {
            _binder.Release(reservation.Binding);
        }

        _reservations.Clear();
    }

    /// <summary>Whether the 5-tuple of <paramref name="client"/> has a live allocation.</summary>
    public bool HasAllocation(in TurnClientEndpoint client) => _allocations.ContainsKey(new TurnClientKey(client.ConnectionId, client.Remote));

    private void Delete(TurnAllocation allocation, string reason)
    {
        if (!_allocations.Remove(allocation.Key))
        {
            return;
        }

        if (allocation.Relay4.IsValid)
        {
            _byRelay.Remove(allocation.Relay4.Address);
            _binder.Release(allocation.Relay4);
        }

        if (allocation.Relay6.IsValid)
        {
            _byRelay.Remove(allocation.Relay6.Address);
            _binder.Release(allocation.Relay6);
        }

        if (_perUser.TryGetValue(allocation.QuotaUser, out var held))
        {
            if (held <= 1)
            {
                _perUser.Remove(allocation.QuotaUser);
            }
            else
            {
                _perUser[allocation.QuotaUser] = held - 1;
            }
        }

        if (_logger.IsEnabled(LogLevel.Information))
        {
            TurnLog.AllocationDeleted(_logger, allocation.ToString(), allocation.Client.ToString(), reason);
        }
    }

    private bool ConsumeBandwidth(TurnAllocation allocation, int bytes, long now)
    {
        var rate = _options.MaxBandwidthPerAllocation;
        if (rate <= 0)
        {
            return true;
        }

        var elapsed = Math.Clamp(now - allocation.LastRefill, 0, 1000);
        allocation.LastRefill = now;
        allocation.Tokens = Math.Min(rate, allocation.Tokens + (elapsed * rate / 1000));
        if (allocation.Tokens < bytes)
        {
            return false;
        }

        allocation.Tokens -= bytes;
        return true;
    }

    private bool IsValidChannelNumber(ushort number) =>
        number >= ChannelData.MinChannelNumber && number <= (_options.AllowRfc5766ChannelNumbers ? 0x7FFF : ChannelData.MaxChannelNumber);

    private StunTransactionId NextIndicationId()
    {
        Span<byte> id = stackalloc byte[StunTransactionId.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(id, _indicationPrefix);
        BinaryPrimitives.WriteUInt32LittleEndian(id[8..], ++_indicationCounter);
        return StunTransactionId.FromBytes(id);
    }

    // ------------------------------------------------------------------------------------------
    // Responses
    // ------------------------------------------------------------------------------------------

    private readonly ref struct AuthContext
    {
        public AuthContext(ReadOnlySpan<byte> key, bool sha256, bool fingerprint)
        {
            Key = key;
            Sha256 = sha256;
            Fingerprint = fingerprint;
        }

        public ReadOnlySpan<byte> Key { get; }

        public bool Sha256 { get; }

        public bool Fingerprint { get; }
    }

    // An error to an authenticated request: integrity-protected with the request's key.
    private TurnOutput Refuse(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, scoped AuthContext auth,
        StunErrorCode code, string detail, TurnDropReason reason = TurnDropReason.RequestRefused)
    {
        Drop(reason, client, detail, log: reason == TurnDropReason.ForbiddenPeer);
        var w = new StunMessageWriter(response, request.Method, StunClass.ErrorResponse, request.TransactionId);
        w.AddErrorCode(code);
        return FinishAuthenticated(ref w, client, auth);
    }

    private TurnOutput FinishAuthenticated(ref StunMessageWriter w, in TurnClientEndpoint client, scoped AuthContext auth)
    {
        if (_software is not null)
        {
            w.AddSoftware(_software);
        }

        if (auth.Sha256)
        {
            w.AddMessageIntegritySha256(auth.Key);
        }
        else
        {
            w.AddMessageIntegrity(auth.Key);
        }

        if (auth.Fingerprint)
        {
            w.AddFingerprint();
        }

        return w.HasOverflowed ? TurnOutput.None : TurnOutput.ToClient(client, 0, w.Length);
    }

    // 401 or 438 with REALM and NONCE (and PASSWORD-ALGORITHMS when offered), without integrity.
    private TurnOutput Challenge(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response, StunErrorCode code,
        TurnDropReason reason, string detail, long now)
    {
        Drop(reason, client, detail, log: reason == TurnDropReason.BadCredentials);
        var w = new StunMessageWriter(response, request.Method, StunClass.ErrorResponse, request.TransactionId);
        var mandatory = StunMessage.AttributeHeaderLength + StunMessage.Pad(_auth.Realm.Length)
            + StunMessage.AttributeHeaderLength + StunMessage.Pad(_nonces.Length)
            + (_nonces.OffersPasswordAlgorithms ? StunMessage.AttributeHeaderLength + OfferedPasswordAlgorithms.Length : 0);
        AddError(ref w, code, request.Length - HeaderAndErrorLength(mandatory));
        w.AddRealm(_auth.Realm);
        Span<byte> nonce = stackalloc byte[64];
        w.AddNonce(nonce[.._nonces.Write(nonce, client, now)]);
        if (_nonces.OffersPasswordAlgorithms)
        {
            w.AddAttribute(StunAttributeType.PasswordAlgorithms, OfferedPasswordAlgorithms);
        }

        return FinishUnauthenticated(ref w, client, request.Length, request.HasFingerprint, now);
    }

    private TurnOutput RespondUnauthenticatedError(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response,
        StunErrorCode code, TurnDropReason reason, long now, string? detail = null)
    {
        Drop(reason, client, detail ?? code.ReasonPhrase());
        var w = new StunMessageWriter(response, request.Method, StunClass.ErrorResponse, request.TransactionId);
        AddError(ref w, code, request.Length - HeaderAndErrorLength(0));
        return FinishUnauthenticated(ref w, client, request.Length, request.HasFingerprint, now);
    }

    private TurnOutput RespondUnknownAttributes(in TurnClientEndpoint client, in StunMessageReader request, Span<byte> response,
        ReadOnlySpan<ushort> unknown, long now)
    {
        Drop(TurnDropReason.RequestRefused, client, "unknown comprehension-required attribute", log: false);
        var w = new StunMessageWriter(response, request.Method, StunClass.ErrorResponse, request.TransactionId);
        var mandatory = StunMessage.AttributeHeaderLength + StunMessage.Pad(2 * unknown.Length);
        AddError(ref w, StunErrorCode.UnknownAttribute, request.Length - HeaderAndErrorLength(mandatory));
        w.AddUnknownAttributes(unknown);
        return FinishUnauthenticated(ref w, client, request.Length, request.HasFingerprint, now);
    }

    private static int HeaderAndErrorLength(int otherMandatory) =>
        StunMessage.HeaderLength + StunMessage.AttributeHeaderLength + 4 + otherMandatory;

    // ERROR-CODE with the reason phrase when it fits in the room left under the request size, bare otherwise.
    private static void AddError(ref StunMessageWriter w, StunErrorCode code, int room)
    {
        var phrase = code.ReasonPhrase();
        if (StunMessage.Pad(phrase.Length) <= room)
        {
            w.AddErrorCode(code);
        }
        else
        {
            w.AddErrorCode((int)code, ReadOnlySpan<byte>.Empty);
        }
    }

    // The amplification rule for unauthenticated requests: optional attributes only while the response
    // stays within the request's size; over UDP, a larger response only within the per-address budget.
    private TurnOutput FinishUnauthenticated(ref StunMessageWriter w, in TurnClientEndpoint client, int requestLength, bool requestHadFingerprint,
        long now, StunAddress source = default)
    {
        var fingerprint = requestHadFingerprint ? 8 : 0;
        if (_software is not null
            && w.Length + StunMessage.AttributeHeaderLength + StunMessage.Pad(_software.Length) + fingerprint <= requestLength)
        {
            w.AddSoftware(_software);
        }

        if (requestHadFingerprint && w.Length + 8 <= requestLength)
        {
            w.AddFingerprint();
        }

        if (w.HasOverflowed)
        {
            return TurnOutput.None;
        }

        if (client.Transport == TurnTransport.Udp && w.Length > requestLength && !_limiter.TryConsume(client.Remote, now))
        {
            return Drop(TurnDropReason.AmplificationLimit, client, "response larger than the request, over the per-address budget");
        }

        return TurnOutput.ToClient(client, 0, w.Length, source);
    }

    private TurnOutput Drop(TurnDropReason reason, in TurnClientEndpoint client, string detail, bool log = true)
    {
        _drops[(int)reason]++;
        if (log && _logged.Count < MaxLoggedKinds && _logger.IsEnabled(LogLevel.Warning) && _logged.Add((client.Remote.WithPort(0), reason)))
        {
            TurnLog.BadInput(_logger, reason, client.ToString(), detail);
        }
        else if (!log && _logger.IsEnabled(LogLevel.Debug))
        {
            TurnLog.Refused(_logger, reason, client.ToString(), detail);
        }

        return TurnOutput.None;
    }
}
