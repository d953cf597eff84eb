using System.Buffers.Binary;

namespace PeerNet.Stun.NatBehavior;

/// <summary>
/// Sans-I/O NAT behaviour discovery (RFC 5780 §4): from one local UDP socket, Binding requests to a
/// STUN server that offers OTHER-ADDRESS tell the public address, whether a NAT is in the way, and the
/// NAT's mapping (§4.3) and filtering (§4.4) behaviour in RFC 4787's terms.
/// </summary>
/// <remarks>
/// <para>The tests run in three phases, each only after the previous one ended:</para>
/// <list type="number">
/// <item>Test I: a plain Binding to the primary address (the mapped address, OTHER-ADDRESS). Without a
/// valid OTHER-ADDRESS the server does not offer the usage: the result is NotSupported, not an error.</item>
/// <item>Filtering tests II (CHANGE-REQUEST change IP and port) and III (change port), together: both go
/// to the primary address, so neither opens the NAT to the other's answer. An answer to II means
/// endpoint-independent filtering, else one to III address-dependent, else address-and-port-dependent.</item>
/// <item>Mapping test II (alternate IP, primary port), then test III (alternate IP and port) when II's
/// mapped address differs from test I's. They come last because a request to the alternate address
/// opens the NAT to it, which would let the filtering tests' answers through.</item>
/// </list>
/// <para>Each request is retransmitted per RFC 8489 §6.2.1 (RTO doubling, at most
/// <see cref="NatBehaviorDiscoveryOptions.MaxTransmissions"/>) within <see cref="NatBehaviorDiscoveryOptions.TestTimeout"/>;
/// the whole run ends within <see cref="NatBehaviorDiscoveryOptions.TotalTimeout"/>. Responses must come from
/// where the test needs them to (the request's destination, or the changed address for CHANGE-REQUEST),
/// carry one of our transaction ids and parse; anything else is dropped and counted. Not thread-safe.</para>
/// </remarks>
public sealed class NatBehaviorDiscovery
{
    /// <summary>A buffer this long holds any request the discovery sends.</summary>
    public const int MaxRequestLength = 64;

    private readonly NatBehaviorDiscoveryOptions _options;
    private readonly long _initialRto;
    private readonly long _testTimeout;
    private readonly List<Transaction> _transactions = new(2);
    private readonly Queue<Transaction> _toSend = new(2);
    private readonly Queue<NatBehaviorEvent> _events = new();

    private Phase _phase;
    private long _startedAt;
    private long _endedAt = -1;
    private long _giveUpAt;
    private long _now;

    private NatBehaviorStatus _status;
    private StunAddress _mapped;
    private StunAddress _other;
    private StunAddress _responseOrigin;
    private StunAddress _mappedII;
    private StunAddress _mappedIII;
    private bool? _behindNat;
    private NatMappingBehavior _mapping;
    private NatFilteringBehavior _filtering;
    private int _errorCode;
    private string? _note;

    // Phase 2 bookkeeping: how each filtering test ended, and whether the server answered a change
    // request from the unchanged address (it ignores CHANGE-REQUEST: the silence proves nothing).
    private NatBehaviorTestOutcome? _filteringII;
    private NatBehaviorTestOutcome? _filteringIII;
    private bool _changeRequestIgnored;

    /// <summary>Creates a discovery; nothing is sent until <see cref="Start"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="NatBehaviorDiscoveryOptions"/>).</exception>
    public NatBehaviorDiscovery(NatBehaviorDiscoveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _initialRto = Math.Max(1, (long)options.InitialRto.TotalMilliseconds);
        _testTimeout = Math.Max(1, (long)options.TestTimeout.TotalMilliseconds);
    }

    private enum Phase : byte
    {
        NotStarted,
        Primary,
        Filtering,
        Mapping,
        Done,
    }

    /// <summary>Whether the discovery has ended (see <see cref="Result"/>).</summary>
    public bool IsComplete => _phase == Phase.Done;

    /// <summary>Requests sent, retransmissions included.</summary>
    public long RequestsSent { get; private set; }

    /// <summary>Datagrams ignored (see <see cref="LastDropReason"/>).</summary>
    public long DroppedCount { get; private set; }

    /// <summary>Why the last ignored datagram was ignored.</summary>
    public NatBehaviorDropReason LastDropReason { get; private set; }

