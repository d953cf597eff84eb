using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>
/// One UDP socket shared by many ICE connections (a server-side mode: a hub-side peer holds thousands of
/// peers behind one port and one firewall rule). Each connection gets an <see cref="IceUdpMuxConnection"/>,
/// an <see cref="IIceSocket"/> that an <see cref="IceTransport"/> uses instead of gathering its own sockets.
/// </summary>
/// <remarks>
/// <para>One receive loop serves every connection; nothing runs per connection. A STUN Binding request is
/// routed by the local ufrag, the part of its USERNAME before ':' (RFC 8445 §7.2.2), looked up without
/// allocating. A STUN response goes to the connection that sent the request (by transaction id, RFC 8489
/// §6.3.3). Everything else (DTLS, indications, responses to forgotten transactions) goes to the connection
/// that owns the source address. A connection owns an address once a Binding request from it proved
/// knowledge of the connection's password (MESSAGE-INTEGRITY, RFC 8445 §7.3), or once it sent to an
/// address nobody has proven; proof moves an address to a new connection (a remote port reused).</para>
/// <para>Unroutable and malformed datagrams are dropped and counted per <see cref="IceUdpMuxDropReason"/>
/// (logged once per reason at debug). Every table is bounded: ufrags per connection, addresses per
/// connection (the least recently seen is forgotten) and in all, transactions per connection and in all.
/// Sends are synchronous and never block: a full socket buffer fails the send (counted).</para>
/// <para>Handlers run on the receive loop: a connection that blocks its handler delays all of them.</para>
/// </remarks>
public sealed class IceUdpMux : IAsyncDisposable
{
    /// <summary>The largest datagram received whole.</summary>
    public const int ReceiveBufferSize = 65536;

    /// <summary>The longest ice-ufrag (RFC 8839 §5.4).</summary>
    public const int MaxUfragLength = 256;

    private readonly Socket _socket;
    private readonly IceUdpMuxOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, UfragRoute> _ufrags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UfragRoute>.AlternateLookup<ReadOnlySpan<char>> _ufragLookup;
    private readonly Dictionary<StunAddress, AddressRoute> _addresses = [];
    private readonly Dictionary<StunTransactionId, IceUdpMuxConnection> _transactions = [];
    private readonly HashSet<IceUdpMuxConnection> _connections = [];
    private readonly CancellationTokenSource _closed = new();
    private Task _loop = Task.CompletedTask;
    private int _loggedDrops;
    private volatile int _addressGeneration;
    private bool _disposed;

    private IceUdpMux(Socket socket, IceUdpMuxOptions options, IReadOnlyList<IPEndPoint> announced, ILogger logger)
    {
        _socket = socket;
        _options = options;
        _logger = logger;
        _ufragLookup = _ufrags.GetAlternateLookup<ReadOnlySpan<char>>();
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        AnnouncedEndPoints = announced;
    }

    /// <summary>The bound address and port.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The transport addresses host candidates carry (the announced addresses, or the bound one, on the bound port).</summary>
    public IReadOnlyList<IPEndPoint> AnnouncedEndPoints { get; }

    /// <summary>Counters.</summary>
    public IceUdpMuxStatistics Statistics { get; } = new();

    /// <summary>The connections not yet disposed.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_lock)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>The remote addresses in the routing table.</summary>
    public int RemoteAddressCount
    {
        get
        {
            lock (_lock)
            {
                return _addresses.Count;
            }
        }
    }

    /// <summary>The registered ufrags.</summary>
    public int UfragCount
    {
        get
        {
            lock (_lock)
            {
                return _ufrags.Count;
            }
        }
    }

    /// <summary>The remembered outgoing STUN transactions.</summary>
    public int TransactionCount
    {
        get
        {
            lock (_lock)
            {
                return _transactions.Count;
            }
        }
    }

    // Bumped whenever an address changes owner or is forgotten, so a connection's cached "I own where I
    // send" goes stale and its next send learns again.
    internal int AddressGeneration => _addressGeneration;

    internal int MaxTransactionsPerConnection => _options.MaxTransactionsPerConnection;

