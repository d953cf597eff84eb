using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>How a client reaches the server.</summary>
public enum TurnTransport : byte
{
    /// <summary>UDP datagrams.</summary>
    Udp,

    /// <summary>A TCP connection carrying framed STUN and ChannelData (RFC 8656 §12.5).</summary>
    Tcp,

    /// <summary>The same framing inside TLS.</summary>
    Tls,
}

/// <summary>
/// Where a client message came from, and where to answer it: the transport, the receiving socket
/// (a UDP listener) or connection (TCP/TLS) as a number unique within the server, the local and
/// remote addresses, and an opaque handle the I/O driver uses to send back (its listener or
/// connection object). The (connection, remote) pair identifies the client's 5-tuple.
/// </summary>
public readonly struct TurnClientEndpoint
{
    /// <summary>Describes a client.</summary>
    public TurnClientEndpoint(TurnTransport transport, long connectionId, StunAddress local, StunAddress remote, object? handle = null)
    {
        Transport = transport;
        ConnectionId = connectionId;
        Local = local;
        Remote = remote;
        Handle = handle;
    }

    /// <summary>UDP, TCP or TLS.</summary>
    public TurnTransport Transport { get; }

    /// <summary>The UDP listener or the TCP/TLS connection, unique within the server.</summary>
    public long ConnectionId { get; }

    /// <summary>The server's address the message arrived on (the bound address; may be a wildcard).</summary>
    public StunAddress Local { get; }

    /// <summary>The client's address as the server sees it (its server-reflexive address).</summary>
    public StunAddress Remote { get; }

    /// <summary>The driver's object for sending to this client.</summary>
    public object? Handle { get; }

    /// <summary>Whether the transport is a stream (ChannelData is then padded to 4 bytes).</summary>
    public bool IsStream => Transport != TurnTransport.Udp;

    /// <inheritdoc/>
    public override string ToString() => $"{Transport} {Remote}";
}

/// <summary>What the driver must do after <see cref="TurnServer"/> handled a message.</summary>
public enum TurnOutputKind : byte
{
    /// <summary>Nothing (the message was consumed or dropped).</summary>
    None,

    /// <summary>Send <see cref="TurnOutput.Length"/> bytes at <see cref="TurnOutput.Offset"/> to <see cref="TurnOutput.Client"/>.</summary>
    ToClient,

    /// <summary>Send the bytes at <see cref="TurnOutput.Offset"/> from the relay socket <see cref="TurnOutput.Relay"/> to <see cref="TurnOutput.Peer"/>.</summary>
    ToPeer,
}

/// <summary>
/// The single output of one input to <see cref="TurnServer"/>. The bytes are a slice of a buffer
/// the caller passed: for <see cref="TurnServer.HandleClientMessage"/> the response buffer
/// (<see cref="TurnOutputKind.ToClient"/>) or the message itself (<see cref="TurnOutputKind.ToPeer"/>:
/// the relayed payload, not copied); for <see cref="TurnServer.HandlePeerData"/> the peer buffer.
/// </summary>
public readonly struct TurnOutput
{
    private TurnOutput(TurnOutputKind kind, int offset, int length, TurnClientEndpoint client, StunAddress source, object? relay, StunAddress peer)
    {
        Kind = kind;
        Offset = offset;
        Length = length;
        Client = client;
        Source = source;
        Relay = relay;
        Peer = peer;
    }

    /// <summary>Nothing to send.</summary>
    public static TurnOutput None => default;

    /// <summary>What to do.</summary>
    public TurnOutputKind Kind { get; }

    /// <summary>Start of the bytes to send in the buffer the kind refers to.</summary>
    public int Offset { get; }

    /// <summary>How many bytes to send.</summary>
    public int Length { get; }

    /// <summary>
    /// The client to send to (<see cref="TurnOutputKind.ToClient"/>). Over UDP its port may differ
    /// from the sender's (RFC 5780 RESPONSE-PORT): send to <c>Client.Remote</c>.
    /// </summary>
    public TurnClientEndpoint Client { get; }

    /// <summary>
    /// For <see cref="TurnOutputKind.ToClient"/> over UDP: the local address to send from when it
    /// differs from the receiving socket (RFC 5780 CHANGE-REQUEST); <c>default</c> otherwise.
    /// </summary>
    public StunAddress Source { get; }

    /// <summary>The relay socket handle from <see cref="ITurnRelayBinder"/> (<see cref="TurnOutputKind.ToPeer"/>).</summary>
    public object? Relay { get; }

    /// <summary>The peer to send to (<see cref="TurnOutputKind.ToPeer"/>).</summary>
    public StunAddress Peer { get; }

    internal static TurnOutput ToClient(in TurnClientEndpoint client, int offset, int length, StunAddress source = default) =>
        new(TurnOutputKind.ToClient, offset, length, client, source, null, default);

    internal static TurnOutput ToPeer(object? relay, StunAddress peer, int offset, int length) =>
        new(TurnOutputKind.ToPeer, offset, length, default, default, relay, peer);
}