    /// <summary>What was found so far; final once <see cref="IsComplete"/>.</summary>
    public NatBehaviorResult Result => new()
    {
        Status = _status,
        Server = _options.Server,
        LocalAddress = _options.LocalAddress,
        MappedAddress = _mapped,
        OtherAddress = _other,
        ResponseOrigin = _responseOrigin,
        MappedAddressTestII = _mappedII,
        MappedAddressTestIII = _mappedIII,
        IsBehindNat = _behindNat,
        Mapping = _mapping,
        Filtering = _filtering,
        ErrorCode = _errorCode,
        Note = _note,
        ElapsedMilliseconds = _phase == Phase.NotStarted ? 0 : (_endedAt >= 0 ? _endedAt : _now) - _startedAt,
    };

    /// <summary>Sends test I.</summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public void Start(long now)
    {
        if (_phase != Phase.NotStarted)
        {
            throw new InvalidOperationException("The discovery was already started.");
        }

        _now = now;
        _startedAt = now;
        _giveUpAt = now + Math.Max(1, (long)_options.TotalTimeout.TotalMilliseconds);
        _phase = Phase.Primary;
        Begin(NatBehaviorTest.Primary, _options.Server, _options.Server, changeIP: false, changePort: false);
    }

    /// <summary>
    /// Handles one datagram received on the socket from <paramref name="from"/>. Returns true when it
    /// answered one of the running tests; anything else is dropped (counted, <see cref="LastDropReason"/>).
    /// Never throws on hostile bytes.
    /// </summary>
    public bool HandleResponse(ReadOnlySpan<byte> packet, StunAddress from, long now)
    {
        _now = now;
        if (_phase is Phase.NotStarted or Phase.Done)
        {
            return Drop(NatBehaviorDropReason.UnknownTransaction);
        }

        if (packet.Length < StunMessage.HeaderLength)
        {
            return Drop(NatBehaviorDropReason.Malformed);
        }

        // Cheap checks on the header first: most strays are not ours.
        var type = BinaryPrimitives.ReadUInt16BigEndian(packet);
        if ((type & 0xC000) != 0 || StunMessageType.GetMethod(type) != StunMethod.Binding
            || StunMessageType.GetClass(type) is not (StunClass.SuccessResponse or StunClass.ErrorResponse))
        {
            return Drop(NatBehaviorDropReason.NotABindingResponse);
        }

        var id = StunTransactionId.FromBytes(packet.Slice(8, StunTransactionId.Length));
        var transaction = Find(id);
        if (transaction is null)
        {
            return Drop(NatBehaviorDropReason.UnknownTransaction);
        }

        if (!StunMessageReader.TryParse(packet, out var reader, out _))
        {
            return Drop(NatBehaviorDropReason.Malformed);
        }

        // An error answer to a change request comes from where the request went: the server did not
        // (or could not) change anything.
        var isError = reader.Class == StunClass.ErrorResponse;
        if (from != transaction.ExpectedSource && !(isError && from == transaction.Destination))
        {
            if (transaction.IsChangeRequest && from == transaction.Destination)
            {
                // RFC 5780 §4.4 needs the answer from the changed address; one from the address asked
                // says the server ignores CHANGE-REQUEST, and then no answer would mean nothing.
                _changeRequestIgnored = true;
            }

            return Drop(NatBehaviorDropReason.WrongSource);
        }

        if (isError)
        {
            var code = reader.TryGetErrorCode(out var c, out _) ? c : 0;
            Finish(transaction, NatBehaviorTestOutcome.ErrorResponse, default, code);
            OnError(transaction, code);
            return true;
        }

        if (!reader.TryGetXorMappedAddress(out var mapped) && !reader.TryGetMappedAddress(out mapped))
        {
            return Drop(NatBehaviorDropReason.NoMappedAddress);
        }

        if (transaction.Test == NatBehaviorTest.Primary)
        {
            _other = reader.TryGetOtherAddress(out var other) ? other : default;
            _responseOrigin = reader.TryGetResponseOrigin(out var origin) ? origin : default;
        }

        Finish(transaction, NatBehaviorTestOutcome.Answered, mapped, 0);
        OnAnswer(transaction, mapped);
        return true;
    }