    /// <summary>Binds the socket and starts the receive loop.</summary>
    /// <exception cref="ArgumentException">No endpoint, another family than IPv4/IPv6, a wildcard bind without announced addresses, or an announced address that is a wildcard or of the other family.</exception>
    /// <exception cref="SocketException">The endpoint cannot be bound.</exception>
    public static IceUdpMux Bind(IceUdpMuxOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var local = options.LocalEndPoint ?? throw new ArgumentException("LocalEndPoint is required.", nameof(options));
        if (local.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException("The mux binds an IPv4 or IPv6 address.", nameof(options));
        }

        if (options.MaxRemoteAddresses < 1 || options.MaxRemoteAddressesPerConnection < 1 || options.MaxUfragsPerConnection < 1
            || options.MaxTransactions < 0 || options.MaxTransactionsPerConnection < 0)
        {
            throw new ArgumentException("Table limits must be positive.", nameof(options));
        }

        foreach (var address in options.AnnouncedAddresses)
        {
            if (IsWildcard(address) || address.AddressFamily != local.AddressFamily || address.IsIPv4MappedToIPv6)
            {
                throw new ArgumentException($"Cannot announce {address}: a host candidate needs a specific address of the bound family ({local.AddressFamily}).", nameof(options));
            }
        }

        if (IsWildcard(local.Address) && options.AnnouncedAddresses.Count == 0)
        {
            throw new ArgumentException($"Bound to {local.Address}: say which addresses to announce in host candidates (AnnouncedAddresses).", nameof(options));
        }

        var socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (local.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            socket.Bind(local);
            TrySetBufferSize(socket, SocketOptionName.ReceiveBuffer, options.SocketReceiveBufferSize);
            TrySetBufferSize(socket, SocketOptionName.SendBuffer, options.SocketSendBufferSize);
            socket.Blocking = false; // synchronous sends fail with WouldBlock instead of waiting; receives are async anyway
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var announced = options.AnnouncedAddresses.Count > 0
            ? options.AnnouncedAddresses.Select(a => new IPEndPoint(a, port)).ToArray()
            : [new IPEndPoint(local.Address, port)];
        var mux = new IceUdpMux(socket, options, announced, logger ?? NullLogger.Instance);
        mux._loop = mux.ReceiveLoopAsync();
        return mux;
    }

    /// <summary>A new connection on this mux; it routes nothing until it registers a ufrag or sends.</summary>
    /// <exception cref="ObjectDisposedException">The mux is disposed.</exception>
    public IceUdpMuxConnection CreateConnection()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var connection = new IceUdpMuxConnection(this);
            _connections.Add(connection);
            return connection;
        }
    }

    /// <summary>Stops the loop and closes the socket; every connection stops receiving.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await _closed.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _closed.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"udp mux {LocalEndPoint}";

    // ---- Registration (called by IceUdpMuxConnection) ----

    internal void RegisterUfrag(IceUdpMuxConnection connection, string ufrag, string? password)
    {
        if (!IceCredentials.IsValidUfrag(ufrag))
        {
            throw new ArgumentException("A ufrag is 4-256 ice-chars (RFC 8839 §5.4).", nameof(ufrag));
        }

        if (password is not null && !IceCredentials.IsValidPassword(password))
        {
            throw new ArgumentException("A password is 22-256 ice-chars (RFC 8839 §5.4).", nameof(password));
        }

        // RFC 8445 §7.2.2: the short-term key of a Binding request to us is our password.
        var key = password is null ? null : Encoding.ASCII.GetBytes(password);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(connection.IsDisposed, connection);
            if (_ufrags.TryGetValue(ufrag, out var existing))
            {
                if (existing.Connection != connection)
                {
                    throw new InvalidOperationException($"The ufrag {ufrag} is registered by another connection on this mux.");
                }

                _ufrags[ufrag] = new UfragRoute(connection, key);
                return;
            }

            if (connection.UfragList.Count >= _options.MaxUfragsPerConnection)
            {
                throw new InvalidOperationException($"A connection holds at most {_options.MaxUfragsPerConnection} ufrags.");
            }

            _ufrags.Add(ufrag, new UfragRoute(connection, key));
            connection.UfragList.Add(ufrag);
        }
    }

    internal bool UnregisterUfrag(IceUdpMuxConnection connection, string ufrag)
    {
        lock (_lock)
        {
            if (!_ufrags.TryGetValue(ufrag, out var route) || route.Connection != connection)
            {
                return false;
            }

            _ufrags.Remove(ufrag);
            connection.UfragList.Remove(ufrag);
            return true;
        }
    }

    internal string[] GetUfrags(IceUdpMuxConnection connection)
    {
        lock (_lock)
        {
            return [.. connection.UfragList];
        }
    }

    internal IPEndPoint[] GetRemoteAddresses(IceUdpMuxConnection connection)
    {
        lock (_lock)
        {
            return [.. connection.AddressList.Select(a => a.ToIPEndPoint())];
        }
    }

    /// <summary>Forgets everything of a connection (its ufrags, the addresses it owns, its transactions).</summary>
    internal void Remove(IceUdpMuxConnection connection)
    {
        lock (_lock)
        {
            if (!_connections.Remove(connection))
            {
                return;
            }

            foreach (var ufrag in connection.UfragList)
            {
                if (_ufrags.TryGetValue(ufrag, out var route) && route.Connection == connection)
                {
                    _ufrags.Remove(ufrag);
                }
            }

            connection.UfragList.Clear();
            foreach (var address in connection.AddressList)
            {
                if (_addresses.TryGetValue(address, out var route) && route.Owner == connection)
                {
                    _addresses.Remove(address);
                }
            }

            connection.AddressList.Clear();
            foreach (var id in connection.Transactions)
            {
                if (_transactions.TryGetValue(id, out var owner) && owner == connection)
                {
                    _transactions.Remove(id);
                }
            }

            connection.ClearTransactions();
            _addressGeneration++;
        }
    }

    // ---- Sending (called by IceUdpMuxConnection) ----

    internal bool SendTo(ReadOnlySpan<byte> datagram, SocketAddress remote)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, remote);
            Interlocked.Increment(ref Statistics.DatagramsSentCount);
            return true;
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref Statistics.SendFailuresCount); // WouldBlock (buffer full) included: UDP may lose it anyway
            return false;
        }
        catch (ObjectDisposedException)
        {
            Interlocked.Increment(ref Statistics.SendFailuresCount);
            return false;
        }
    }

    /// <summary>A connection sends to <paramref name="remote"/>: it may claim the address. Returns the generation it saw.</summary>
    internal int LearnFromSend(IceUdpMuxConnection connection, StunAddress remote)
    {
        lock (_lock)
        {
            Learn(connection, remote, verified: false, Environment.TickCount64);
            return _addressGeneration;
        }
    }

    /// <summary>A connection sent a STUN request: its response comes back to it by transaction id.</summary>
    internal void RememberTransaction(IceUdpMuxConnection connection, StunTransactionId id)
    {
        lock (_lock)
        {
            if (connection.IsDisposed || _options.MaxTransactionsPerConnection == 0)
            {
                return;
            }

            if (_transactions.TryGetValue(id, out var owner))
            {
                if (owner == connection)
                {
                    return; // a retransmission
                }

                _transactions[id] = connection; // ids are random (RFC 8489 §5): the newest sender wins
            }
            else if (_transactions.Count >= _options.MaxTransactions)
            {
                Interlocked.Increment(ref Statistics.TransactionsRefusedCount);
                return;
            }
            else
            {
                _transactions.Add(id, connection);
            }

            if (connection.PushTransaction(id, out var forgotten) && _transactions.TryGetValue(forgotten, out var old) && old == connection)
            {
                _transactions.Remove(forgotten);
            }
        }
    }

    // ---- Receiving ----

    private async Task ReceiveLoopAsync()
    {
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        var from = new SocketAddress(_socket.AddressFamily);
        var token = _closed.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = await _socket.ReceiveFromAsync(buffer.AsMemory(), SocketFlags.None, from, token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused
                    or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize)
                {
                    Interlocked.Increment(ref Statistics.ReceiveErrorsCount); // ICMP errors of earlier sends, oversized datagrams: keep going
                    continue;
                }

                Receive(buffer.AsSpan(0, received), from);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Routes one received datagram and hands it to its connection.</summary>
    internal void Receive(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        Interlocked.Increment(ref Statistics.DatagramsReceivedCount);
        if (!StunAddress.TryFromSocketAddress(from, out var remote))
        {
            Drop(IceUdpMuxDropReason.Malformed, default);
            return;
        }

        var connection = Route(datagram, remote, Environment.TickCount64);
        if (connection is null)
        {
            return;
        }

        if (!connection.Deliver(datagram, from, out var failure))
        {
            Drop(failure is null ? IceUdpMuxDropReason.ConnectionClosed : IceUdpMuxDropReason.HandlerFailed, remote, failure?.Message);
        }
    }

    /// <summary>Which connection <paramref name="datagram"/> from <paramref name="remote"/> is for; null when dropped (counted).</summary>
    internal IceUdpMuxConnection? Route(ReadOnlySpan<byte> datagram, StunAddress remote, long now)
    {
        if (datagram.IsEmpty)
        {
            Drop(IceUdpMuxDropReason.Malformed, remote);
            return null;
        }

        // RFC 7983: first byte 0-3 is STUN. RFC 8489 §5: a 20-byte header with the magic cookie at 4.
        if (datagram[0] <= 3 && datagram.Length >= StunMessage.HeaderLength
            && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == StunMessage.MagicCookie)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(datagram);
            var messageClass = StunMessageType.GetClass(type);
            if (messageClass == StunClass.Request && StunMessageType.GetMethod(type) == StunMethod.Binding)
            {
                return RouteRequest(datagram, remote, now);
            }

            if (messageClass is StunClass.SuccessResponse or StunClass.ErrorResponse)
            {
                var id = StunTransactionId.FromBytes(datagram.Slice(8, StunTransactionId.Length));
                lock (_lock)
                {
                    if (_transactions.TryGetValue(id, out var sender))
                    {
                        Touch(sender, remote, now);
                        Interlocked.Increment(ref Statistics.RoutedByTransactionCount);
                        return sender;
                    }
                }
            }
        }

        lock (_lock)
        {
            if (_addresses.TryGetValue(remote, out var route))
            {
                route.LastSeen = now;
                Interlocked.Increment(ref Statistics.RoutedByAddressCount);
                return route.Owner;
            }
        }

        Drop(IceUdpMuxDropReason.UnknownAddress, remote);
        return null;
    }

    private IceUdpMuxConnection? RouteRequest(ReadOnlySpan<byte> datagram, StunAddress remote, long now)
    {
        if (!StunMessageReader.TryParse(datagram, out var message, out _))
        {
            Drop(IceUdpMuxDropReason.Malformed, remote);
            return null;
        }

        if (!message.TryGetUsername(out var username))
        {
            Drop(IceUdpMuxDropReason.NoUsername, remote);
            return null;
        }

        // RFC 8445 §7.2.2: USERNAME is "<the receiver's ufrag>:<the sender's ufrag>".
        var colon = username.IndexOf((byte)':');
        if (colon < 0)
        {
            Drop(IceUdpMuxDropReason.UsernameWithoutColon, remote);
            return null;
        }

        var ufragBytes = username[..colon];
        Span<char> ufrag = stackalloc char[MaxUfragLength];
        if (ufragBytes.IsEmpty || ufragBytes.Length > MaxUfragLength
            || System.Text.Ascii.ToUtf16(ufragBytes, ufrag, out var length) != OperationStatus.Done)
        {
            Drop(IceUdpMuxDropReason.InvalidUfrag, remote);
            return null;
        }

        UfragRoute? found;
        lock (_lock)
        {
            _ufragLookup.TryGetValue(ufrag[..length], out found);
        }

        if (found is null)
        {
            Drop(IceUdpMuxDropReason.UnknownUfrag, remote);
            return null;
        }

        // Only a request that proves the password may claim its source address (RFC 8445 §7.3); an
        // unverified one is still handed on, since the agent answers it (401, RFC 8489 §9.1.3).
        var verified = found.Key is null || message.VerifyMessageIntegrity(found.Key);
        if (!verified)
        {
            Interlocked.Increment(ref Statistics.UnverifiedRequestsCount);
        }
        else
        {
            lock (_lock)
            {
                Learn(found.Connection, remote, verified: found.Key is not null, now);
            }
        }

        Interlocked.Increment(ref Statistics.RoutedByUfragCount);
        return found.Connection;
    }

    // ---- The address table (under the lock) ----

    private void Learn(IceUdpMuxConnection connection, StunAddress remote, bool verified, long now)
    {
        if (connection.IsDisposed)
        {
            return;
        }

        if (_addresses.TryGetValue(remote, out var route))
        {
            if (route.Owner == connection)
            {
                route.LastSeen = now;
                route.Verified |= verified;
                return;
            }

            // An address another connection proved stays with it unless this one proves it too: a peer
            // cannot take over another peer's traffic by listing that peer's address as a candidate.
            if (route.Verified && !verified)
            {
                Interlocked.Increment(ref Statistics.AddressesRefusedCount);
                return;
            }

            route.Owner.AddressList.Remove(remote);
            MakeRoom(connection);
            route.Owner = connection;
            route.Verified = verified;
            route.LastSeen = now;
            connection.AddressList.Add(remote);
            _addressGeneration++;
            Interlocked.Increment(ref Statistics.AddressesMovedCount);
            return;
        }

        if (_addresses.Count >= _options.MaxRemoteAddresses)
        {
            Interlocked.Increment(ref Statistics.AddressesRefusedCount);
            return;
        }

        MakeRoom(connection);
        _addresses.Add(remote, new AddressRoute(connection, verified, now));
        connection.AddressList.Add(remote);
        Interlocked.Increment(ref Statistics.AddressesLearnedCount);
    }

    private void MakeRoom(IceUdpMuxConnection connection)
    {
        var list = connection.AddressList;
        if (list.Count < _options.MaxRemoteAddressesPerConnection)
        {
            return;
        }

        // Forget the least recently seen (a remote that offered many candidates, or an old path).
        var oldest = 0;
        var oldestSeen = long.MaxValue;
        for (var i = 0; i < list.Count; i++)
        {
            var seen = _addresses.TryGetValue(list[i], out var route) ? route.LastSeen : long.MinValue;
            if (seen < oldestSeen)
            {
                oldestSeen = seen;
                oldest = i;
            }
        }

        var address = list[oldest];
        list.RemoveAt(oldest);
        if (_addresses.TryGetValue(address, out var evicted) && evicted.Owner == connection)
        {
            _addresses.Remove(address);
        }

        _addressGeneration++;
        Interlocked.Increment(ref Statistics.AddressesEvictedCount);
    }

    private void Touch(IceUdpMuxConnection connection, StunAddress remote, long now)
    {
        if (_addresses.TryGetValue(remote, out var route) && route.Owner == connection)
        {
            route.LastSeen = now;
        }
    }

    private void Drop(IceUdpMuxDropReason reason, StunAddress remote, string? detail = null)
    {
        Interlocked.Increment(ref Statistics.DroppedCounts[(int)reason]);
        var bit = 1 << (int)reason;
        if ((Interlocked.Or(ref _loggedDrops, bit) & bit) == 0 && _logger.IsEnabled(LogLevel.Debug))
        {
            IceUdpMuxLog.FirstDrop(_logger, LocalEndPoint.ToString(), reason.ToString(), remote.ToString(), detail ?? "");
        }
    }

    private static bool IsWildcard(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.None) || address.Equals(IPAddress.IPv6None);

    private static void TrySetBufferSize(Socket socket, SocketOptionName option, int size)
    {
        if (size <= 0)
        {
            return;
        }

        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, option, size);
        }
        catch (SocketException)
        {
            // The kernel's limit (net.core.rmem_max / wmem_max) applies; the default size works, with more loss under bursts.
        }
    }

    private sealed record UfragRoute(IceUdpMuxConnection Connection, byte[]? Key);

    private sealed class AddressRoute(IceUdpMuxConnection owner, bool verified, long lastSeen)
    {
        public IceUdpMuxConnection Owner { get; set; } = owner;

        public bool Verified { get; set; } = verified;

        public long LastSeen { get; set; } = lastSeen;
    }
}