/// <summary>Which port a relay binding should get (RFC 8656 §7.2, EVEN-PORT).</summary>
public enum TurnPortParity : byte
{
    /// <summary>Any port.</summary>
    Any,

    /// <summary>An even port.</summary>
    Even,

    /// <summary>An even port, with the next (odd) port bound too and held for a later RESERVATION-TOKEN.</summary>
    EvenReserveNext,
}

/// <summary>A relayed transport address and the driver's handle for its socket.</summary>
/// <param name="Address">The address reported in XOR-RELAYED-ADDRESS and passed to <see cref="TurnServer.HandlePeerData"/>.</param>
/// <param name="Handle">The driver's socket object, given back in <see cref="TurnOutput.Relay"/>.</param>
public readonly record struct TurnRelayBinding(StunAddress Address, object? Handle)
{
    /// <summary>Whether this is a real binding (not <c>default</c>).</summary>
    public bool IsValid => Address.Family != StunAddressFamily.None;
}

/// <summary>
/// Binds relay sockets for <see cref="TurnServer"/>, which is sans-I/O: the host binds real UDP
/// sockets and starts receiving on them; tests hand out virtual addresses. Called under the
/// server's lock; must not block for long.
/// </summary>
public interface ITurnRelayBinder
{
    /// <summary>Whether relay addresses of <paramref name="family"/> can be bound at all (otherwise Allocate gets 440).</summary>
    bool SupportsFamily(StunAddressFamily family);

    /// <summary>
    /// Binds a relay socket. With <see cref="TurnPortParity.EvenReserveNext"/>, also binds the next
    /// port into <paramref name="reserved"/>. False when no port is available (Allocate gets 508).
    /// </summary>
    bool TryBind(StunAddressFamily family, TurnPortParity parity, out TurnRelayBinding relay, out TurnRelayBinding reserved);

    /// <summary>Closes a relay socket (allocation deleted, reservation expired, server stopped).</summary>
    void Release(in TurnRelayBinding binding);
}

/// <summary>Why a message was dropped or refused, for counters and the once-per-client log.</summary>
public enum TurnDropReason
{
    /// <summary>Neither STUN nor ChannelData, or a STUN header that does not parse (silently dropped).</summary>
    Malformed,

    /// <summary>A STUN message whose attributes are invalid (a request gets 400).</summary>
    BadAttribute,

    /// <summary>A response or an indication the server does not take (silently dropped).</summary>
    UnexpectedMessage,

    /// <summary>A request without credentials (answered 401).</summary>
    Unauthenticated,

    /// <summary>Unknown user, expired REST credential or wrong MESSAGE-INTEGRITY (answered 401).</summary>
    BadCredentials,

    /// <summary>An expired or forged nonce (answered 438).</summary>
    StaleNonce,

    /// <summary>A response to an unauthenticated request would have been larger than the request, over the per-address budget.</summary>
    AmplificationLimit,

    /// <summary>Send, ChannelData or TURN request from a 5-tuple without an allocation.</summary>
    NoAllocation,

    /// <summary>ChannelData for a channel that is not bound.</summary>
    UnboundChannel,

    /// <summary>Data to or from a peer without a permission.</summary>
    NoPermission,

    /// <summary>A peer address in a refused range (answered 403).</summary>
    ForbiddenPeer,

    /// <summary>Over the allocation's bandwidth quota.</summary>
    BandwidthExceeded,

    /// <summary>A relay send that failed (reported by the driver).</summary>
    RelaySendFailed,

    /// <summary>A request refused for another reason (437, 440, 441, 442, 443, 486, 508, 420, 400).</summary>
    RequestRefused,
}