    /// <summary>Writes the next request into <paramref name="destination"/>; returns its length, 0 when none.</summary>
    /// <param name="destination">At least <see cref="MaxRequestLength"/> bytes.</param>
    /// <param name="remote">Where to send it.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public int PollTransmit(Span<byte> destination, out StunAddress remote)
    {
        while (_toSend.TryDequeue(out var transaction))
        {
            if (!transaction.Live)
            {
                continue;
            }

            var w = new StunMessageWriter(destination, StunMethod.Binding, StunClass.Request, transaction.Id);
            if (transaction.IsChangeRequest)
            {
                w.AddChangeRequest(transaction.ChangeIP, transaction.ChangePort);
            }

            w.AddFingerprint();
            if (!w.TryGetMessage(out var message))
            {
                throw new ArgumentException("The destination is too short for the request.", nameof(destination));
            }

            RequestsSent++;
            remote = transaction.Destination;
            return message.Length;
        }

        remote = default;
        return 0;
    }

    /// <summary>The next deadline (absolute ms) at which <see cref="HandleTimeout"/> must run, or null when done.</summary>
    public long? PollTimeout()
    {
        if (_phase is Phase.NotStarted or Phase.Done)
        {
            return null;
        }

        var deadline = _giveUpAt;
        foreach (var transaction in _transactions)
        {
            deadline = Math.Min(deadline, transaction.Deadline);
        }

        return deadline;
    }

    /// <summary>Retransmits (RFC 8489 §6.2.1), ends tests past their time, and ends everything past the total time.</summary>
    public void HandleTimeout(long now)
    {
        _now = now;
        if (_phase is Phase.NotStarted or Phase.Done)
        {
            return;
        }

        if (now >= _giveUpAt)
        {
            GiveUp();
            return;
        }

        // Copy: ending a test may start the next phase's tests.
        foreach (var transaction in _transactions.ToArray())
        {
            if (!transaction.Live || now < transaction.Deadline)
            {
                continue;
            }

            if (now >= transaction.GiveUpAt)
            {
                Finish(transaction, NatBehaviorTestOutcome.TimedOut, default, 0);
                OnTimedOut(transaction);
                continue;
            }

            if (transaction.Transmissions < _options.MaxTransmissions)
            {
                transaction.Transmissions++;
                transaction.Rto *= 2;
                transaction.Deadline = Math.Min(now + transaction.Rto, transaction.GiveUpAt);
                _toSend.Enqueue(transaction);
            }
            else
            {
                transaction.Deadline = transaction.GiveUpAt;
            }
        }
    }

    /// <summary>The next finished test, if any.</summary>
    public bool TryPollEvent(out NatBehaviorEvent e) => _events.TryDequeue(out e);

    // ---- Phases ----

    private void OnAnswer(Transaction transaction, StunAddress mapped)
    {
        switch (transaction.Test)
        {
            case NatBehaviorTest.Primary:
                _mapped = mapped;
                _behindNat = BehindNat(mapped);
                if (!IsValidOtherAddress(_other))
                {
                    _note = _other.Family == StunAddressFamily.None
                        ? "its answer has no OTHER-ADDRESS"
                        : $"the server's OTHER-ADDRESS {_other} does not differ from {_options.Server} in both IP and port";
                    _other = default;
                    _mapping = NatMappingBehavior.NotSupported;
                    _filtering = NatFilteringBehavior.NotSupported;
                    End(NatBehaviorStatus.NotSupported);
                    return;
                }

                if (_options.DiscoverFiltering)
                {
                    _phase = Phase.Filtering;
                    Begin(NatBehaviorTest.FilteringChangeAddressAndPort, _options.Server, _other, changeIP: true, changePort: true);
                    Begin(NatBehaviorTest.FilteringChangePort, _options.Server, _options.Server.WithPort(_other.Port), changeIP: false, changePort: true);
                }
                else
                {
                    StartMapping();
                }

                break;

            case NatBehaviorTest.FilteringChangeAddressAndPort:
                _filteringII = NatBehaviorTestOutcome.Answered;
                EndFilteringWhenDecided();
                break;

            case NatBehaviorTest.FilteringChangePort:
                _filteringIII = NatBehaviorTestOutcome.Answered;
                EndFilteringWhenDecided();
                break;

            case NatBehaviorTest.MappingAlternateAddress:
                _mappedII = mapped;
                if (mapped == _mapped)
                {
                    _mapping = NatMappingBehavior.EndpointIndependent;
                    End(NatBehaviorStatus.Completed);
                }
                else
                {
                    Begin(NatBehaviorTest.MappingAlternateAddressAndPort, _other, _other, changeIP: false, changePort: false);
                }

                break;

            case NatBehaviorTest.MappingAlternateAddressAndPort:
                _mappedIII = mapped;
                _mapping = mapped == _mappedII ? NatMappingBehavior.AddressDependent : NatMappingBehavior.AddressAndPortDependent;
                End(NatBehaviorStatus.Completed);
                break;
        }
    }

    private void OnError(Transaction transaction, int code)
    {
        switch (transaction.Test)
        {
            case NatBehaviorTest.Primary:
                _errorCode = code;
                _note = $"the server answered the Binding request with error {code}";
                End(NatBehaviorStatus.ServerError);
                break;

            case NatBehaviorTest.FilteringChangeAddressAndPort or NatBehaviorTest.FilteringChangePort:
                // 420 is how a server says it does not understand CHANGE-REQUEST (RFC 5780 §6.1).
                _errorCode = code;
                _filtering = NatFilteringBehavior.NotSupported;
                AppendNote(code == 420
                    ? "the server does not support CHANGE-REQUEST (420)"
                    : $"the server answered CHANGE-REQUEST with error {code}");
                AbandonAll();
                StartMapping();
                break;

            default:
                _mapping = NatMappingBehavior.Unknown;
                AppendNote($"the server answered a mapping test with error {code}");
                End(NatBehaviorStatus.Completed);
                break;
        }
    }

    private void OnTimedOut(Transaction transaction)
    {
        switch (transaction.Test)
        {
            case NatBehaviorTest.Primary:
                _note = "the server did not answer";
                End(NatBehaviorStatus.NoResponse);
                break;

            case NatBehaviorTest.FilteringChangeAddressAndPort:
                _filteringII = NatBehaviorTestOutcome.TimedOut;
                EndFilteringWhenDecided();
                break;

            case NatBehaviorTest.FilteringChangePort:
                _filteringIII = NatBehaviorTestOutcome.TimedOut;
                EndFilteringWhenDecided();
                break;

            default:
                _mapping = NatMappingBehavior.Unknown;
                AppendNote(transaction.Test == NatBehaviorTest.MappingAlternateAddress
                    ? $"no answer from the alternate address {transaction.Destination}"
                    : $"no answer from the alternate address and port {transaction.Destination}");
                End(NatBehaviorStatus.Completed);
                break;
        }
    }

    // RFC 5780 §4.4: an answer to test II decides; otherwise test III's answer or silence does.
    private void EndFilteringWhenDecided()
    {
        if (_filteringII == NatBehaviorTestOutcome.Answered)
        {
            _filtering = NatFilteringBehavior.EndpointIndependent;
        }
        else if (_filteringII is null || _filteringIII is null)
        {
            return; // test II still running, or test III still running after II's silence
        }
        else if (_filteringIII == NatBehaviorTestOutcome.Answered)
        {
            _filtering = NatFilteringBehavior.AddressDependent;
        }
        else if (_changeRequestIgnored)
        {
            _filtering = NatFilteringBehavior.Unknown;
            AppendNote("the server answered CHANGE-REQUEST from the unchanged address");
        }
        else
        {
            _filtering = NatFilteringBehavior.AddressAndPortDependent;
        }

        AbandonAll();
        StartMapping();
    }

    private void StartMapping()
    {
        if (_behindNat == false)
        {
            // RFC 5780 §4.3: the mapped address is the local one, so nothing maps: no further tests.
            _mapping = NatMappingBehavior.EndpointIndependent;
            End(NatBehaviorStatus.Completed);
            return;
        }

        _phase = Phase.Mapping;
        var alternateAddress = _other.WithPort(_options.Server.Port);
        Begin(NatBehaviorTest.MappingAlternateAddress, alternateAddress, alternateAddress, changeIP: false, changePort: false);
    }

    private void GiveUp()
    {
        foreach (var transaction in _transactions.ToArray())
        {
            Finish(transaction, NatBehaviorTestOutcome.Abandoned, default, 0);
        }

        switch (_phase)
        {
            case Phase.Primary:
                _note = "the server did not answer";
                End(NatBehaviorStatus.NoResponse);
                break;
            case Phase.Filtering:
                _filtering = NatFilteringBehavior.Unknown;
                _mapping = NatMappingBehavior.Unknown;
                AppendNote("the tests ran out of time");
                End(NatBehaviorStatus.Completed);
                break;
            default:
                _mapping = NatMappingBehavior.Unknown;
                AppendNote("the tests ran out of time");
                End(NatBehaviorStatus.Completed);
                break;
        }
    }

    private void End(NatBehaviorStatus status)
    {
        AbandonAll();
        _status = status;
        _phase = Phase.Done;
        _endedAt = _now;
    }

    // ---- Transactions ----

    private void Begin(NatBehaviorTest test, StunAddress destination, StunAddress expectedSource, bool changeIP, bool changePort)
    {
        var transaction = new Transaction(test, StunTransactionId.NewRandom(), destination, expectedSource)
        {
            ChangeIP = changeIP,
            ChangePort = changePort,
            Transmissions = 1,
            Rto = _initialRto,
            StartedAt = _now,
            GiveUpAt = Math.Min(_now + _testTimeout, _giveUpAt),
        };
        transaction.Deadline = Math.Min(_now + _initialRto, transaction.GiveUpAt);
        _transactions.Add(transaction);
        _toSend.Enqueue(transaction);
    }

    private Transaction? Find(StunTransactionId id)
    {
        foreach (var transaction in _transactions)
        {
            if (transaction.Id == id)
            {
                return transaction;
            }
        }

        return null;
    }

    private void Finish(Transaction transaction, NatBehaviorTestOutcome outcome, StunAddress mapped, int code)
    {
        transaction.Live = false;
        _transactions.Remove(transaction);
        _events.Enqueue(new NatBehaviorEvent(transaction.Test, outcome, mapped, code, _now - transaction.StartedAt));
    }

    private void AbandonAll()
    {
        foreach (var transaction in _transactions.ToArray())
        {
            Finish(transaction, NatBehaviorTestOutcome.Abandoned, default, 0);
        }
    }

    // ---- Helpers ----

    private bool? BehindNat(StunAddress mapped)
    {
        var local = _options.LocalAddress;
        if (local.Family == StunAddressFamily.None)
        {
            return null;
        }

        if (IsUnspecified(local))
        {
            // Only the port can be compared; a changed port proves a NAT, an equal one proves nothing.
            return mapped.Port != local.Port ? true : null;
        }

        return mapped != local;
    }

    // RFC 5780 §7.4: the alternate differs from the primary in both IP address and port, same family.
    private bool IsValidOtherAddress(StunAddress other)
    {
        var server = _options.Server;
        return other.Family == server.Family
            && other.Port != 0
            && other.Port != server.Port
            && other.WithPort(0) != server.WithPort(0)
            && !IsUnspecified(other);
    }

    private static bool IsUnspecified(StunAddress address) =>
        address.WithPort(0) == (address.Family == StunAddressFamily.IPv4 ? Unspecified4 : Unspecified6);

    private static readonly StunAddress Unspecified4 = StunAddress.IPv4(0u, 0);
    private static readonly StunAddress Unspecified6 = StunAddress.IPv6(new byte[16], 0);

    private void AppendNote(string note) => _note = _note is null ? note : $"{_note}; {note}";

    private bool Drop(NatBehaviorDropReason reason)
    {
        DroppedCount++;
        LastDropReason = reason;
        return false;
    }

    private sealed class Transaction(NatBehaviorTest test, StunTransactionId id, StunAddress destination, StunAddress expectedSource)
    {
        public NatBehaviorTest Test { get; } = test;

        public StunTransactionId Id { get; } = id;

        public StunAddress Destination { get; } = destination;

        public StunAddress ExpectedSource { get; } = expectedSource;

        public bool ChangeIP { get; init; }

        public bool ChangePort { get; init; }

        public bool IsChangeRequest => ChangeIP || ChangePort;

        public bool Live { get; set; } = true;

        public int Transmissions { get; set; }

        public long Rto { get; set; }

        public long StartedAt { get; init; }

        public long Deadline { get; set; }

        public long GiveUpAt { get; init; }
    }
}
